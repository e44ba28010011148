"""`kubectl jxsecret new NAME`: an ESO v1 ExternalSecret reading one store path, with the Jenkins X schema
annotation when `--schema` describes NAME; printed, or written to `--dir` for a GitOps repository.
No cluster access: apply it (or commit it), then `populate` fills the values.
"""

import os

from ..errors import JxSecretError, UsageError

KINDS = ("ClusterSecretStore", "SecretStore")


def add_arguments(parser):
    parser.add_argument("name", metavar="NAME", help="the ExternalSecret and its Secret")
    parser.add_argument("-n", "--namespace", metavar="NS", help="its namespace (default: none, kubectl apply's)")
    parser.add_argument("--store", required=True, metavar="KIND/NAME",
                        help="the store it reads: ClusterSecretStore/NAME or SecretStore/NAME")
    parser.add_argument("--key", metavar="PATH", help="the store path (remoteRef.key; default: NAME)")
    parser.add_argument("--data", action="append", metavar="KEY[=PROPERTY]",
                        help="a Secret key and the store property it comes from (default: KEY); repeatable")
    parser.add_argument("--schema", metavar="FILE",
                        help="a secret-schema.yaml: NAME's object adds its properties and the schema annotation")
    parser.add_argument("--refresh-interval", default="1h", metavar="DURATION",
                        help="how often ESO syncs it (default: 1h)")
    parser.add_argument("--dir", metavar="DIR", help="write DIR/NAME.yaml (or .json) instead of printing it")


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
    from .. import output

    manifest = build(args)
    if not args.dir:
        output.dump(manifest, args.output, env.stdout)
        return 0
    import io

    text = io.StringIO()
    output.dump(manifest, args.output, text)
    path = os.path.join(args.dir, f"{args.name}.{'json' if args.output == 'json' else 'yaml'}")
    try:
        with open(path, "x", encoding="utf-8") as f:
            f.write(text.getvalue())
    except FileExistsError:
        raise JxSecretError(f"{path} exists: not overwritten") from None
    except OSError as e:
        raise JxSecretError(f"cannot write {path}: {e.strerror}") from None
    print(f"wrote {path}", file=env.stderr)
    return 0
