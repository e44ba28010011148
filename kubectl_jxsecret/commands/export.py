"""`kubectl jxsecret export`: the values behind the selected ExternalSecrets, to a private file.

The Vault migration path: `export` reads the stores the ExternalSecrets name (point --vault-addr at
the old Vault), `import` writes the file into the new one. `--source cluster` reads the synced
Secrets instead, for a store that is gone. Layout: model/transfer.py (jx secret export's). The file
is written 0600 through a temporary file, so a failed export leaves no half file behind.
"""

import base64
import json
import os
import tempfile

from .. import output
from ..errors import ExitStatus, UsageError
from ..flags import KubeFlags, add_selection_flags, add_vault_flags, vault_flags
from ..scan import Selection, select_some


def add_arguments(parser):
    add_selection_flags(parser, short_filter=False)
    parser.add_argument("-f", "--file", required=True, metavar="PATH",
                        help="the file to write (created 0600); '-' writes to stdout")
    parser.add_argument("--overwrite", action="store_true", help="replace the file if it exists")
    parser.add_argument("--source", choices=("store", "cluster"), default="store",
                        help="read the stores the ExternalSecrets name (default), or their synced Secrets")
    add_vault_flags(parser)


class Exported:
    """What export read. Not a NamedTuple: it holds the values, which a tuple would hand to anything that prints
    or unpacks it."""

    def __init__(self, externalsecrets: int = 0, notes: list[str] | None = None):
        self.paths: dict[str, dict[str, str]] = {}  # file path -> values; never printed
        self.externalsecrets = externalsecrets  # how many were selected
        self.notes = notes or []

    @property
    def values(self) -> int:
        return sum(len(v) for v in self.paths.values())


class Options:
    def __init__(self, kube_flags: KubeFlags, selection: Selection, file: str, overwrite: bool = False,
                 source: str = "store", vault: dict | None = None):
        self.kube_flags, self.selection, self.file, self.overwrite = kube_flags, selection, file, overwrite
        self.source = source  # "store" (what the stores hold) or "cluster" (the synced Secrets)
        self.vault = vault or {}
        self.kube = None  # the API client (kube.client.Kube), from complete()

    @classmethod
    def from_args(cls, args) -> "Options":
        return cls(KubeFlags.from_args(args), Selection.from_args(args), args.file, args.overwrite, args.source,
                   vault_flags(args))

    def validate(self) -> None:
        if self.file != "-" and os.path.exists(self.file) and not self.overwrite:
            raise UsageError(f"{self.file} exists: pass --overwrite to replace it")
        if self.file != "-" and not os.path.isdir(os.path.dirname(os.path.abspath(self.file))):
            raise UsageError(f"cannot write {self.file}: its directory does not exist")

    def complete(self) -> None:
        from ..kube.client import connect

        self.kube = connect(self.kube_flags)

    def run(self, env) -> Exported:
        from ..catalog import build

        externalsecrets, report = select_some(self.kube, self.selection, "export")
        catalog = build(self.kube, externalsecrets)
        exported = Exported(externalsecrets=len(externalsecrets), notes=report.warnings + catalog.problems)
        if self.source == "store":
            self.from_stores(catalog, exported, env)
        else:
            self.from_secrets(catalog, externalsecrets, exported)
        return exported

    def from_stores(self, catalog, exported: Exported, env) -> None:
        from ..writer import Stores

        with Stores(self.kube, self.vault, env.environ, env.stderr) as stores:
            for path, entry in sorted(catalog.entries.items()):
                values = stores.read(entry.destination)
                if values:
                    # Vault KV values may be JSON numbers or objects; ESO hands them over as JSON text.
                    exported.paths[path] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
                else:
                    exported.notes.append(f"nothing stored at {path} ({entry.destination.store})")

    def from_secrets(self, catalog, externalsecrets, exported: Exported) -> None:
        """Each `data[]` value back to the store path and property it came from. Templated keys and
        dataFrom cannot be traced back to a property, and are named in a note instead."""
        from ..model.plan import refs_of

        secrets = {}
        for ns in sorted({es.namespace for es in externalsecrets}):
            for s in self.kube.list(f"/api/v1/namespaces/{ns}/secrets"):
                secrets[(ns, s["metadata"]["name"])] = s.get("data") or {}
        for es in externalsecrets:
            data = secrets.get((es.namespace, es.target_name))
            refs, unwritable = refs_of(es)
            exported.notes += [f"{u.namespace}/{u.name}: {u.reason}" for u in unwritable]
            if data is None:
                exported.notes.append(f"{es.namespace}/{es.name}: no Secret {es.target_name}")
                continue
            for ref in refs:
                encoded = data.get(ref.secret_key)
                path = catalog.paths.get(ref.destination)
                if encoded and path:
                    exported.paths.setdefault(path, {})[ref.property] = base64.b64decode(encoded).decode()
                elif path:
                    exported.notes.append(f"{es.namespace}/{es.name}: Secret {es.target_name} has no value for "
                                          f"{ref.secret_key}")


def write_private(path: str, text: str) -> None:
    """`text` to `path`, mode 0600 from the first byte, replacing it only once complete."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".jxsecret-export-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def run(args, env) -> int:
    options = Options.from_args(args)
    options.validate()
    options.complete()
    exported = options.run(env)
    for note in exported.notes:
        print(f"note: {note}", file=env.stderr)
    from ..model.transfer import render

    text = render(exported.paths)
    if options.file == "-":
        env.stdout.write(text)
        env.stdout.flush()
    else:
        write_private(options.file, text)
    where = "stdout" if options.file == "-" else options.file
    print(f"exported {output.count(exported.values, 'value')} at {output.count(len(exported.paths), 'store path')} "
          f"of {output.count(exported.externalsecrets, 'ExternalSecret')} to {where}", file=env.stderr)
    return ExitStatus.OK
