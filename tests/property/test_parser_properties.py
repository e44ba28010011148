"""Each parser of user input on generated text: a result, or its one documented error (which the commands
turn into `error: ...` and exit 1, or exit 2 for durations), never another exception."""

import json
import math

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from kubectl_jxsecret.errors import ConfigError, UsageError
from kubectl_jxsecret.kube import kubeconfig
from kubectl_jxsecret.model import schema, templates, transfer
from kubectl_jxsecret.model.duration import parse_duration

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(), TEXT)


def nested(keys=TEXT, leaves=SCALARS):
    return st.recursive(leaves, lambda children: st.one_of(st.lists(children, max_size=4),
                                                          st.dictionaries(keys, children, max_size=4)), max_leaves=12)


def as_yaml(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True, default_flow_style=False)


# ------------------------------------------------------------------------------------------ durations

DURATION_PARTS = st.lists(st.tuples(st.from_regex(r"\d{1,400}(\.\d{0,3})?", fullmatch=True),
                                    st.sampled_from(["", "h", "m", "s", "ms", "us", "d", " ", "-"])),
                          min_size=1, max_size=4).map(lambda parts: "".join(n + u for n, u in parts))


@given(text=st.one_of(TEXT, DURATION_PARTS))
@example(text="1" + "0" * 400)
@example(text="1" + "0" * 400 + "h")
def test_a_duration_is_finite_seconds_or_a_usage_error(cases, text):
    cases["durations"] += 1
    try:
        seconds = parse_duration(text, "--timeout")
    except UsageError as e:
        assert str(e).startswith("invalid value ") and "--timeout" in str(e)
        return
    assert math.isfinite(seconds) and seconds >= 0


# ------------------------------------------------------------------------------------------ templates

FUNCTION_WORDS = st.sampled_from([*templates.FUNCTIONS, *templates.KEYWORDS, "nosuch", ".Requirements.cluster.name",
                                  '"a"', '"a.b"', '"\\x"', '"\\N"', '"\\u12"', '"\\q"', "`raw`", "|", "-", "'c'",
                                  "/* c */", "(", ")", "$x", ":=", "1", "nil"])
ACTIONS = st.lists(st.one_of(FUNCTION_WORDS, TEXT), max_size=5).map(" ".join)
TEMPLATES = st.lists(st.one_of(TEXT, ACTIONS.map(lambda body: "{{" + body + "}}"),
                               ACTIONS.map(lambda body: "{{- " + body + " -}}"), st.sampled_from(["{{", "}}"])),
                     max_size=5).map("".join)


class Values(templates.Lookup):
    """Every lookup answers with one value (a canary): errors must never show it."""

    def __init__(self, value):
        self.value = value

    def secret(self, namespace, name, key):
        return self.value

    def extsecret(self, name, key):
        return self.value


@given(text=TEMPLATES, value=st.one_of(TEXT, st.just("aGVsbG8="), st.just("/w==")), data=nested())
@example(text='{{ secret "a.b" "k" | b64dec }}', value="/w==", data={})  # base64 of a byte that is not UTF-8
@example(text='{{ secret "a.b" "k" | b64dec }}', value="canary-not-base64!", data={})
@example(text='{{ "\\N" }}', value="", data={})
@example(text='{{ "\\x" | quote }}', value="", data={})
def test_a_template_renders_or_is_a_template_error_that_never_shows_a_value(cases, text, value, data):
    cases["templates"] += 1
    value = value + "-canary-7f3e"  # long enough to be told apart from the words of a message
    try:
        templates.render(text, Values(value), data if isinstance(data, dict) else {})
    except templates.TemplateError as e:
        assert value not in str(e)


@pytest.mark.parametrize("text", ['{{ "\\q" }}', '{{ "\\N" }}', '{{ "\\x" }}'])
def test_an_escape_go_does_not_know_is_a_template_error(text):
    """Found by the property above: Python read `\\q` as itself (with a DeprecationWarning) and failed on
    `\\N` with a SyntaxError; Go's text/template rejects all three when it parses the template."""
    with pytest.raises(templates.TemplateError, match="invalid string"):
        templates.parse_template(text)


# ------------------------------------------------------------------------------------------ secret schemas

PROPERTY_KEYS = st.one_of(st.sampled_from(schema.PROPERTY_FIELDS), TEXT)
PROPERTY_VALUES = st.one_of(SCALARS, st.sampled_from([*schema.GENERATORS, "[", "a{99999999999}", "(?P<x", "\\",
                                                     "{{ uuid }}", '{{ secret "a" "b" }}', "{{"]))
PROPERTIES = st.dictionaries(PROPERTY_KEYS, st.one_of(PROPERTY_VALUES, nested()), max_size=6)
OBJECTS = st.dictionaries(st.one_of(st.sampled_from(schema.OBJECT_FIELDS), TEXT),
                          st.one_of(SCALARS, st.lists(st.one_of(PROPERTIES, SCALARS), max_size=4), nested()),
                          max_size=4)


@given(raw=st.one_of(OBJECTS, nested()))
@example(raw={"properties": [{"name": "k", "pattern": "a{99999999999}"}]})
def test_an_annotation_schema_is_a_schema_object_or_a_schema_error(cases, raw):
    cases["schema annotation (JSON)"] += 1
    try:
        text = json.dumps(raw)
    except ValueError:
        return
    try:
        assert isinstance(schema.parse_annotation(text, "ExternalSecret ns/app"), schema.SchemaObject)
    except schema.SchemaError:
        pass


