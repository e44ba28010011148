"""`kubectl jxsecret refresh`: ask ESO to sync the selected ExternalSecrets now, and wait until it has.

The same force-sync every writing command ends with (resync.py): watches on the ExternalSecrets and
their Warning events (the live view wait and ui use), one PATCH per ExternalSecret, then the changes as
they come until each has synced (or failed) since the request.
"""

from .. import output
from ..errors import ExitStatus
from ..flags import KubeFlags, add_selection_flags
from ..model.duration import parse_duration
from ..resync import Outcome, refresh
from ..scan import Selection, select_some


def add_arguments(parser):
    add_selection_flags(parser)
    parser.add_argument("--timeout", default="2m", metavar="DURATION",
                        help="how long to wait for ESO to sync them (default: 2m)")
    parser.add_argument("--no-wait", dest="wait", action="store_false",
                        help="only request the sync; do not wait for it")


class Options:
    def __init__(self, kube_flags: KubeFlags, selection: Selection, timeout: str = "2m", wait: bool = True):
        self.kube_flags, self.selection, self.timeout, self.wait = kube_flags, selection, timeout, wait
        self.timeout_seconds = 0.0  # from validate()
        self.kube = None  # the API client (kube.client.Kube), from complete()

    @classmethod
    def from_args(cls, args) -> "Options":
        return cls(KubeFlags.from_args(args), Selection.from_args(args), args.timeout, args.wait)

    def validate(self) -> None:
        self.timeout_seconds = parse_duration(self.timeout, "--timeout")

    def complete(self) -> None:
        from ..kube.client import connect

        self.kube = connect(self.kube_flags)

    def run(self, log: output.SyncLog, warn) -> Outcome:
        externalsecrets, report = select_some(self.kube, self.selection, "refresh")
        for warning in report.warnings:
            warn(warning)
        return refresh(self.kube, externalsecrets, self.timeout_seconds if self.wait else None, log)


def run(args, env) -> int:
    options = Options.from_args(args)
    options.validate()
    options.complete()
    outcome = options.run(output.SyncLog(env), lambda w: print(f"warning: {w}", file=env.stderr))
    output.render_sync_outcome(outcome, env)
    return ExitStatus.OK if outcome.synced else ExitStatus.NOT_POPULATED
