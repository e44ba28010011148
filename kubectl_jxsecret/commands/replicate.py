"""`kubectl jxsecret replicate`: copy the replica-source Secrets of the dev namespace to the namespaces of
the permanent Jenkins X Environments (or --to), owning the copies: see replicator.py for the requests
and model/replication.py for what a copy is and when it is written.
"""

from ..errors import JxSecretError, KubeError, UsageError
from ..flags import KubeFlags, add_kube_flags
from ..model.replication import SOURCE_SELECTOR, Target

ENVIRONMENTS = "/apis/jenkins.io/v1/namespaces/{}/environments"


def add_arguments(parser):
    add_kube_flags(parser, (), "the source namespace, as --from", all_namespaces=False)
    parser.add_argument("--from", dest="from_namespace", metavar="NS",
                        help="the source namespace, where the Environments are too (default: jx)")
    parser.add_argument("-l", "--selector", metavar="SELECTOR",
                        help=f"the source Secrets' labels (default: {SOURCE_SELECTOR}; none with --name)")
    parser.add_argument("--name", action="append", default=[], metavar="NAME",
                        help="a source Secret by name (repeatable), instead of the selector")
    parser.add_argument("--to", action="append", default=[], metavar="NS",
                        help="copy to this namespace (repeatable) instead of the Permanent Environments'")
    parser.add_argument("--exclude", action="append", default=[], metavar="NS",
                        help="not to this namespace (repeatable)")
    parser.add_argument("--context-for", action="append", default=[], metavar="ENV=CONTEXT",
                        help="reach Environment ENV through kubeconfig context CONTEXT (repeatable); remote-cluster "
                             "Environments are skipped without one")
    add_replica_flags(parser)
    parser.add_argument("--prune", action="store_true",
                        help="delete copies made from --from whose source is gone or no longer selected")
    parser.add_argument("--dir", metavar="CONFIG_ROOT",
                        help="GitOps: copy the matching files of CONFIG_ROOT/namespaces/<from>/ to each Environment's "
                             "folder instead of the cluster")


def add_replica_flags(parser):
    parser.add_argument("--force", action="store_true",
                        help="overwrite a same-named Secret that replication did not make")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the plan (create/update/unchanged/skipped-foreign/prune), write nothing")
    parser.add_argument("--create-namespace", action="store_true", help="create a target namespace that is missing")


class Options:
    def __init__(self, kube_flags: KubeFlags, from_namespace: str = "jx", selector: str | None = SOURCE_SELECTOR,
                 names: list | None = None, to: list | None = None, exclude: list | None = None,
                 context_for_args: list | None = None, force: bool = False, prune: bool = False,
                 dry_run: bool = False, create_namespace: bool = False, dir: str | None = None):
        self.kube_flags, self.from_namespace, self.selector = kube_flags, from_namespace, selector
        self.names, self.to, self.exclude = names or [], to or [], exclude or []
        self.context_for_args = context_for_args or []  # --context-for ENV=CONTEXT, as given
        self.force, self.prune, self.dry_run, self.create_namespace = force, prune, dry_run, create_namespace
        self.dir = dir  # --dir: a GitOps config-root instead of the cluster
        self.context_for: dict = {}  # from validate(): ENV -> CONTEXT
        self.requirements: list = []  # from validate(), for --dir
        self.kubes: dict = {}  # from complete(): context -> Kube

    @classmethod
    def from_args(cls, args) -> "Options":
        selector = args.selector if args.selector or args.name else SOURCE_SELECTOR
        return cls(KubeFlags.from_args(args), args.from_namespace or args.namespace or "jx", selector, args.name,
                   args.to, args.exclude, args.context_for, args.force, args.prune, args.dry_run,
                   args.create_namespace, args.dir)

    def validate(self) -> None:
        from ..model.replication import parse_context_for

        try:
            self.context_for = parse_context_for(self.context_for_args)
        except ValueError as e:
            raise UsageError(str(e)) from None
        if self.to and self.context_for:
            raise UsageError("--context-for names Environments: it does not go with --to")
        if self.from_namespace in self.to:
            raise UsageError(f"--to {self.from_namespace} is the source namespace")
        if self.dir is not None:
            from ..model.replica_files import parse_selector

            if self.context_for:
                raise UsageError("--context-for reaches a cluster: it does not go with --dir")
            if self.create_namespace:
                raise UsageError("--create-namespace creates a namespace in a cluster: it does not go with --dir")
            try:
                self.requirements = parse_selector(self.selector or "")
            except ValueError as e:
                raise UsageError(str(e)) from None

    def complete(self) -> None:
        from ..replicator import connect_all

        if self.dir is not None:
            return  # GitOps: files only, no cluster

        self.kubes = connect_all(self.kube_flags, self.context_for.values())

    def targets(self) -> tuple[list[Target], list[str]]:
        from ..model.replication import Environment, environment_targets

        if self.to:
            return [Target(ns) for ns in dict.fromkeys(self.to) if ns not in self.exclude], []
        try:
            listed = self.kubes[None].list(ENVIRONMENTS.format(self.from_namespace))
            found = [Environment.from_object(e) for e in listed]
        except KubeError as e:
            if e.status == 404:
                raise JxSecretError("no Jenkins X Environment API (jenkins.io/v1) on this cluster: "
                                    "pass --to NS") from None
            raise
        try:
            return environment_targets(found, self.context_for, set(self.exclude), self.from_namespace)
        except ValueError as e:
            raise JxSecretError(f"{e} in namespace {self.from_namespace}") from None

    def run(self):
        from ..replicator import Outcome, eso_note, read_sources, replicate

        if self.dir is not None:
            from .. import replica_files

            return replica_files.replicate(self.dir, self.from_namespace, self.requirements, self.names, self.to,
                                           set(self.exclude), force=self.force, prune=self.prune,
                                           dry_run=self.dry_run)
        sources = read_sources(self.kubes[None], self.from_namespace, self.selector, self.names)
        targets, notes = self.targets()
        if not targets:
            return Outcome(notes=notes + [f"no Permanent Environments to copy to in namespace {self.from_namespace} "
                                          "(pass --to NS)"], dry_run=self.dry_run)
        outcome = replicate(self.kubes, sources, targets, self.from_namespace, force=self.force, prune=self.prune,
                            dry_run=self.dry_run, create_namespace=self.create_namespace)
        outcome.notes = notes + eso_note(sources)
        return outcome


def run(args, env) -> int:
    from ..replicator import run_command

    return run_command(Options.from_args(args), env)
