"""`kubectl jxsecret new NAME`: an ESO v1 ExternalSecret reading one store path, with the Jenkins X schema
annotation when `--schema` describes NAME; printed, written into a Jenkins X `--config-root` (alias `--dir`,
as the replicate command names it) for a GitOps repository, or applied (`--apply`). Checked first against
the cluster's ESO CRD by a server-side dry run when a cluster answers, else by the built-in rules
(apply.validate). Then `populate` fills the values.
"""

import os

from ..errors import JxSecretError, UsageError

KINDS = ("ClusterSecretStore", "SecretStore")


def add_arguments(parser):
    parser.add_argument("name", metavar="NAME", help="the ExternalSecret and its Secret")
    parser.add_argument("-n", "--namespace", metavar="NS", help="its namespace (default: none, kubectl apply's)")
    parser.add_argument("--store", metavar="KIND/NAME",
                        help="the store it reads: ClusterSecretStore/NAME or SecretStore/NAME (asked at a terminal)")
    parser.add_argument("--key", metavar="PATH", help="the store path (remoteRef.key; default: NAME)")
    parser.add_argument("--data", "--property", dest="data", action="append", metavar="KEY[=PROPERTY]",
                        help="a Secret key and the store property it comes from (default: KEY); repeatable")
    parser.add_argument("--schema", metavar="FILE",
                        help="a secret-schema.yaml: NAME's object adds its properties and the schema annotation")
    parser.add_argument("--refresh-interval", default="1h", metavar="DURATION",
                        help="how often ESO syncs it (default: 1h)")
    parser.add_argument("--config-root", "--dir", dest="config_root", metavar="DIR",
                        help="write DIR/namespaces/<ns>/NAME-externalsecret.yaml (Jenkins X's layout; needs -n) "
                             "instead of printing it")
    parser.add_argument("--apply", action="store_true", help="create or update it in the cluster instead of printing")
    parser.add_argument("--validate", choices=("auto", "server", "local"), default="auto", metavar="MODE",
                        help="auto: the cluster's CRD by a server-side dry run when it answers, else the built-in "
                             "rules; server: the cluster or fail; local: the built-in rules (default: auto)")
    g = parser.add_argument_group("kubectl flags (--validate and --apply)")
    g.add_argument("--kubeconfig", metavar="PATH", help="path to the kubeconfig file (default: $KUBECONFIG, "
                                                        "~/.kube/config)")
    g.add_argument("--context", metavar="NAME", help="the kubeconfig context to use (default: its current-context)")
    g.add_argument("--request-timeout", metavar="DURATION", default="30s",
                   help="how long to wait for one API request (default: 30s)")


def store_problem(text: str) -> str:
    kind, _, store = text.partition("/")
    return "" if kind in KINDS and store else "expected ClusterSecretStore/NAME or SecretStore/NAME"


def data_problem(text: str) -> str:
    from ..model.manifest import parse_data

    if not text.split():
        return "give at least one KEY (or KEY=PROPERTY)"
    try:
        [parse_data(spec) for spec in text.split()]
    except ValueError as e:
        return str(e).replace("--data ", "")
    return ""


def ask_missing(args, env) -> None:
    """What the flags left out and NAME needs (the store; the keys, unless --schema gives them): asked at a
    terminal, with the namespace and the store path when those were not given either; a usage error
    anywhere else (scripts and CI must say what they want)."""
    missing = [flag for flag, unset in (("--store KIND/NAME", not args.store),
                                        ("--data KEY", not args.data and not args.schema)) if unset]
    if not missing:
        return
    if not env.stdin_isatty:
        raise UsageError(f"missing {' and '.join(missing)} (run at a terminal to be asked)")
    from ..prompts import Prompter, terminal

    ask = Prompter()
    with terminal():
        if args.namespace is None:
            args.namespace = ask.text(f"namespace of {args.name} (empty: kubectl's default):").strip() or None
        if not args.store:
            args.store = ask.text("store (ClusterSecretStore/NAME or SecretStore/NAME):", "ClusterSecretStore/vault",
                                  store_problem).strip()
        if not args.key:
            args.key = ask.text("store path (remoteRef.key):", args.name).strip() or None
        if not args.data and not args.schema:
            args.data = ask.text("Secret keys (KEY or KEY=PROPERTY, separated by spaces):", check=data_problem).split()


def build(args) -> dict:
    """The ExternalSecret from the flags; UsageError/JxSecretError for what is wrong with them."""
    from ..model.duration import parse_duration
    from ..model.manifest import external_secret, parse_data

    kind, _, store = (args.store or "").partition("/")
    if kind not in KINDS or not store:
        raise UsageError(f"--store {args.store}: expected ClusterSecretStore/NAME or SecretStore/NAME")
    parse_duration(args.refresh_interval, "--refresh-interval")
    try:
        data = [parse_data(spec) for spec in args.data or ()]
    except ValueError as e:
        raise UsageError(str(e)) from None
    schema = None
    if args.schema:
        from ..schemas import Schemas

        schema = Schemas(args.schema).in_file(args.name)
        if schema is None:
            raise JxSecretError(f"{args.schema} has no object named {args.name}")
    if not data and not (schema and schema.properties):
        raise UsageError("no keys: give --data KEY (repeatable), or --schema with properties for NAME")
    return external_secret(args.name, args.namespace or "", kind, store, args.key or args.name, data, schema,
                           args.refresh_interval)


def run(args, env) -> int:
    from .. import apply, output
    from ..flags import KubeFlags

    if args.config_root and args.apply:
        raise UsageError("--config-root and --apply: choose one")
    if args.apply and args.validate == "local":
        raise UsageError("--validate local with --apply: applying needs the cluster")
    ask_missing(args, env)
    if args.config_root and not args.namespace:
        raise UsageError("--config-root needs -n NS: the files live under namespaces/<ns>/")
    manifest = build(args)
    checked = apply.validate([manifest], KubeFlags(args.kubeconfig, args.context, None, args.request_timeout),
                             env.environ, "server" if args.apply else args.validate)
    print(checked.how, file=env.stderr)
    if args.apply:
        how, _ = apply.apply_one(checked.kube, manifest, dry_run=False)
        print(f"externalsecret.external-secrets.io/{args.name} {how} "
              f"(namespace {apply.namespace_of(manifest, checked.kube)})", file=env.stdout)
        return 0
    if not args.config_root:
        output.dump(manifest, args.output, env.stdout)
        return 0
    import io

    text = io.StringIO()
    output.dump(manifest, args.output, text)
    suffix = "json" if args.output == "json" else "yaml"
    path = os.path.join(args.config_root, "namespaces", args.namespace, f"{args.name}-externalsecret.{suffix}")
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "x", encoding="utf-8") as f:
            f.write(text.getvalue())
    except FileExistsError:
        raise JxSecretError(f"{path} exists: not overwritten") from None
    except OSError as e:
        raise JxSecretError(f"cannot write {path}: {e.strerror}") from None
    print(f"wrote {path}", file=env.stderr)
    return 0
