"""A new ESO `external-secrets.io/v1` ExternalSecret, for `kubectl jxsecret new`: one store path, a data[]
entry per Secret key, and (when a secret schema describes it) the schema in the annotation populate,
edit and rotate read. Pure: the command prints or writes what this returns.
"""

import json

from .externalsecret import SCHEMA_ANNOTATION
from .schema import Property, SchemaObject

API_VERSION = "external-secrets.io/v1"


def property_json(p: Property) -> dict:
    """A schema property as jx writes it in the annotation (JSON names; what is unset left out)."""
    fields = {"name": p.name, "question": p.question, "help": p.help, "defaultValue": p.default_value,
              "generator": p.generator, "template": p.template, "onlyTemplateIfBlank": p.only_template_if_blank,
              "minLength": p.min_length, "maxLength": p.max_length, "pattern": p.pattern, "retry": p.retry,
              "noMask": not p.mask}
    return {k: v for k, v in fields.items() if v is not None and v is not False and v != ""}


def schema_json(schema: SchemaObject) -> str:
    body = {"name": schema.name} if schema.name else {}
    if schema.mandatory:
        body["mandatory"] = True
    body["properties"] = [property_json(p) for p in schema.properties]
    return json.dumps(body, separators=(",", ":"))


def parse_data(spec: str) -> tuple[str, str]:
    """`--data KEY[=PROPERTY]` -> (secretKey, property). Raises ValueError."""
    key, _, prop = spec.partition("=")
    if not key or (_ and not prop):
        raise ValueError(f"--data {spec}: expected KEY or KEY=PROPERTY")
    return key, prop or key


def external_secret(name: str, namespace: str, store_kind: str, store_name: str, key: str,
                    data: list[tuple[str, str]], schema: SchemaObject | None = None,
                    refresh_interval: str = "1h") -> dict:
    """The ExternalSecret: `data` ((secretKey, property) pairs) first, then the schema's other properties
    (property = secretKey), all read from store path `key`."""
    entries = list(dict(data).items())
    for p in (schema.properties if schema else ()):
        if p.name not in dict(entries):
            entries.append((p.name, p.name))
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if schema is not None:
        meta["annotations"] = {SCHEMA_ANNOTATION: schema_json(schema)}
    return {"apiVersion": API_VERSION, "kind": "ExternalSecret", "metadata": meta,
            "spec": {"refreshInterval": refresh_interval,
                     "secretStoreRef": {"kind": store_kind, "name": store_name},
                     "target": {"name": name, "creationPolicy": "Owner"},
                     "data": [{"secretKey": k, "remoteRef": {"key": key, "property": p}} for k, p in entries]}}
