"""`kubectl jxsecret wait`: block until every selected ExternalSecret is populated.

The live view (live.py): the first answer from one LIST per ExternalSecret API and one of Secrets (what
verify reads), then a watch on each; a change re-judges only the ExternalSecrets it touches. Only
changes are reported (output.WaitLog); on timeout, what is still missing and the operator's reason for
each (output.render_wait_outcome). Idle, that is one request per collection per watch period, not a
scan per poll. Where RBAC forbids a watch but allows the LIST, that collection is listed every --poll.
"""

import threading
import time
from typing import NamedTuple

from .. import output
from ..errors import ExitStatus, JxSecretError
from ..flags import KubeFlags, add_selection_flags
from ..model.duration import parse_duration
from ..model.status import State, Verdict
from ..scan import Report, Selection, discover, with_details

# The shortest interval between LISTs where a watch is forbidden: each is a LIST of the whole collection.
MIN_POLL = 0.1
# ESO writes a Secret, then its status: in between, a secret it has just synced reads Stale (complete, but
# Ready still False from the failure before); where the two are polled, not watched, the status may be
# seen first (Ready, Secret missing). How long the other write may take before such a state is believed.
SETTLE = 1.0


def add_arguments(parser):
    add_selection_flags(parser)
    parser.add_argument("--timeout", default="30m", metavar="DURATION", help="give up after this long (default: 30m)")
    parser.add_argument("--poll", default="2s", metavar="DURATION",
                        help="where RBAC allows listing but not watching: time between LISTs (default: 2s)")
    parser.add_argument("--mandatory", action="store_true",
                        help='only ExternalSecrets whose Jenkins X schema says "mandatory": true')


class Options:
    """wait's options, kubectl style: from_args() binds the flags, validate() checks them and derives
    the seconds, complete() builds the client, run() follows the live view.

    validate() runs before complete(): it does no I/O, so a mistyped duration is refused before the
    kubeconfig is read or a credential plugin runs.
    """

    def __init__(self, kube_flags: KubeFlags, selection: Selection, timeout: str = "30m", poll: str = "2s"):
        self.kube_flags, self.selection = kube_flags, selection
        self.timeout, self.poll = timeout, poll  # as typed
        self.timeout_seconds = self.poll_seconds = 0.0  # from validate()
        self.kube = None  # the API client (kube.client.Kube), from complete()

    @classmethod
    def from_args(cls, args) -> "Options":
        return cls(KubeFlags.from_args(args), Selection.from_args(args, mandatory_only=args.mandatory),
                   args.timeout, args.poll)

    def validate(self) -> None:
        self.timeout_seconds = parse_duration(self.timeout, "--timeout")
        self.poll_seconds = max(parse_duration(self.poll, "--poll"), MIN_POLL)

    def complete(self) -> None:
        from ..kube.client import connect

        self.kube = connect(self.kube_flags)

    def run(self, log: output.WaitLog, note=lambda message: None) -> "Outcome":
        """Follow the live view until everything is populated or the time is up, telling `log` what changes
        and `note` (once each) what is polled because RBAC forbids watching it."""
        from ..live import LiveView

        apis = discover(self.kube)
        view, stop = LiveView(), threading.Event()
        namespace = self.selection.namespace
        view.start(self.kube, apis, [namespace] if namespace else None, self.selection.selector, stop,
                   poll=self.poll_seconds)
        try:
            return self.follow(view, log, note)
        finally:
            stop.set()

    def follow(self, view, log: output.WaitLog, note) -> "Outcome":
        deadline = time.monotonic() + self.timeout_seconds
        current: dict | None = None  # key -> Verdict, from the first complete answer on
        touched: set | None = None  # keys to judge again; None: all (the first answer, a LIST again)
        settle_until: float | None = None
        polled = False  # something is listed every --poll: the other write may take that long to be seen
        said: set = set()
        warned: set = set()

        def once(message, tell):
            if message not in said:
                said.add(message)
                tell(message)

        def warn_once(message):
            warned.add(message)
            once(message, log.warning)

        while True:
            settling = settle_until is not None and time.monotonic() < settle_until
            for event in view.arrived(settle_until if settling else deadline):
                if event[0] == "changed":
                    touched = None if event[1] is None or touched is None else touched | set(event[1])
                elif event[0] == "connection" and not event[1]:
                    warn_once(f"{event[2]} (retrying)")  # the API server restarting or a network blip
                elif event[0] == "note":
                    polled = True
                    once(event[1], note)
                elif event[0] == "failed":
                    raise event[1]
            if view.loaded and (touched is None or touched):
                fresh = self.judge(view, touched)
                if current is None and not fresh:
                    # As kubectl wait: nothing to wait for is a mistake in the selection, not success.
                    raise JxSecretError(f"no matching ExternalSecrets found {self.selection.describe()}")
                now = time.monotonic()
                settle_until = settle_until or min(now + max(SETTLE, self.poll_seconds if polled else 0), deadline)
                if (current is not None and in_between(current, fresh) and now < deadline
                        and (now < settle_until or view.disconnected)):
                    continue  # `touched` is kept: judged again when the other write is seen, or at `settle_until`
                settle_until = None
                first = current is None
                current, announced = merge(current or {}, fresh, everything=touched is None)
                touched = set()
                warnings = hidden(view, current)
                for w in warnings:
                    warn_once(w)
                announced = self.detailed(view, current, announced)
                if first:
                    log.waiting(list(current.values()))
                else:
                    log.changed(announced)
                if not warnings and all(v.populated for v in current.values()):
                    return Outcome(tuple(current.values()), populated=True, timeout=self.timeout_seconds)
            if time.monotonic() >= deadline:
                return Outcome(tuple((current or {}).values()), populated=False, timeout=self.timeout_seconds,
                               warned=bool(warned))

    def judge(self, view, keys: set | None) -> dict:
        """key -> verdict of the selected ExternalSecrets among `keys` (None: all of them); None for one of
        `keys` that is gone or no longer selected."""
        with view.lock:
            if keys is None:
                return {key: view.verdict(es) for key, es in sorted(view.externalsecrets.items())
                        if self.selection.wants(es)}
            found = {key: view.externalsecrets.get(key) for key in sorted(keys)}
            return {key: view.verdict(es) if es is not None and self.selection.wants(es) else None
                    for key, es in found.items()}

    def detailed(self, view, current: dict, announced: list[Verdict]) -> list[Verdict]:
        """`announced` with the latest Warning event of each that cannot sync (as verify shows it); `current`
        gets them too."""
        failing = [v for v in announced if v.state is State.SYNC_ERROR]
        if not failing:
            return announced
        with view.lock:
            objects = [view.externalsecrets[(v.namespace, v.name, v.api_version)] for v in failing]
        for v in with_details(self.kube, objects, failing):
            current[(v.namespace, v.name, v.api_version)] = v
        return [current[(v.namespace, v.name, v.api_version)] for v in announced]


