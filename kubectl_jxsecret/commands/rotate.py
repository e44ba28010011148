"""`kubectl jxsecret rotate -f NAME [--property P]`: a new value for every generated property of the
ExternalSecrets -f names (whole names), or for the ones given, written into the stores; then ESO syncs them.

Only properties whose schema names a generator are rotated; asking for any other is refused before
anything is read from a store. Other values at the same store paths are left byte for byte.
"""

from .. import output
from ..errors import ExitStatus, JxSecretError, UsageError
from ..flags import KubeFlags, add_schema_flags, add_selection_flags, add_writer_flags, vault_flags
from ..model.duration import parse_duration
from ..model.populate import decide, wanted
from ..scan import Selection, select_some


def add_arguments(parser):
    add_selection_flags(parser, filter_help="the ExternalSecret named TEXT, whole (repeatable)")
    parser.add_argument("--property", action="append", metavar="KEY",
                        help="only this Secret key (the schema property's name; repeatable)")
    add_schema_flags(parser)
    add_writer_flags(parser, "show what would be rotated and which store paths would change (never the values); "
                             "write nothing")


class Options:
    def __init__(self, kube_flags: KubeFlags, selection: Selection, properties: tuple = (),
                 schema_file: str | None = None, schema_dir: str | None = None, boot_namespace: str = "jx",
                 dry_run: bool = False, timeout: str = "2m", vault: dict | None = None):
        self.kube_flags, self.selection = kube_flags, selection
        self.properties = properties  # --property: only these Secret keys; () = every generated one
        self.schema_file, self.schema_dir, self.boot_namespace = schema_file, schema_dir, boot_namespace
        self.dry_run, self.timeout, self.vault = dry_run, timeout, vault or {}
        self.timeout_seconds, self.schemas = 0.0, None  # from validate()
        self.kube = None  # the API client (kube.client.Kube), from complete()

    @classmethod
    def from_args(cls, args) -> "Options":
        return cls(KubeFlags.from_args(args), Selection.from_args(args), tuple(args.property or ()), args.schema,
                   args.schema_dir, args.boot_secret_namespace, args.dry_run, args.timeout, vault_flags(args))

    def validate(self) -> None:
        from ..schemas import Schemas

        if not self.selection.name_filter:
            raise UsageError("rotate needs -f NAME: which ExternalSecrets to rotate")
        self.timeout_seconds = parse_duration(self.timeout, "--timeout")
        self.schemas = Schemas(self.schema_file, self.schema_dir)

    def complete(self) -> None:
        from ..kube.client import connect

        self.kube = connect(self.kube_flags)

    def exactly_named(self, externalsecrets: list) -> list:
        """Those -f names whole: rotate replaces credentials, so -f is no substring here as elsewhere."""
        for text in self.selection.name_filter:
            if not any(es.name == text for es in externalsecrets):
                near = sorted({es.name for es in externalsecrets if text in es.name})
                raise UsageError(f"-f {text}: rotate takes whole ExternalSecret names, and none is named {text} "
                                 f"{self.selection.describe().partition(' with ')[0]} (did you mean "
                                 f"{' or '.join(near[:5])}{' or …' if len(near) > 5 else ''}?)")
        return [es for es in externalsecrets if es.name in self.selection.name_filter]

    def chosen(self, targets: list) -> list:
        """The generated values to rotate; refuses a --property that is not one."""
        generated = [t for t in targets if t.prop and t.prop.generator and not t.prop.template]
        if not self.properties:
            if not generated:
                raise JxSecretError(f"no value of the selected ExternalSecrets has a generator in its schema "
                                    f"({self.selection.describe()}): nothing to rotate")
            return generated
        for key in self.properties:
            named = [t for t in targets if t.ref.secret_key == key]
            if not named:
                raise JxSecretError(f"--property {key}: no selected ExternalSecret has a data entry {key}")
            for t in named:
                if t not in generated:
                    why = "a template" if t.prop and t.prop.template else "no generator"
                    raise JxSecretError(f"{t.name} has {why} in its schema: rotate only regenerates generated "
                                        f"values (set it with kubectl jxsecret edit -n {t.ref.namespace} "
                                        f"-f {t.ref.name}); nothing written")
        return [t for t in generated if t.ref.secret_key in self.properties]

    def run(self, env) -> int:
        from ..lookups import makers
        from ..schemas import targets_of
        from ..writer import Stores, finish, prepare, read_all, readers_of, write

        externalsecrets, report = select_some(self.kube, self.selection, "rotate")
        externalsecrets = self.exactly_named(externalsecrets)
        for warning in report.warnings:
            print(f"warning: {warning}", file=env.stderr)
        targets = self.chosen(targets_of(externalsecrets, self.schemas, env))
        with Stores(self.kube, self.vault, env.environ, env.stderr) as stores:
            current = read_all(stores, sorted({t.ref.destination for t in targets}))
            planned: dict = {}
            generate, render = makers(self.kube, stores, externalsecrets, current, planned, self.boot_namespace, ".")
            decisions = decide(targets, current, True, generate, render, planned)
            failed = [d for d in decisions if not d.writes]
            for d in failed:
                print(f"error: {d.target.name}: {d.problem or d.reason}", file=env.stderr)
            if failed:
                raise JxSecretError(f"{output.count(len(failed), 'value')} cannot be rotated: nothing written")
            values = wanted(decisions)
            plans = prepare(stores, values, current)
            written = [] if self.dry_run else write(stores, plans)
        failed_paths = {w.plan.destination for w in written if w.error}
        for d in decisions:
            if d.target.ref.destination not in failed_paths:
                print(f"{'would rotate' if self.dry_run else 'rotated'}: {d.describe()}", file=env.stdout)
        output.render_writes(plans, written, env, self.dry_run)
        if self.dry_run:
            return ExitStatus.OK
        return finish(self.kube, written, readers_of(externalsecrets, values), self.timeout_seconds, env)


def run(args, env) -> int:
    options = Options.from_args(args)
    options.validate()
    options.complete()
    return options.run(env)
