"""`convert`: Kubernetes `v1/Secret` manifests -> ESO `external-secrets.io/v1` ExternalSecrets, as jx secret
convert did for the legacy API. Pure: the command reads the files and writes what this returns.

Store path layout (jx secret convert's, `pkg/cmd/convert` modifyVault): the Secret's name with `-` as `/`,
without a last segment equal to the property: `knative-docker-user-pass` key `username` ->
`knative/docker/user/pass`, property `username`; `lighthouse-oauth-token` key `token` -> `lighthouse/oauth`.
jx wrote `secret/data/<path>` for the KES API; ESO's Vault provider takes the path relative to the store's
mount, so the key is `<path>` (an optional prefix in front). The Secret's type, labels and annotations go
to `spec.target.template`, so the synced Secret looks like the one it replaces; the labels stay on the
ExternalSecret too (selectors), its annotations do not (jx did the same).

Values are read (for --populate) but never put in a message: errors name the file, the line and the key.
"""

import base64
import binascii
import re

import yaml

from .externalsecret import SCHEMA_ANNOTATION
from .manifest import API_VERSION

# Only name, namespace, labels and annotations are taken from a Secret's metadata (server fields such as uid,
# resourceVersion and managedFields stay behind); of the annotations, kubectl's copy of the whole object goes
# too: it holds the values.
DROPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")  # DNS-1123 subdomain
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")  # Kubernetes Secret keys; ESO's secretKey pattern too


class ConvertError(ValueError):
    """A problem in an input file: `<file>, line <n>: ...`, never a value."""


class SourceSecret:
    """One `v1/Secret` document: what the ExternalSecret needs, and (kept out of repr) its values. Not a
    NamedTuple: a tuple would hand its values to anything that prints or unpacks it."""

    def __init__(self, source: str, line: int, name: str, namespace: str, type: str = "",
                 labels: dict | None = None, annotations: dict | None = None):
        self.source, self.line = source, line  # the file, and where the document starts (1-based)
        self.name, self.namespace, self.type = name, namespace, type
        self.labels, self.annotations = labels or {}, annotations or {}
        self.keys: list[str] = []  # Secret keys, in file order (data, then stringData)
        self.values: dict[str, str | None] = {}  # key -> value as text; None where not UTF-8 text
        self.key_lines: dict[str, int] = {}  # key -> its line

    def __repr__(self):
        return f"SourceSecret({self.where}: {self.namespace}/{self.name})"  # never a value

    @property
    def where(self) -> str:
        return f"{self.source}, line {self.line}"


def store_path(secret_name: str, prop: str, prefix: str = "") -> str:
    """jx secret convert's store path for key `prop` of Secret `secret_name` (module doc), under `prefix`."""
    names = secret_name.replace("-", "/").split("/")
    if len(names) > 1 and names[-1] == prop:
        names = names[:-1]
    path = "/".join(names)
    return f"{prefix.strip('/')}/{path}" if prefix.strip("/") else path


def parse_secrets(text: str, source: str, namespace: str = "") -> list[SourceSecret]:
    """Every `v1/Secret` document of a YAML file (other kinds are skipped), `namespace` where a Secret
    names none. Raises ConvertError naming `source` and the line."""
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}" if mark else source
        raise ConvertError(f"{where}: not valid YAML: {getattr(e, 'problem', None) or 'cannot parse'}") from None
    found = []
    for node in documents:
        if node is None:
            continue
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode):
            raise ConvertError(f"{source}, line {line}: expected a Kubernetes object (a map)")
        fields = _fields(node)
        kind, api = _scalar(fields.get("kind")), _scalar(fields.get("apiVersion"))
        if kind == "List" and api == "v1":
            raise ConvertError(f"{source}, line {line}: a List: give the Secrets as separate YAML documents")
        if kind != "Secret" or api != "v1":
            continue
        found.append(_secret(fields, source, line, namespace))
    return found


def _fields(node: yaml.MappingNode) -> dict:
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _scalar(node) -> str:
    return node.value if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null" else ""


def _map(node, what: str, source: str) -> dict:
    """A map of strings (labels, annotations, data), from its node; ConvertError naming the line."""
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise ConvertError(f"{source}, line {node.start_mark.line + 1}: {what} is not a map")
    out = {}
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode) or not isinstance(v, yaml.ScalarNode):
            raise ConvertError(f"{source}, line {k.start_mark.line + 1}: {what}: expected text keys and values")
        out[k.value] = (v.value if v.tag != "tag:yaml.org,2002:null" else "", k.start_mark.line + 1)
    return out


