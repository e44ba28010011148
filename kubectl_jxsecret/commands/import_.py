"""`kubectl jxsecret import`: write a file of values (export's layout, or jx secret export's) into the
stores the ExternalSecrets name, then have ESO sync them.

Everything is checked before the first write: the file parses (errors name the line), every path
belongs to a selected ExternalSecret (unless --allow-unknown), every path can be read and every store
would accept the write. Writes merge, one per path; a path that already holds the values is left
alone, so a second import writes nothing.
"""

import sys

from .. import output
from ..errors import ExitStatus, JxSecretError, UsageError
from ..flags import KubeFlags, add_selection_flags, add_writer_flags, vault_flags
from ..model.duration import parse_duration
from ..scan import Selection, select_some

SHOWN_UNKNOWN = 5  # unknown paths named in the error; the rest counted


def add_arguments(parser):
    add_selection_flags(parser, short_filter=False)
    parser.add_argument("-f", "--file", required=True, metavar="PATH", help="the file to import; '-' reads stdin")
    parser.add_argument("--allow-unknown", action="store_true",
                        help="skip paths no selected ExternalSecret reads, instead of refusing the file")
    add_writer_flags(parser, "show which store paths and properties would change (never the values); write nothing")


class Options:
    def __init__(self, kube_flags: KubeFlags, selection: Selection, file: str, dry_run: bool = False,
                 allow_unknown: bool = False, timeout: str = "2m", vault: dict | None = None):
        self.kube_flags, self.selection, self.file = kube_flags, selection, file
        self.dry_run, self.allow_unknown, self.timeout, self.vault = dry_run, allow_unknown, timeout, vault or {}
        self.timeout_seconds = 0.0  # from validate()
        self.paths: dict = {}  # the file's values, from validate(); never printed
        self.kube = None  # the API client (kube.client.Kube), from complete()

    @classmethod
    def from_args(cls, args) -> "Options":
        return cls(KubeFlags.from_args(args), Selection.from_args(args), args.file, args.dry_run, args.allow_unknown,
                   args.timeout, vault_flags(args))

    def validate(self, stdin=sys.stdin) -> None:
        """The durations and the whole file, before anything touches the cluster."""
        from ..model.transfer import LayoutError, parse

        self.timeout_seconds = parse_duration(self.timeout, "--timeout")
        source = "stdin" if self.file == "-" else self.file
        try:
            text = stdin.read() if self.file == "-" else open(self.file, encoding="utf-8").read()
        except OSError as e:
            raise UsageError(f"cannot read {self.file}: {e.strerror}") from None
        try:
            self.paths = parse(text, source)
        except LayoutError as e:
            raise JxSecretError(str(e)) from None
        if not self.paths:
            raise JxSecretError(f"{source} holds no values: nothing to import")

    def complete(self) -> None:
        from ..kube.client import connect

        self.kube = connect(self.kube_flags)

    def run(self, env) -> int:
        from ..catalog import build
        from ..writer import Stores, finish, prepare, write

        externalsecrets, report = select_some(self.kube, self.selection, "import into")
        catalog = build(self.kube, externalsecrets)
        for note in report.warnings + catalog.problems:
            print(f"warning: {note}", file=env.stderr)
        unknown = sorted(set(self.paths) - set(catalog.entries))
        if unknown and not self.allow_unknown:
            shown = ", ".join(unknown[:SHOWN_UNKNOWN]) + (f" and {len(unknown) - SHOWN_UNKNOWN} more"
                                                           if len(unknown) > SHOWN_UNKNOWN else "")
            raise JxSecretError(f"{output.count(len(unknown), 'path')} of the file no selected ExternalSecret reads: "
                                f"{shown}; nothing written (check the paths, select more with -n/-A, or pass "
                                "--allow-unknown to skip them)")
        for path in unknown:
            print(f"note: skipped {path}: no selected ExternalSecret reads it", file=env.stderr)
        wanted = {catalog.entries[p].destination: values for p, values in self.paths.items() if p in catalog.entries}
        with Stores(self.kube, self.vault, env.environ, env.stderr) as stores:
            plans = prepare(stores, wanted)
            written = [] if self.dry_run else write(stores, plans)
        output.render_writes(plans, written, env, self.dry_run)
        if self.dry_run:
            return ExitStatus.OK
        return finish(self.kube, written, catalog.readers(), self.timeout_seconds, env)


def run(args, env) -> int:
    options = Options.from_args(args)
    options.validate(env.stdin)
    options.complete()
    return options.run(env)
