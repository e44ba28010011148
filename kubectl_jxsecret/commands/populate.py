"""`kubectl jxsecret populate`: fill the values the selected ExternalSecrets lack from their secret
schemas (templates, generators, defaults: model.populate), write them into the stores, then have ESO
sync them and say which are populated.

Every value is decided, and checked against its schema's minLength/maxLength/pattern, before the
first write: one that cannot be made (a broken template, a violation) stops the command with nothing
written. Values that need a person, or a template input that is not there yet, are named, with the edit
command that asks for them; the others are written.
An ExternalSecret whose schema is malformed is named and skipped, the others are populated, and the exit
status is 1; a malformed --schema FILE stops the command before the cluster is asked.
"""

from .. import output
from ..errors import ExitStatus, JxSecretError
from ..flags import KubeFlags, add_schema_flags, add_selection_flags, add_writer_flags, vault_flags
from ..model.duration import parse_duration
from ..model.populate import KEPT, PERSON, decide, wanted
from ..scan import Selection, select_some


def add_arguments(parser):
    add_selection_flags(parser)
    parser.add_argument("--overwrite", action="store_true",
                        help="also replace values that are set, wherever the schema has a template, generator or "
                             "default for them")
    parser.add_argument("--dir", default=".", metavar="DIR",
                        help="where to look (upwards) for jx-requirements.yml, for templates' .Requirements "
                             "(default: .)")
    add_schema_flags(parser)
    add_writer_flags(parser, "show where each value would come from and which store paths would change (never "
                             "the values); write nothing")


class Options:
    def __init__(self, kube_flags: KubeFlags, selection: Selection, schema_file: str | None = None,
                 schema_dir: str | None = None, boot_namespace: str = "jx", overwrite: bool = False, dir: str = ".",
                 dry_run: bool = False, timeout: str = "2m", vault: dict | None = None):
        self.kube_flags, self.selection = kube_flags, selection
        self.schema_file, self.schema_dir = schema_file, schema_dir
        self.boot_namespace, self.overwrite = boot_namespace, overwrite
        self.dir = dir  # where to look (upwards) for jx-requirements.yml
        self.dry_run, self.timeout, self.vault = dry_run, timeout, vault or {}
        self.timeout_seconds, self.schemas = 0.0, None  # from validate()
        self.kube = None  # the API client (kube.client.Kube), from complete()

    @classmethod
    def from_args(cls, args) -> "Options":
        return cls(KubeFlags.from_args(args), Selection.from_args(args), args.schema, args.schema_dir,
                   args.boot_secret_namespace, args.overwrite, args.dir, args.dry_run, args.timeout, vault_flags(args))

    def validate(self) -> None:
        """The duration and a --schema file, before the cluster is asked."""
        from ..schemas import Schemas

        self.timeout_seconds = parse_duration(self.timeout, "--timeout")
        self.schemas = Schemas(self.schema_file, self.schema_dir)

    def complete(self) -> None:
        from ..kube.client import connect

        self.kube = connect(self.kube_flags)

    def run(self, env) -> int:
        from ..schemas import skipped_summary

        skipped: list = []
        status = self.populate(env, skipped)
        if skipped:
            print(skipped_summary(skipped), file=env.stderr)
            return ExitStatus.ERROR
        return status

    def populate(self, env, skipped: list) -> int:
        from ..lookups import makers
        from ..schemas import targets_of
        from ..writer import Stores, finish, prepare, read_all, readers_of, write

        externalsecrets, report = select_some(self.kube, self.selection, "populate")
        for warning in report.warnings:
            print(f"warning: {warning}", file=env.stderr)
        targets = targets_of(externalsecrets, self.schemas, env, skipped)
        if not targets:
            if not skipped:
                print("nothing to populate: the selected ExternalSecrets read no property populate can write",
                      file=env.stdout)
            return ExitStatus.OK
        with Stores(self.kube, self.vault, env.environ, env.stderr) as stores:
            current = read_all(stores, sorted({t.ref.destination for t in targets}))
            planned: dict = {}
            generate, render = makers(self.kube, stores, externalsecrets, current, planned, self.boot_namespace,
                                      self.dir)
            decisions = decide(targets, current, self.overwrite, generate, render, planned)
            people = report_decisions(decisions, env)
            values = wanted(decisions)
            if not values:
                print("nothing to populate: every value is set" + (", or needs a person" if people else ""),
                      file=env.stdout)
                return ExitStatus.NOT_POPULATED if people else ExitStatus.OK
            plans = prepare(stores, values, current)
            written = [] if self.dry_run else write(stores, plans)
        output.render_writes(plans, written, env, self.dry_run)
        if self.dry_run:
            return ExitStatus.OK
        status = finish(self.kube, written, readers_of(externalsecrets, values), self.timeout_seconds, env)
        return ExitStatus.NOT_POPULATED if people and status == ExitStatus.OK else status


def report_decisions(decisions, env) -> int:
    """Where each value comes from (stdout), who must set the others (stderr); refuse, with nothing
    written, when any value cannot be made. Returns how many need a person."""
    problems = [d for d in decisions if d.problem]
    for d in problems:
        print(f"error: {d.target.name}: {d.problem}", file=env.stderr)
    if problems:
        raise JxSecretError(f"{output.count(len(problems), 'value')} cannot be populated: nothing written")
    people = [d for d in decisions if d.source == PERSON]
    for d in decisions:
        if d.source not in (KEPT, PERSON):
            print(d.describe(), file=env.stdout)
    for d in people:
        ref = d.target.ref
        print(f"note: {d.target.name} needs a value ({d.reason}): kubectl jxsecret edit -n {ref.namespace} "
              f"-f {ref.name}", file=env.stderr)
    env.stdout.flush()
    return len(people)


def run(args, env) -> int:
    options = Options.from_args(args)
    options.validate()
    options.complete()
    return options.run(env)