def _secret(fields: dict, source: str, line: int, namespace: str) -> SourceSecret:
    where = f"{source}, line {line}"
    meta_node = fields.get("metadata")
    meta = _fields(meta_node) if isinstance(meta_node, yaml.MappingNode) else {}
    name = _scalar(meta.get("name"))
    if not name:
        raise ConvertError(f"{where}: Secret without metadata.name")
    if not NAME.match(name) or len(name) > 253:
        raise ConvertError(f"{where}: Secret name {name!r} is not a valid Kubernetes name")
    labels = {k: v for k, (v, _) in _map(meta.get("labels"), "metadata.labels", source).items()}
    annotations = {k: v for k, (v, _) in _map(meta.get("annotations"), "metadata.annotations", source).items()
                   if k not in DROPPED_ANNOTATIONS}
    secret = SourceSecret(source, line, name, _scalar(meta.get("namespace")) or namespace,
                          _scalar(fields.get("type")), labels, annotations)
    for section in ("data", "stringData"):
        for key, (value, key_line) in _map(fields.get(section), section, source).items():
            if not SECRET_KEY.match(key):
                raise ConvertError(f"{source}, line {key_line}: {section} key {key!r} is not a valid Secret key")
            if section == "data":
                try:
                    raw = base64.b64decode(value.replace("\n", "").replace(" ", ""), validate=True)
                except (binascii.Error, ValueError):
                    raise ConvertError(f"{source}, line {key_line}: data.{key} is not base64 "
                                       "(plain text goes under stringData)") from None
                try:
                    value = raw.decode("utf-8")
                except UnicodeDecodeError:
                    value = None
            if key not in secret.keys:
                secret.keys.append(key)
            secret.values[key], secret.key_lines[key] = value, key_line  # stringData wins, as in Kubernetes
    if not secret.keys:
        raise ConvertError(f"{where}: Secret {name} has no data or stringData keys: nothing to read from a store")
    return secret


def to_external_secret(secret: SourceSecret, store_kind: str, store_name: str, prefix: str = "",
                       refresh_interval: str = "1h", schema_annotation: str = "") -> dict:
    """The ExternalSecret that makes ESO write `secret` (same name, type, labels and annotations) from
    the store; `schema_annotation` (a schema object as JSON) goes on both, as jx did."""
    meta = {"name": secret.name}
    if secret.namespace:
        meta["namespace"] = secret.namespace
    if secret.labels:
        meta["labels"] = dict(secret.labels)
    template_meta = {}
    if secret.labels:
        template_meta["labels"] = dict(secret.labels)
    annotations = dict(secret.annotations)
    if schema_annotation:
        meta["annotations"] = {SCHEMA_ANNOTATION: schema_annotation}
        annotations[SCHEMA_ANNOTATION] = schema_annotation
    if annotations:
        template_meta["annotations"] = annotations
    target = {"name": secret.name, "creationPolicy": "Owner"}
    template = {}
    if secret.type:
        template["type"] = secret.type
    if template_meta:
        template["metadata"] = template_meta
    if template:
        target["template"] = template
    data = [{"secretKey": k, "remoteRef": {"key": store_path(secret.name, k, prefix), "property": k}}
            for k in secret.keys]
    return {"apiVersion": API_VERSION, "kind": "ExternalSecret", "metadata": meta,
            "spec": {"refreshInterval": refresh_interval, "secretStoreRef": {"kind": store_kind, "name": store_name},
                     "target": target, "data": data}}


def values_by_path(secrets: list[SourceSecret], prefix: str = "") -> dict[str, dict[str, str]]:
    """store path -> {property: value} of every Secret, for --populate. Raises ConvertError for a value
    that is not UTF-8 text, and for two Secrets that put different values at one path and property."""
    paths: dict[str, dict[str, str]] = {}
    origin: dict[tuple[str, str], str] = {}
    for s in secrets:
        for key in s.keys:
            where = f"{s.source}, line {s.key_lines[key]}"
            value = s.values[key]
            if value is None:
                raise ConvertError(f"{where}: data.{key} of Secret {s.name} is binary, not UTF-8 text: a Vault value "
                                   "is text; store it yourself (base64) with decodingStrategy: Base64")
            path = store_path(s.name, key, prefix)
            held = paths.setdefault(path, {})
            if key in held and held[key] != value:
                raise ConvertError(f"{where}: {key} of Secret {s.name} goes to store path {path}, property {key}, "
                                   f"as {origin[(path, key)]} does, with a different value")
            held[key] = value
            origin.setdefault((path, key), f"{s.source}, line {s.key_lines[key]}")
    return paths


def config_root_path(source: str, namespace: str, name: str) -> str:
    """Where Jenkins X keeps the ExternalSecret, relative to a config-root: `namespaces/<ns>/[<release>/]
    <name>-externalsecret.yaml`, the release folder kept when the Secret came from such a tree."""
    parts = source.replace("\\", "/").split("/")
    release = ""
    if len(parts) >= 4 and parts[-4] == "namespaces" and parts[-3] == namespace:
        release = parts[-2] + "/"
    return f"namespaces/{namespace}/{release}{name}-externalsecret.yaml"


def builtin_problems(manifest: dict) -> list[str]:
    """What ESO's CRD (v1) would refuse in an ExternalSecret we made, checked without a cluster."""
    problems = []
    meta, spec = manifest.get("metadata") or {}, manifest.get("spec") or {}
    name = str(meta.get("name") or "")
    if not NAME.match(name) or len(name) > 253:
        problems.append(f"metadata.name {name!r} is not a valid Kubernetes name")
    ref = spec.get("secretStoreRef") or {}
    if ref.get("kind") not in ("SecretStore", "ClusterSecretStore"):
        problems.append(f"spec.secretStoreRef.kind {ref.get('kind')!r}: want SecretStore or ClusterSecretStore")
    if not ref.get("name"):
        problems.append("spec.secretStoreRef.name is empty")
    seen = set()
    for i, entry in enumerate(spec.get("data") or []):
        key = str(entry.get("secretKey") or "")
        if not SECRET_KEY.match(key):
            problems.append(f"spec.data[{i}].secretKey {key!r} is not a valid Secret key")
        if key in seen:
            problems.append(f"spec.data[{i}].secretKey {key!r} is given twice")
        seen.add(key)
        if not (entry.get("remoteRef") or {}).get("key"):
            problems.append(f"spec.data[{i}].remoteRef.key is empty")
    return problems
