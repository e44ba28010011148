"""The Jenkins X secret schema: what each value of an ExternalSecret is, how it is asked for, generated
or templated, and which values are acceptable. One model for edit, populate and rotate.

A schema object comes from the ExternalSecret's `secret.jenkins-x.io/schema-object` annotation (JSON),
or from a `secret-schema.yaml` file (`kind: Schema`, `spec.objects[]`, object `name` = ExternalSecret
name). A malformed schema is one SchemaError naming the file (or the ExternalSecret), the line where
YAML gives one, and the field, as jx does (`spec.objects[0].properties[1].name`). Pure: callers read files.

Read as jx reads it (Go structs filled by a YAML/JSON unmarshal): a field it does not know is ignored (the
version stream writes `key:`, the store path, beside properties; jx never reads it), a known field of the
wrong type is an error. Both apiVersions of the version stream are accepted.
"""

import collections.abc
import functools
import json
import re
from typing import NamedTuple

from .externalsecret import SCHEMA_ANNOTATION, ExternalSecret

API_VERSION = "secret.jenkins-x.io/v1alpha1"
API_VERSIONS = (API_VERSION, "gitops.jenkins-x.io/v1alpha1")  # the version stream has both
GENERATORS = ("password", "hmac", "uuid", "gitOperator.username", "gitOperator.password")
TEXT = ("name", "question", "help", "defaultValue", "generator", "template", "pattern")
NUMBERS = ("minLength", "maxLength")
SWITCHES = ("onlyTemplateIfBlank", "retry", "noMask", "mask")
PROPERTY_FIELDS = TEXT + NUMBERS + SWITCHES  # any other field (requires, format, labels, key, ...) is ignored
OBJECT_FIELDS = ("name", "mandatory", "properties")


class SchemaError(ValueError):
    """A schema that cannot be used: the message names where (file and line, or ExternalSecret) and the field."""


class Property(NamedTuple):
    name: str  # the Secret key: the ExternalSecret's data[].secretKey
    question: str = ""
    help: str = ""
    default_value: str = ""
    generator: str = ""
    template: str = ""
    only_template_if_blank: bool = False
    min_length: int | None = None
    max_length: int | None = None
    pattern: str = ""
    retry: bool = False
    mask: bool = True

    def problem(self, value: str) -> str:
        """Why `value` is not acceptable ("" when it is). Never repeats the value."""
        if self.min_length is not None and len(value) < self.min_length:
            return f"is {len(value)} characters, fewer than minLength {self.min_length}"
        if self.max_length is not None and len(value) > self.max_length:
            return f"is {len(value)} characters, more than maxLength {self.max_length}"
        if self.pattern and not re.search(self.pattern, value):
            return f"does not match pattern {self.pattern}"
        return ""


class SchemaObject(NamedTuple):
    name: str = ""  # the ExternalSecret (and Secret) name; may be empty in an annotation
    mandatory: bool = False
    properties: tuple[Property, ...] = ()

    def property(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)


# ------------------------------------------------------------------------------------------ reading

class _Map(dict):
    """A YAML mapping that remembers the line (1-based) of itself and of each of its keys."""

    line: int | None = None
    lines: dict