# Where a verdict can be while ESO is between its Secret write and its status write.
BETWEEN_WRITES = (State.STALE, State.SECRET_MISSING, State.KEYS_MISSING)


def in_between(current: dict, fresh: dict) -> bool:
    """Whether one of `fresh` went from not populated to a state ESO passes through between its two writes."""
    return any(v is not None and v.state in BETWEEN_WRITES and key in current and not current[key].populated
               and current[key].state is not v.state for key, v in fresh.items())


def hidden(view, verdicts: dict) -> list[str]:
    """What RBAC hides: ExternalSecrets of whole namespaces, and the Secrets of `verdicts`; one line per
    resource, as verify says it."""
    report = Report()
    with view.lock:
        for resource in (f"{api.plural}.{api.group}" for api in view.apis):  # as verify: in discovery order
            for ns in sorted(view.denied.get(resource, ())):
                report.deny(resource, ns)
        for ns in sorted({key[0] for key in verdicts} & view.unreadable.keys()):
            report.deny("Secrets", ns)
    return report.warnings


def merge(current: dict, fresh: dict, everything: bool) -> tuple[dict, list[Verdict]]:
    """The verdicts after a change, and those to announce (new, or a new state or missing keys).

    `fresh`: key -> verdict of what was judged again (None: gone, or no longer selected); with
    `everything` it is the whole answer, and what it lacks is gone. A verdict whose state did not change
    keeps the Warning event found for it before (a re-judge does not fetch events).
    """
    merged = {} if everything else dict(current)
    for key, v in fresh.items():
        if v is None:
            merged.pop(key, None)
            continue
        before = current.get(key)
        unchanged = before is not None and not changes({key: before}, {key: v})
        merged[key] = v._replace(detail=before.detail) if unchanged else v
    merged = dict(sorted(merged.items()))
    return merged, changes(current, merged)


def changes(previous: dict, current: dict) -> list[Verdict]:
    """The verdicts of `current` that are new or whose state or missing keys differ from `previous`."""
    changed = []
    for key, v in current.items():
        before = previous.get(key)
        if before is None or (before.state, before.missing_keys) != (v.state, v.missing_keys):
            changed.append(v)
    return changed


class Outcome(NamedTuple):
    """How a wait ended: all populated, or the last answer when the time was up."""

    verdicts: tuple[Verdict, ...]
    populated: bool  # every selected ExternalSecret populated, and nothing unreadable
    timeout: float  # seconds
    warned: bool = False  # something could not be read at some point (RBAC, a retried error)

    @property
    def waiting(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.populated]

    @property
    def exit_status(self) -> int:
        if self.populated:
            return ExitStatus.OK
        # Timed out with nothing left to fill but something unreadable: an error, not "not populated".
        return ExitStatus.ERROR if self.warned and not self.waiting else ExitStatus.NOT_POPULATED


def run(args, env) -> int:
    options = Options.from_args(args)
    options.validate()
    options.complete()
    outcome = options.run(output.WaitLog(env), note=lambda message: print(f"note: {message}", file=env.stderr))
    output.render_wait_outcome(outcome, env)
    return outcome.exit_status
