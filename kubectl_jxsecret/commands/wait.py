"""`kubectl jxsecret wait`: block until every selected ExternalSecret is populated.

Each poll is the same bounded set of requests as verify (no discovery after the first). Only
changes are reported (output.WaitLog); on timeout, what is still missing and the operator's reason
for each (output.render_wait_outcome).
"""

import time
from dataclasses import dataclass, field

from .. import output
from ..errors import ExitStatus, JxSecretError, KubeError
from ..flags import KubeFlags, add_selection_flags
from ..model.duration import parse_duration
from ..model.status import Verdict
from ..scan import Selection, collect, discover

# A shorter --poll would only load the API server: each poll is a full scan.
MIN_POLL = 0.1


def add_arguments(parser):
    add_selection_flags(parser)
    parser.add_argument("--timeout", default="30m", metavar="DURATION", help="give up after this long (default: 30m)")
    parser.add_argument("--poll", default="2s", metavar="DURATION", help="time between checks (default: 2s)")
    parser.add_argument("--mandatory", action="store_true",
                        help='only ExternalSecrets whose Jenkins X schema says "mandatory": true')


@dataclass
class Options:
    """wait's options, kubectl style: from_args() binds the flags, validate() checks them and derives
    the seconds, complete() builds the client, run() polls.

    validate() runs before complete(): it does no I/O, so a mistyped duration is refused before the
    kubeconfig is read or a credential plugin runs.
    """

    kube_flags: KubeFlags
    selection: Selection
    timeout: str = "30m"  # as typed
    poll: str = "2s"
    timeout_seconds: float = field(default=0.0, init=False)  # from validate()
    poll_seconds: float = field(default=0.0, init=False)
    kube: object = field(default=None, init=False)  # the API client (kube.client.Kube), from complete()

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

    def run(self, log: output.WaitLog) -> "Outcome":
        """Scan until everything is populated or the time is up, telling `log` what changes."""
        apis = discover(self.kube)
        deadline = time.monotonic() + self.timeout_seconds
        previous: dict = {}
        warned: set = set()

        def warn_once(message):
            if message not in warned:
                warned.add(message)
                log.warning(message)

        while True:
            try:
                report = collect(self.kube, apis, self.selection)
            except KubeError as e:
                if e.status in (401, 403, 404):
                    raise
                # The API server restarting or a network blip: say so once, keep waiting.
                report = None
                warn_once(f"{e} (retrying)")
            if report is not None:
                if not report.verdicts and not previous:
                    # As kubectl wait: nothing to wait for is a mistake in the selection, not success.
                    raise JxSecretError(f"no matching ExternalSecrets found {self.selection.describe()}")
                for w in report.warnings:
                    warn_once(w)
                current = {(v.namespace, v.name, v.api_version): v for v in report.verdicts}
                if previous:
                    log.changed(changes(previous, current))
                else:
                    log.waiting(list(current.values()))
                previous = current
                if not report.warnings and all(v.populated for v in report.verdicts):
                    return Outcome(tuple(report.verdicts), populated=True, timeout=self.timeout_seconds)
            if time.monotonic() >= deadline:
                return Outcome(tuple(previous.values()), populated=False, timeout=self.timeout_seconds,
                               warned=bool(warned))
            time.sleep(min(self.poll_seconds, max(deadline - time.monotonic(), 0)))


def changes(previous: dict, current: dict) -> list[Verdict]:
    """The verdicts of `current` that are new or whose state or missing keys differ from `previous`."""
    changed = []
    for key, v in current.items():
        before = previous.get(key)
        if before is None or (before.state, before.missing_keys) != (v.state, v.missing_keys):
            changed.append(v)
    return changed


@dataclass(frozen=True)
class Outcome:
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
    outcome = options.run(output.WaitLog(env))
    output.render_wait_outcome(outcome, env)
    return outcome.exit_status
