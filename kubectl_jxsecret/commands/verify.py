"""`kubectl jxsecret verify`: is every ExternalSecret populated, and if not, why?

One scan (scan.py), rendered once (output.render_report); the exit status says whether everything
could be checked and was populated.
"""

from .. import output
from ..errors import ExitStatus
from ..flags import KubeFlags, add_selection_flags
from ..scan import Report, Selection, collect, discover


def add_arguments(parser):
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these ExternalSecrets (exact names)")
    add_selection_flags(parser)


class Options:
    """verify's options, kubectl style: from_args() binds the flags, complete() builds the client,
    run() scans. There is nothing to validate beyond what the parser checks (the -o choices)."""

    def __init__(self, kube_flags: KubeFlags, selection: Selection, output_format: str = "table"):
        self.kube_flags, self.selection, self.output_format = kube_flags, selection, output_format
        self.kube = None  # the API client (kube.client.Kube), from complete()

    @classmethod
    def from_args(cls, args) -> "Options":
        return cls(KubeFlags.from_args(args), Selection.from_args(args), args.output)

    def complete(self) -> None:
        from ..kube.client import connect

        self.kube = connect(self.kube_flags)

    def run(self) -> Report:
        return collect(self.kube, discover(self.kube), self.selection)


def run(args, env) -> int:
    options = Options.from_args(args)
    options.complete()
    report = options.run()
    output.render_report(report, options.output_format, options.selection, env)
    missing = not_found(report, options.selection)
    where = f"in namespace {options.selection.namespace}" if options.selection.namespace else "in any namespace"
    for name in missing:
        print(f'error: ExternalSecret "{name}" not found {where}', file=env.stderr)
    return exit_status(report, bool(missing))


def not_found(report: Report, selection: Selection) -> list[str]:
    """The names asked for (verify NAME...) that matched nothing, as kubectl get reports them."""
    found = {v.name for v in report.verdicts}
    return [name for name in selection.names if name not in found]


def exit_status(report: Report, missing_names: bool = False) -> int:
    if report.warnings or missing_names:
        return ExitStatus.ERROR  # something could not be checked: not a clean bill of health
    return ExitStatus.NOT_POPULATED if report.not_populated else ExitStatus.OK
