"""`kubectl jxsecret convert PATH...`: Kubernetes Secret manifests (files, or directories walked for *.yaml and
*.yml) -> ESO v1 ExternalSecrets reading one store (model.convert has the layout), printed, written to a
Jenkins X config-root, or applied; with --populate the values the files held are written to the store.

Everything is read and checked before anything is written: every file parses (errors name the file and
the line), every ExternalSecret validates (the cluster's CRD by a server-side dry run when one answers,
else the built-in rules), every value is text, and every store path can be read and written. Values go
to the store only: never to the output, a message or a file.
"""

import os
from pathlib import Path

from ..errors import ExitStatus, JxSecretError, UsageError
from ..flags import KubeFlags, add_kube_flags, add_schema_flags, add_writer_flags, vault_flags

KINDS = ("ClusterSecretStore", "SecretStore")
SUFFIXES = (".yaml", ".yml")


def add_arguments(parser):
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a Secret manifest file, or a directory of them")
    parser.add_argument("--store", required=True, metavar="KIND/NAME",
                        help="the store the ExternalSecrets read: ClusterSecretStore/NAME or SecretStore/NAME")
    parser.add_argument("--key-prefix", default="", metavar="PREFIX",
                        help="put every store path under PREFIX/ (default: none, the store's mount)")
    parser.add_argument("--refresh-interval", default="1h", metavar="DURATION",
                        help="how often ESO syncs them (default: 1h)")
    parser.add_argument("--config-root", metavar="DIR",
                        help="write DIR/namespaces/<ns>/[<release>/]<name>-externalsecret.yaml instead of printing")
    parser.add_argument("--apply", action="store_true", help="create or update them in the cluster instead of printing")
    parser.add_argument("--validate", choices=("auto", "server", "local"), default="auto", metavar="MODE",
                        help="auto: the cluster's CRD by a server-side dry run when it answers, else the built-in "
                             "rules; server: the cluster or fail; local: the built-in rules (default: auto)")
    parser.add_argument("--populate", action="store_true",
                        help="also write the values the Secret files hold to the store (checked first; never printed)")
    add_writer_flags(parser, "with --populate: show which store paths and properties would change; write nothing")
    add_schema_flags(parser, generators=False)
    add_kube_flags(parser, (), namespace_help="namespace of Secrets that name none", all_namespaces=False)


def files_of(paths: list[str]) -> list[Path]:
    """The files named, and the *.yaml/*.yml files under the directories named (sorted, hidden ones skipped)."""
    found = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.suffix in SUFFIXES and f.is_file()
                            and not any(part.startswith(".") for part in f.relative_to(p).parts))
        elif p.exists():
            found.append(p)
        else:
            raise UsageError(f"{given}: no such file or directory")
    return list(dict.fromkeys(found))


def read_secrets(paths: list[str], namespace: str):
    from ..model.convert import ConvertError, parse_secrets

    secrets = []
    for f in files_of(paths):
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise JxSecretError(f"cannot read {f}: {getattr(e, 'strerror', None) or 'not UTF-8 text'}") from None
        try:
            secrets += parse_secrets(text, str(f), namespace)
        except ConvertError as e:
            raise JxSecretError(str(e)) from None
    if not secrets:
        raise JxSecretError(f"no v1 Secret manifests in {', '.join(paths)}: nothing to convert")
    seen = {}
    for s in secrets:
        if (s.namespace, s.name) in seen:
            raise JxSecretError(f"{s.where}: Secret {s.name} is also at {seen[(s.namespace, s.name)]}")
        seen[(s.namespace, s.name)] = s.where
    return secrets


def schema_of(schemas, secret) -> str:
    """The schema object's annotation JSON for `secret` ("" when none describes it): found as populate finds
    one (--schema, the chart of its Helm labels under --schema-dir, its annotation), else, as jx secret
    convert did, under --schema-dir for the chart named by the folder the file is in
    (`config-root/namespaces/jx/<chart>/x-secret.yaml`)."""
    from ..model.externalsecret import ExternalSecret
    from ..model.manifest import schema_json

    es = ExternalSecret({"metadata": {"name": secret.name, "namespace": secret.namespace, "labels": secret.labels,
                                      "annotations": secret.annotations}})
    found = schemas.of(es)
    if found is None:
        found = schemas.in_chart(Path(secret.source).parent.name, secret.name)
    return schema_json(found) if found is not None else ""


def file_targets(root: str, secrets, fmt: str) -> list[str]:
    """Each manifest's config-root path; JxSecretError for one that exists (nothing is written then)."""
    from ..model.convert import config_root_path

    targets = []
    for s in secrets:
        if not s.namespace:
            raise JxSecretError(f"{s.where}: Secret {s.name} names no namespace: give -n NS for --config-root")
        path = os.path.join(root, config_root_path(s.source, s.namespace, s.name))
        if fmt == "json":
            path = path[:-len(".yaml")] + ".json"
        if os.path.exists(path):
            raise JxSecretError(f"{path} exists: not overwritten; nothing written")
        targets.append(path)
    return targets


def write_files(targets: list[str], manifests, fmt: str, env) -> None:
    import io

    from .. import output

    for path, m in zip(targets, manifests):
        text = io.StringIO()
        output.dump(m, fmt, text)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "x", encoding="utf-8") as f:
                f.write(text.getvalue())
        except OSError as e:
            raise JxSecretError(f"cannot write {path}: {e.strerror}") from None
        print(f"wrote {path}", file=env.stderr)