@given(text=st.one_of(TEXT, nested().map(json.dumps)))
@example(text="[" * 100_000)
def test_annotation_text_is_a_schema_object_or_a_schema_error(cases, text):
    cases["schema annotation (text)"] += 1
    try:
        schema.parse_annotation(text, "ExternalSecret ns/app")
    except schema.SchemaError:
        pass


SCHEMA_FILES = st.one_of(
    st.fixed_dictionaries({"apiVersion": st.sampled_from([schema.API_VERSION, "v1"]), "kind": st.just("Schema"),
                           "spec": st.one_of(st.fixed_dictionaries({"objects": st.lists(OBJECTS, max_size=3)}),
                                             nested())}).map(as_yaml),
    nested().map(as_yaml),
    TEXT,
    st.sampled_from(["? [a]\n: b\n", "a: &x [*x]\n", "a: !!python/object:os.system x\n", "<<: 1\n", "- " * 5000,
                     "[" * 100_000, "a: !!binary x\n", "a: 2001-01-01\n", "? {a: b}\n: c\n"]),
)


@given(text=SCHEMA_FILES)
@example(text="? []\n")
@example(text="[" * 100_000)
def test_a_schema_file_is_objects_or_a_schema_error(cases, text):
    cases["schema file (YAML)"] += 1
    try:
        found = schema.parse_file(text, "secret-schema.yaml")
    except schema.SchemaError as e:
        assert str(e).startswith("secret-schema.yaml")
        return
    assert all(isinstance(o, schema.SchemaObject) for o in found.values())


# ------------------------------------------------------------------------------------------ import files

IMPORT_FILES = st.one_of(
    st.dictionaries(TEXT, nested(), max_size=4).map(as_yaml),
    st.dictionaries(st.sampled_from(["secret", "secret/a", "/", "a/b/", ""]),
                    st.dictionaries(TEXT, st.one_of(TEXT, st.dictionaries(TEXT, SCALARS, max_size=3)), max_size=3),
                    max_size=3).map(as_yaml),
    TEXT,
    st.sampled_from(["a: &x {b: *x}\n", "a: &x [*x]\n", "secret:\n  a: &v x\n  b: *v\n", "? [a]\n: b\n",
                     "secret: {a: {b: " * 400 + "c" + "}" * 800, "[" * 100_000, "a: !custom x\n"]),
)


@given(text=IMPORT_FILES)
@example(text="a: &x {b: *x}\n")
@example(text="[" * 100_000)
def test_an_import_file_is_paths_of_values_or_a_layout_error(cases, text):
    cases["import file (YAML)"] += 1
    try:
        paths = transfer.parse(text, "secrets.yaml")
    except transfer.LayoutError as e:
        assert str(e).startswith("secrets.yaml")
        return
    assert all(isinstance(v, str) for values in paths.values() for v in values.values())


# ------------------------------------------------------------------------------------------ kubeconfig files

NAMED = st.fixed_dictionaries({"name": st.one_of(TEXT, SCALARS)},
                              optional={"cluster": nested(), "user": nested(), "context": nested()})
ENTRY_BODIES = st.dictionaries(st.sampled_from(["server", "certificate-authority", "client-certificate", "client-key",
                                                "tokenFile", "token", "exec", "namespace", "cluster", "user"]),
                               st.one_of(SCALARS, nested(), st.fixed_dictionaries({"command": SCALARS})), max_size=4)
KUBECONFIGS = st.one_of(
    st.fixed_dictionaries({}, optional={
        "clusters": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["c", "d"]), "cluster": ENTRY_BODIES}),
                             max_size=2),
        "users": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["u", "v"]), "user": ENTRY_BODIES}),
                          max_size=2),
        "contexts": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["x", "y"]), "context": st.one_of(
            st.fixed_dictionaries({"cluster": st.sampled_from(["c", "d"]), "user": st.sampled_from(["u", "v"])},
                                  optional={"namespace": SCALARS}), ENTRY_BODIES)}), max_size=2),
        "current-context": st.one_of(st.sampled_from(["x", "y"]), SCALARS, nested()),
    }).map(as_yaml),
    st.dictionaries(st.sampled_from(["clusters", "users", "contexts", "current-context"]),
                    st.one_of(nested(), st.lists(NAMED, max_size=2))).map(as_yaml),
    TEXT,
)


@given(content=st.one_of(KUBECONFIGS.map(str.encode), st.binary(max_size=40)))
@example(content=b"\xff\xfe: x\n")
@example(content=b"users: [{name: u, user: {client-key: 5}}]\n")
@example(content=b"users: [{name: u, user: {exec: {command: 5}}}]\n")
@example(content=b"clusters: [{name: c, cluster: {}}]\nusers: [{name: u, user: {}}]\n"
                 b"contexts: [{name: x, context: {cluster: c, user: u, namespace: 5}}]\ncurrent-context: x\n")
@example(content=b"[" * 100_000)
def test_a_kubeconfig_loads_or_is_a_config_error(tmp_path_factory, cases, content):
    cases["kubeconfig file"] += 1
    path = tmp_path_factory.mktemp("kubeconfig") / "config"
    path.write_bytes(content)
    try:
        kc = kubeconfig.load(kubeconfig_flag=str(path), env={}, home=str(path.parent))
    except ConfigError as e:
        assert str(e)
        return
    assert isinstance(kc.context, str) and isinstance(kc.namespace, str)
    assert isinstance(kc.cluster(), dict) and isinstance(kc.user(), dict)
