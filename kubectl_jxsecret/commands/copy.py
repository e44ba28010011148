"""`kubectl jxsecret copy`: a one-off copy of Secrets to other namespaces, with replicate's rules (owned
copies only, no write when up to date, --dry-run): see replicator.py and model/replication.py.
"""

from ..errors import UsageError
from ..flags import KubeFlags, add_kube_flags
from ..model.replication import Target


def add_arguments(parser):
    add_kube_flags(parser, (), "the source namespace (default: the context's)", all_namespaces=False)
    parser.add_argument("secret_names", nargs="*", metavar="NAME", help="the Secrets to copy")
    parser.add_argument("-l", "--selector", metavar="SELECTOR", help="the Secrets to copy, by label")
    parser.add_argument("--to", action="append", default=[], metavar="NS", required=True,
                        help="copy to this namespace (repeatable)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite a same-named Secret that replication did not make")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the plan (create/update/unchanged/skipped-foreign), write nothing")
    parser.add_argument("--create-namespace", action="store_true", help="create a target namespace that is missing")


class Options:
    def __init__(self, kube_flags: KubeFlags, names: list | None = None, selector: str | None = None,
                 to: list | None = None, force: bool = False, dry_run: bool = False, create_namespace: bool = False):
        self.kube_flags, self.names, self.selector, self.to = kube_flags, names or [], selector, to or []
        self.force, self.dry_run, self.create_namespace = force, dry_run, create_namespace
        self.kubes: dict = {}  # from complete(): context -> Kube

    @classmethod
    def from_args(cls, args) -> "Options":
        return cls(KubeFlags.from_args(args), args.secret_names, args.selector, args.to, args.force, args.dry_run,
                   args.create_namespace)

    def validate(self) -> None:
        if not self.names and not self.selector:
            raise UsageError("name the Secrets to copy, or select them with -l")

    def complete(self) -> None:
        from ..replicator import connect_all

        self.kubes = connect_all(self.kube_flags, ())
        source = self.kubes[None].kubeconfig.namespace
        if source in self.to:
            raise UsageError(f"--to {source} is the source namespace")

    def run(self):
        from ..replicator import eso_note, read_sources, replicate

        source = self.kubes[None].kubeconfig.namespace
        sources = read_sources(self.kubes[None], source, self.selector, self.names)
        outcome = replicate(self.kubes, sources, [Target(ns) for ns in dict.fromkeys(self.to)], source,
                            force=self.force, dry_run=self.dry_run, create_namespace=self.create_namespace)
        outcome.notes = eso_note(sources)
        return outcome


def run(args, env) -> int:
    from ..replicator import run_command

    return run_command(Options.from_args(args), env)
