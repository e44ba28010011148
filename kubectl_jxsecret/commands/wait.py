"""`kubectl jxsecret wait`: block until every selected ExternalSecret is populated.

Each poll is the same bounded set of requests as verify (no discovery after the first). Only
changes are printed, so a long wait reads as a log of what got fixed; on timeout, what is still
missing and the operator's reason for each.
"""

import time

from ..errors import ExitStatus, KubeError
from ..model.duration import format_duration, parse_duration
from ..model.status import Verdict
from .verify import Selection, add_selection_flags, collect, discover


def add_arguments(parser):
    add_selection_flags(parser)
    parser.add_argument("--timeout", default="30m", metavar="DURATION", help="give up after this long (default: 30m)")
    parser.add_argument("--poll", default="2s", metavar="DURATION", help="time between checks (default: 2s)")
    parser.add_argument("--mandatory", action="store_true",
                        help='only ExternalSecrets whose Jenkins X schema says "mandatory": true')


def describe(v: Verdict) -> str:
    text = f"{v.namespace}/{v.name}: {v.state.value}"
    if v.missing_keys:
        text += f" (missing {', '.join(v.missing_keys)})"
    why = ": ".join(p for p in (v.reason, v.message, v.detail) if p)
    return f"{text}: {why}" if why and not v.populated else text


def run(args, env) -> int:
    from ..kube.client import connect

    timeout = parse_duration(args.timeout, "--timeout")
    poll = max(parse_duration(args.poll, "--poll"), 0.1)
    kube = connect(args)
    selection = Selection.from_args(args, mandatory_only=args.mandatory)
    apis = discover(kube)
    deadline = time.monotonic() + timeout
    previous: dict = {}
    shown_warnings: set = set()
    while True:
        try:
            report = collect(kube, apis, selection)
        except KubeError as e:
            if e.status in (401, 403, 404):
                raise
            # The API server restarting or a network blip: say so once, keep waiting.
            report = None
            warn_once(f"{e} (retrying)", shown_warnings, env)
        if report is not None:
            verdicts = report.verdicts
            for w in report.warnings:
                warn_once(w, shown_warnings, env)
            current = {(v.namespace, v.name, v.api_version): v for v in verdicts}
            announce(previous, current, env)
            previous = current
            if not report.warnings and all(v.populated for v in verdicts):
                print(f"all {len(verdicts)} ExternalSecrets populated", file=env.stdout, flush=True)
                return ExitStatus.OK
        if time.monotonic() >= deadline:
            return timed_out(previous, timeout, env, unreadable=bool(shown_warnings))
        time.sleep(min(poll, max(deadline - time.monotonic(), 0)))


def announce(previous: dict, current: dict, env) -> None:
    if not previous:
        waiting = [v for v in current.values() if not v.populated]
        if waiting:
            print(f"waiting for {len(waiting)} of {len(current)} ExternalSecrets:", file=env.stdout)
            for v in waiting:
                print(f"  {describe(v)}", file=env.stdout)
            env.stdout.flush()  # a log piped to a file or CI must not lag behind
        return
    for key, v in current.items():
        before = previous.get(key)
        if before is None or (before.state, before.missing_keys) != (v.state, v.missing_keys):
            print(describe(v), file=env.stdout, flush=True)


def warn_once(message: str, shown: set, env) -> None:
    if message not in shown:
        shown.add(message)
        print(f"warning: {message}", file=env.stderr)


def timed_out(last: dict, timeout: float, env, unreadable: bool) -> int:
    waiting = [v for v in last.values() if not v.populated]
    print(f"error: timed out after {format_duration(timeout)}; {len(waiting)} ExternalSecrets not populated:",
          file=env.stderr)
    for v in waiting:
        print(f"  {describe(v)}", file=env.stderr)
    return ExitStatus.ERROR if unreadable and not waiting else ExitStatus.NOT_POPULATED