@functools.cache
def _loader():
    """A SafeLoader whose maps remember their lines. Built on first use: PyYAML costs ~20 ms to import,
    and this module is on the path of `edit --help`."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def construct_map(loader, node):
        loader.flatten_mapping(node)
        found = _Map()
        found.line, found.lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, collections.abc.Hashable):  # `? [a]`: SafeLoader's own check, kept
                raise yaml.constructor.ConstructorError(None, None, "found an unhashable key", key_node.start_mark)
            found[key] = loader.construct_object(value_node, deep=True)
            found.lines[key] = key_node.start_mark.line + 1
        return found

    Loader.add_constructor("tag:yaml.org,2002:map", construct_map)
    return Loader


def parse_file(text: str, source: str) -> dict[str, SchemaObject]:
    """The objects of a `secret-schema.yaml`, by name."""
    import yaml

    try:
        root = yaml.load(text, Loader=_loader())  # noqa: S506 (a SafeLoader subclass)
    except RecursionError:
        raise SchemaError(f"{source}: not valid YAML: nested too deeply") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}" if mark else source
        raise SchemaError(f"{where}: not valid YAML: {getattr(e, 'problem', None) or e}") from None
    if not isinstance(root, dict):
        raise SchemaError(f"{source}: expected a Schema (apiVersion {API_VERSION}, kind Schema)")
    for key, wanted in (("apiVersion", API_VERSIONS), ("kind", ("Schema",))):
        if root.get(key) not in wanted:
            raise SchemaError(f"{_where(source, root, key)}: {key}: expected {' or '.join(wanted)}, got "
                              f"{_shown(root.get(key))}")
    spec = root.get("spec")
    if not isinstance(spec, dict):
        raise SchemaError(f"{_where(source, root, 'spec')}: spec: expected a map with objects")
    objects = spec.get("objects")
    if not isinstance(objects, list):
        raise SchemaError(f"{_where(source, spec, 'objects')}: spec.objects: expected a list")
    found: dict[str, SchemaObject] = {}
    for i, raw in enumerate(objects):
        obj = _object(raw, source, f"spec.objects[{i}]", spec, "objects", name_required=True)
        if obj.name in found:
            raise SchemaError(f"{_where(source, raw, 'name')}: spec.objects[{i}].name: {obj.name!r} twice")
        found[obj.name] = obj
    return found


def parse_annotation(text: str, source: str) -> SchemaObject:
    """The object of a `secret.jenkins-x.io/schema-object` annotation (JSON). `source` names the ExternalSecret."""
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise SchemaError(f"{source}: not valid JSON: {e}") from None
    except RecursionError:
        raise SchemaError(f"{source}: not valid JSON: nested too deeply") from None
    return _object(raw, source, "", None, None, name_required=False)


def _object(raw, source: str, path: str, parent, key, name_required: bool) -> SchemaObject:
    at = (path + "." if path else "")
    if not isinstance(raw, dict):
        raise SchemaError(f"{_where(source, parent, key)}: {path or 'schema'}: expected a map")
    name = _text(raw, "name", source, at)
    if name_required and not name:
        raise SchemaError(f"{_where(source, raw, 'name')}: {at}name: required")
    mandatory = _switch(raw, "mandatory", source, at)
    props = raw.get("properties")
    if props is None:
        props = []
    if not isinstance(props, list):
        raise SchemaError(f"{_where(source, raw, 'properties')}: {at}properties: expected a list")
    properties, seen = [], set()
    for i, prop in enumerate(props):
        p = _property(prop, source, f"{at}properties[{i}]", raw)
        if p.name in seen:
            raise SchemaError(f"{_where(source, prop, 'name')}: {at}properties[{i}].name: {p.name!r} twice")
        seen.add(p.name)
        properties.append(p)
    return SchemaObject(name, mandatory, tuple(properties))


def _property(raw, source: str, path: str, parent) -> Property:
    at = path + "."
    if not isinstance(raw, dict):
        where = f"{source}, line {parent.lines['properties'] + 1}" if isinstance(parent, _Map) else source
        raise SchemaError(f"{where}: {path}: expected a map")
    text = {k: _text(raw, k, source, at) for k in TEXT}
    if not text["name"]:
        raise SchemaError(f"{_where(source, raw, 'name')}: {at}name: required")
    lengths = {k: _number(raw, k, source, at) for k in NUMBERS}
    if lengths["minLength"] is not None and lengths["maxLength"] is not None \
            and lengths["minLength"] > lengths["maxLength"]:
        raise SchemaError(f"{_where(source, raw, 'minLength')}: {at}minLength: {lengths['minLength']} is more than "
                          f"maxLength {lengths['maxLength']}")
    if text["generator"] and text["generator"] not in GENERATORS:
        raise SchemaError(f"{_where(source, raw, 'generator')}: {at}generator: unknown generator "
                          f"{text['generator']!r} (known: {', '.join(GENERATORS)})")
    if text["generator"] == "password" and (lengths["maxLength"] or lengths["minLength"] or 20) < 4:
        raise SchemaError(f"{_where(source, raw, 'generator')}: {at}generator: a password needs maxLength (or "
                          "minLength) of at least 4")
    if text["pattern"]:
        try:
            re.compile(text["pattern"])
        except (re.error, OverflowError, RecursionError) as e:  # `a{99999999999}`, 1000 nested groups
            raise SchemaError(f"{_where(source, raw, 'pattern')}: {at}pattern: not a regular expression: {e}") from None
    if text["template"]:
        from .templates import TemplateError, parse_template  # the template engine only when a schema has one

        try:
            parse_template(text["template"])
        except TemplateError as e:
            raise SchemaError(f"{_where(source, raw, 'template')}: {at}template: {e}") from None
    switches = {k: _switch(raw, k, source, at) for k in SWITCHES}
    # jx's quirk: YAML says `mask`, JSON says `noMask`; either may turn masking off.
    mask = not switches["noMask"] and (raw.get("mask") is None or switches["mask"])
    return Property(text["name"], text["question"], text["help"], text["defaultValue"], text["generator"],
                    text["template"], switches["onlyTemplateIfBlank"], lengths["minLength"], lengths["maxLength"],
                    text["pattern"], switches["retry"], mask)


def _where(source: str, mapping, key) -> str:
    """`source, line N` where the YAML says where `key` of `mapping` is (or the mapping itself), else `source`."""
    if isinstance(mapping, _Map):
        line = mapping.lines.get(key, mapping.line)
        return f"{source}, line {line}"
    return source


def _shown(value) -> str:
    return "nothing" if value is None else repr(value)


def _text(raw: dict, key: str, source: str, at: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SchemaError(f"{_where(source, raw, key)}: {at}{key}: expected a string, got {type(value).__name__} "
                          "(quote it)")
    return value


def _number(raw: dict, key: str, source: str, at: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SchemaError(f"{_where(source, raw, key)}: {at}{key}: expected a whole number >= 0, got {value!r}")
    return value


def _switch(raw: dict, key: str, source: str, at: str) -> bool:
    value = raw.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise SchemaError(f"{_where(source, raw, key)}: {at}{key}: expected true or false, got {value!r}")
    return value


# ------------------------------------------------------------------------------------------ finding

def annotation_schema(es: ExternalSecret) -> SchemaObject | None:
    """The schema of `es`'s `secret.jenkins-x.io/schema-object` annotation; None without one.
    Raises SchemaError (naming the ExternalSecret and the field) when it is malformed."""
    if not es.schema_annotation:
        return None
    return parse_annotation(es.schema_annotation, f"ExternalSecret {es.namespace}/{es.name}: annotation "
                                                  f"{SCHEMA_ANNOTATION}")


CHART_VERSION = re.compile(r"-v?(\d+\.\d+\.\d+[^/]*)$")  # the end of Helm's `helm.sh/chart` label


def chart_of(labels: dict, annotations: dict) -> str:
    """The chart that owns an object, from Helm's labels: `helm.sh/chart` without its version
    (`nexus-0.1.38` -> `nexus`), else the release name (`meta.helm.sh/release-name`); "" when neither."""
    chart = str(labels.get("helm.sh/chart") or "")
    if chart:
        return CHART_VERSION.sub("", chart)
    return str(annotations.get("meta.helm.sh/release-name") or "")


def chart_version_of(labels: dict) -> str:
    """The chart's version in Helm's `helm.sh/chart` label (`nexus-0.1.38` and `nexus-v0.1.38` -> `0.1.38`);
    "" without one."""
    found = CHART_VERSION.search(str(labels.get("helm.sh/chart") or ""))
    return found.group(1) if found else ""