def still_holding(secrets, root: str) -> list[str]:
    """The Secret files under `root`: after a conversion into it they still hold the values."""
    base = os.path.realpath(root)
    return sorted({s.source for s in secrets if os.path.realpath(s.source).startswith(base + os.sep)})


def print_all(manifests, fmt: str, env) -> None:
    from .. import output

    if fmt == "json":
        output.dump(manifests[0] if len(manifests) == 1 else {"apiVersion": "v1", "kind": "List", "items": manifests},
                    fmt, env.stdout)
        return
    for i, m in enumerate(manifests):
        if i:
            env.stdout.write("---\n")
        output.dump(m, fmt, env.stdout)


def populate(kube, secrets, kind: str, store: str, prefix: str, args, env, report_env) -> list:
    """Write the files' values to the store (validated and planned first); what was written. The report goes
    to `report_env` (stderr when stdout carries the manifests)."""
    from .. import output
    from ..model.convert import ConvertError, values_by_path
    from ..model.plan import Destination, StoreRef
    from ..writer import Stores, prepare, write

    wanted = {}
    groups = {}
    for s in secrets:
        groups.setdefault(s.namespace if kind == "SecretStore" else "", []).append(s)
    for namespace, group in groups.items():
        if kind == "SecretStore" and not namespace:
            raise JxSecretError(f"{group[0].where}: Secret {group[0].name} names no namespace, and a SecretStore "
                                "is namespaced: give -n NS")
        try:
            paths = values_by_path(group, prefix)
        except ConvertError as e:
            raise JxSecretError(str(e)) from None
        for path, values in paths.items():
            wanted[Destination(StoreRef(kind, store, namespace), path)] = values
    with Stores(kube, vault_flags(args), env.environ, env.stderr) as stores:
        plans = prepare(stores, wanted)
        written = [] if args.dry_run else write(stores, plans)
    output.render_writes(plans, written, report_env, args.dry_run)
    return written


def run(args, env) -> int:
    from .. import apply
    from ..model.convert import to_external_secret
    from ..model.duration import parse_duration
    from ..schemas import Schemas

    kind, _, store = (args.store or "").partition("/")
    if kind not in KINDS or not store:
        raise UsageError(f"--store {args.store}: expected ClusterSecretStore/NAME or SecretStore/NAME")
    parse_duration(args.refresh_interval, "--refresh-interval")
    timeout = parse_duration(args.timeout, "--timeout")
    if args.apply and args.config_root:
        raise UsageError("--apply and --config-root: choose one (the cluster, or the files of a GitOps repository)")
    if args.dry_run and not args.populate:
        raise UsageError("--dry-run is for --populate (without it nothing is written to a store)")
    if args.validate == "local" and (args.apply or args.populate):
        raise UsageError(f"--validate local with --{'apply' if args.apply else 'populate'}: that needs the cluster")
    schemas = Schemas(args.schema, args.schema_dir)
    secrets = read_secrets(args.paths, args.namespace or "")
    manifests = [to_external_secret(s, kind, store, args.key_prefix, args.refresh_interval, schema_of(schemas, s))
                 for s in secrets]
    kube_flags = KubeFlags.from_args(args)
    needs_cluster = args.apply or args.populate
    checked = apply.validate(manifests, kube_flags, env.environ, "server" if needs_cluster else args.validate,
                             [s.where for s in secrets])
    print(checked.how, file=env.stderr)
    targets = file_targets(args.config_root, secrets, args.output) if args.config_root else []
    written, status = [], ExitStatus.OK
    if args.populate:
        report_env = env if (args.apply or args.config_root) else env.with_stdout(env.stderr)
        written = populate(checked.kube, secrets, kind, store, args.key_prefix, args, env, report_env)
        if args.dry_run:
            return ExitStatus.OK
        if any(w.error for w in written):
            print("error: some store paths were not written: nothing else done", file=env.stderr)
            return ExitStatus.ERROR
        if not args.apply:
            status = sync_existing(checked.kube, secrets, written, timeout, report_env)
    if args.apply:
        return apply_and_wait(checked.kube, manifests, written, timeout, env)
    if args.config_root:
        write_files(targets, manifests, args.output, env)
        for source in still_holding(secrets, args.config_root):
            print(f"note: {source} still holds the Secret's values: remove it before committing", file=env.stderr)
    else:
        print_all(manifests, args.output, env)
    return status


def sync_existing(kube, secrets, written, timeout: float, env) -> int:
    """After --populate without --apply: the ExternalSecrets already in the cluster (applied through GitOps)
    that read what was written are force-synced and waited for, as import does."""
    from ..scan import Report, Selection, discover, select
    from ..writer import finish, readers_of

    namespaces = {s.namespace for s in secrets}
    only = namespaces.pop() if len(namespaces) == 1 else None
    existing = select(kube, discover(kube), Selection(namespace=only or None), Report())
    return finish(kube, written, readers_of(existing, [w.plan.destination for w in written]), timeout, env)


def apply_and_wait(kube, manifests, written, timeout: float, env) -> int:
    """Apply every manifest; when values were written, have ESO sync them and say which are populated."""
    from .. import apply
    from ..model.externalsecret import ExternalSecret
    from ..writer import finish, readers_of

    applied = []
    for m in manifests:
        how, obj = apply.apply_one(kube, m, dry_run=False)
        print(f"externalsecret.external-secrets.io/{m['metadata']['name']} {how} "
              f"(namespace {apply.namespace_of(m, kube)})", file=env.stdout, flush=True)
        applied.append(ExternalSecret(obj))
    if not written:
        return ExitStatus.OK
    return finish(kube, written, readers_of(applied, [w.plan.destination for w in written]), timeout, env)
