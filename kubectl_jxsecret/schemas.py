"""Where each ExternalSecret's schema comes from: `--schema FILE`, `--schema-dir DIR`, or its annotation.

In that order: a file given on the command line, then the chart's file under a Jenkins X version stream
or cluster repository (`DIR/charts/<repo>/<chart>/secret-schema.yaml`, the chart named by the
ExternalSecret's Helm labels: model.schema.chart_of; `<repo>` is not in the labels, so every repo
directory that has the chart is looked at: the one whose `defaults.yaml` pins the chart at the version
the labels give counts (the version stream keeps old repos beside new ones: `jenkins-x/`, `jx3/` and
`jxgh/` all have `jxboot-helmfile-resources`), else the first in name order with an object of the
ExternalSecret's name), then the `secret.jenkins-x.io/schema-object` annotation. Files are read once each.

A malformed schema of one ExternalSecret (its annotation, or the chart file it is found in) stops only
that ExternalSecret where the command says so (`skipped`): one `error:` line names it, the file or
annotation and the field. A malformed `--schema FILE` is the user's own: it stops the command at once.
"""

import functools
from pathlib import Path

from .errors import JxSecretError, UsageError
from .model.externalsecret import ExternalSecret
from .model.schema import SchemaError, SchemaObject, chart_of, chart_version_of, parse_file
from .model.schema import annotation_schema as model_annotation_schema

FILE_NAME = "secret-schema.yaml"


class Schemas:
    def __init__(self, schema_file: str | None = None, schema_dir: str | None = None):
        self.schema_dir = Path(schema_dir) if schema_dir else None
        self._files: dict[Path, dict[str, SchemaObject]] = {}
        self.schema_file = Path(schema_file) if schema_file else None
        if self.schema_dir is not None and not self.schema_dir.is_dir():
            raise UsageError(f"--schema-dir {schema_dir}: not a directory")
        if self.schema_file is not None:
            self._read(self.schema_file, usage=True)  # a broken file fails before the cluster is asked

    def _read(self, path: Path, usage: bool = False) -> dict[str, SchemaObject]:
        if path not in self._files:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as e:
                raise (UsageError if usage else JxSecretError)(f"cannot read {path}: {e.strerror}") from None
            try:
                self._files[path] = parse_file(text, str(path))
            except SchemaError as e:
                raise JxSecretError(str(e)) from None
        return self._files[path]

    def in_file(self, name: str) -> SchemaObject | None:
        """The --schema file's object `name`, or None."""
        return self._read(self.schema_file).get(name) if self.schema_file is not None else None

    def of(self, es: ExternalSecret) -> SchemaObject | None:
        """The schema object of `es`, or None. Raises JxSecretError for a malformed one."""
        found = self.in_file(es.name)
        if found is not None:
            return found
        labels = es.meta.get("labels") or {}
        found = self.in_chart(chart_of(labels, es.annotations), es.name, chart_version_of(labels))
        return found if found is not None else annotation_schema(es)

    def in_chart(self, chart: str, name: str, version: str = "") -> SchemaObject | None:
        """Object `name` of chart `chart`'s schema under --schema-dir: from the repo directory that pins the
        chart at `version`, else from the first one (in name order) that has it."""
        if self.schema_dir is None or not chart:
            return None
        first = None
        for path in sorted(self.schema_dir.glob(f"charts/*/{chart}/{FILE_NAME}")):
            found = self._read(path).get(name)
            if found is not None and (not version or pinned_version(path.parent) == version):
                return found
            first = first or found
        return first


@functools.cache
def pinned_version(chart_dir: Path) -> str:
    """The chart version a version stream's `charts/<repo>/<chart>/defaults.yaml` pins ("" when it says none)."""
    import yaml

    try:
        pinned = yaml.safe_load((chart_dir / "defaults.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ""
    version = str(pinned.get("version") or "") if isinstance(pinned, dict) else ""
    return version.removeprefix("v")


def annotation_schema(es: ExternalSecret) -> SchemaObject | None:
    """model.schema.annotation_schema, a malformed one as the JxSecretError every command reports."""
    try:
        return model_annotation_schema(es)
    except SchemaError as e:
        raise JxSecretError(str(e)) from None


def with_schemas(externalsecrets: list[ExternalSecret], schemas: Schemas, env,
                 skipped: list | None = None) -> list[tuple[ExternalSecret, SchemaObject | None]]:
    """Each ExternalSecret with its schema object (None without one). A malformed schema raises JxSecretError;
    with a `skipped` list, it is an `error:` line on stderr instead, and its ExternalSecret goes to `skipped`."""
    found = []
    for es in externalsecrets:
        try:
            found.append((es, schemas.of(es)))
        except JxSecretError as e:
            if skipped is None:
                raise
            name = f"{es.namespace}/{es.name}"
            print(f"error: skipped {name}: {str(e).removeprefix(f'ExternalSecret {name}: ')}", file=env.stderr)
            skipped.append(es)
    return found


def skipped_summary(skipped: list) -> str:
    """The last line of a command that skipped ExternalSecrets for their schemas."""
    from .output import count

    return f"error: {count(len(skipped), 'ExternalSecret')} skipped: a malformed secret schema (above)"


def targets_of(externalsecrets: list[ExternalSecret], schemas: Schemas, env, skipped: list | None = None) -> list:
    """Every value the ExternalSecrets read property by property, with its schema property (model.populate.Target).
    What cannot be written property by property is named in a note, as edit does. A malformed schema: as
    with_schemas."""
    from .model.plan import refs_of
    from .model.populate import Target

    targets = []
    for es, schema in with_schemas(externalsecrets, schemas, env, skipped):
        refs, unwritable = refs_of(es)
        for u in unwritable:
            print(f"note: {u.namespace}/{u.name}: {u.reason}: not filled", file=env.stderr)
        targets += [Target(ref, schema.property(ref.secret_key) if schema else None) for ref in refs]
    return targets
