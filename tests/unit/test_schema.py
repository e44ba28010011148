"""The secret schema model (model.schema): secret-schema.yaml files, annotations, errors with lines, value rules."""

import textwrap

import pytest

from kubectl_jxsecret.model.schema import (Property, SchemaError, SchemaObject, chart_of, chart_version_of,
                                           parse_annotation, parse_file)

HEAD = "apiVersion: secret.jenkins-x.io/v1alpha1\nkind: Schema\nspec:\n  objects:\n"


def schema_file(objects: str) -> str:
    return HEAD + textwrap.indent(textwrap.dedent(objects), "  ")


def test_a_file_with_every_field():
    text = schema_file("""\
        - name: jenkins-x-chartmuseum
          mandatory: true
          properties:
          - name: BASIC_AUTH_USER
            question: chartmuseum user
            help: the user name
            defaultValue: admin
          - name: BASIC_AUTH_PASS
            question: chartmuseum password
            generator: password
            minLength: 10
            maxLength: 41
            pattern: "^[^ ]+$"
            mask: true
          - name: settings.xml
            template: '<password>{{ extsecret "nexus" "password" }}</password>'
            onlyTemplateIfBlank: true
            retry: true
            noMask: true
            requires: ignored
            format: ignored
            labels: {kind: confirm}
        - name: other
        """)
    assert parse_file(text, "s.yaml") == {
        "jenkins-x-chartmuseum": SchemaObject("jenkins-x-chartmuseum", True, (
            Property("BASIC_AUTH_USER", "chartmuseum user", "the user name", default_value="admin"),
            Property("BASIC_AUTH_PASS", "chartmuseum password", generator="password", min_length=10, max_length=41,
                     pattern="^[^ ]+$"),
            Property("settings.xml", template='<password>{{ extsecret "nexus" "password" }}</password>',
                     only_template_if_blank=True, retry=True, mask=False))),
        "other": SchemaObject("other")}


@pytest.mark.parametrize("objects, error", [
    ("- name: a\n  properties:\n  - name: p\n    maxLength: '41'\n",
     "line 8: spec.objects[0].properties[0].maxLength: expected a whole number >= 0, got '41'"),
    ("- name: a\n  properties:\n  - name: p\n    minLength: -1\n",
     "line 8: spec.objects[0].properties[0].minLength: expected a whole number >= 0, got -1"),
    ("- name: a\n  properties:\n  - name: p\n    minLength: 9\n    maxLength: 8\n",
     "line 8: spec.objects[0].properties[0].minLength: 9 is more than maxLength 8"),
    ("- name: a\n  properties:\n  - question: no name\n",
     "line 7: spec.objects[0].properties[0].name: required"),
    ("- mandatory: true\n", "line 5: spec.objects[0].name: required"),
    ("- name: a\n- name: a\n", "line 6: spec.objects[1].name: 'a' twice"),
    ("- name: a\n  properties:\n  - name: p\n  - name: p\n", "line 8: spec.objects[0].properties[1].name: 'p' twice"),
    ("- name: a\n  properties:\n  - name: p\n    generator: pasword\n",
     "line 8: spec.objects[0].properties[0].generator: unknown generator 'pasword' (known: password, hmac, uuid, "
     "gitOperator.username, gitOperator.password)"),
    ("- name: a\n  properties:\n  - name: p\n    pattern: '[a-'\n",
     "line 8: spec.objects[0].properties[0].pattern: not a regular expression: unterminated character set at "
     "position 0"),
    ("- name: a\n  properties:\n  - name: p\n    template: '{{ lookup \"x\" }}'\n",
     "line 8: spec.objects[0].properties[0].template: unknown function 'lookup' (supported: secret, extsecret, auth, "
     "extauth, htpasswdSecret, htpasswdExtSecret, b64enc, b64dec, quote, squote, trim, lower, upper, and, or, not, "
     "eq, ne, lt, le, gt, ge, default, empty, hasKey, contains, fromJson)"),
    ("- name: a\n  properties:\n  - name: p\n    template: '{{ if .x }}y'\n",
     "line 8: spec.objects[0].properties[0].template: {{ end }} missing: a block is not closed"),
    ("- name: a\n  properties:\n  - name: p\n    key: [not, a, string]\n    question: 7\n",
     "line 9: spec.objects[0].properties[0].question: expected a string, got int (quote it)"),
    ("- name: a\n  properties:\n  - name: p\n    defaultValue: 8080\n",
     "line 8: spec.objects[0].properties[0].defaultValue: expected a string, got int (quote it)"),
    ("- name: a\n  properties:\n  - name: p\n    onlyTemplateIfBlank: yes please\n",
     "line 8: spec.objects[0].properties[0].onlyTemplateIfBlank: expected true or false, got 'yes please'"),
    ("- name: a\n  properties:\n  - name: p\n    generator: password\n    maxLength: 3\n",
     "line 8: spec.objects[0].properties[0].generator: a password needs maxLength (or minLength) of at least 4"),
    ("- name: a\n  properties: {name: p}\n", "line 6: spec.objects[0].properties: expected a list"),
    ("- name: a\n  properties:\n  - just a string\n", "line 7: spec.objects[0].properties[0]: expected a map"),
    ("- name: a\n  properties:\n  - name: p\n   bad: indent\n", "line 8: not valid YAML: expected <block end>, "
                                                                 "but found '<block mapping start>'"),
])
def test_errors_name_the_file_the_line_and_the_field(objects, error):
    with pytest.raises(SchemaError) as e:
        parse_file(HEAD + textwrap.indent(objects, "  "), "charts/jx/nexus/secret-schema.yaml")
    assert str(e.value) == f"charts/jx/nexus/secret-schema.yaml, {error}"


@pytest.mark.parametrize("text, error", [
    ("", "s.yaml: expected a Schema (apiVersion secret.jenkins-x.io/v1alpha1, kind Schema)"),
    ("apiVersion: v1\nkind: Schema\n", "s.yaml, line 1: apiVersion: expected secret.jenkins-x.io/v1alpha1 or "
                                     "gitops.jenkins-x.io/v1alpha1, got 'v1'"),
    ("apiVersion: secret.jenkins-x.io/v1alpha1\n", "s.yaml, line 1: kind: expected Schema, got nothing"),
    ("apiVersion: secret.jenkins-x.io/v1alpha1\nkind: Schema\nspec: []\n",
     "s.yaml, line 3: spec: expected a map with objects"),
    ("apiVersion: secret.jenkins-x.io/v1alpha1\nkind: Schema\nspec:\n  objects: {}\n",
     "s.yaml, line 4: spec.objects: expected a list"),
])
def test_the_document_itself(text, error):
    with pytest.raises(SchemaError) as e:
        parse_file(text, "s.yaml")
    assert str(e.value) == error


@pytest.mark.parametrize("api_version", ["secret.jenkins-x.io/v1alpha1", "gitops.jenkins-x.io/v1alpha1"])
def test_fields_jx_does_not_read_are_ignored_as_jx_ignores_them(api_version):
    """The version stream writes `key:` (the store path) beside properties; jx's Go structs have no such field,
    so its YAML unmarshal drops it, and any other unknown field, at every level."""
    text = (f"apiVersion: {api_version}\nkind: Schema\nmetadata: {{name: x}}\nspec:\n  extra: 1\n  objects:\n"
            "  - name: tekton-git\n    mandatory: true\n    owner: someone\n    properties:\n"
            "    - name: username\n      key: secret/data/jx/pipelineUser\n      genrator: password\n"
            "      requires: x\n      format: y\n      labels: {kind: confirm}\n"
            "      generator: gitOperator.username\n")
    assert parse_file(text, "s.yaml") == {"tekton-git": SchemaObject("tekton-git", True, (
        Property("username", generator="gitOperator.username"),))}
    annotation = '{"mandatory": true, "x": 1, "properties": [{"name": "token", "key": "k", "noMask": true}]}'
    assert parse_annotation(annotation, "es") == SchemaObject("", True, (Property("token", mask=False),))


@pytest.mark.parametrize("text, error", [
    ('{"properties": [{"name": "p", "maxLength": "x"}]}', "es: properties[0].maxLength: expected a whole number >= 0, "
                                                         "got 'x'"),
    ('{"mandatory": "yes"}', "es: mandatory: expected true or false, got 'yes'"),
    ('{"properties": [{"name": "p"}', "es: not valid JSON: Expecting ',' delimiter: line 1 column 30 (char 29)"),
])
def test_annotation_errors_name_the_source_and_the_field(text, error):
    with pytest.raises(SchemaError) as e:
        parse_annotation(text, "es")
    assert str(e.value) == error


@pytest.mark.parametrize("mask_fields, masked", [
    ({}, True), ({"mask": True}, True), ({"mask": False}, False), ({"noMask": True}, False), ({"noMask": False}, True)])
def test_mask_and_no_mask_are_both_understood(mask_fields, masked):
    import json

    [prop] = parse_annotation(json.dumps({"properties": [{"name": "p", **mask_fields}]}), "es").properties
    assert prop.mask is masked


@pytest.mark.parametrize("prop, value, problem", [
    (Property("p", min_length=3), "ab", "is 2 characters, fewer than minLength 3"),
    (Property("p", min_length=3), "abc", ""),
    (Property("p", max_length=3), "abcd", "is 4 characters, more than maxLength 3"),
    (Property("p", pattern="^[0-9]+$"), "12a", "does not match pattern ^[0-9]+$"),
    (Property("p", pattern="[0-9]"), "a1b", ""),  # unanchored, as JSON Schema's pattern
    (Property("p"), "", ""),
])
def test_value_rules(prop, value, problem):
    assert prop.problem(value) == problem


@pytest.mark.parametrize("labels, annotations, chart", [
    ({"helm.sh/chart": "nexus-0.1.38"}, {}, "nexus"),
    ({"helm.sh/chart": "jx-build-controller-v1.2.3-rc1"}, {}, "jx-build-controller"),
    ({}, {"meta.helm.sh/release-name": "lighthouse"}, "lighthouse"),
    ({"helm.sh/chart": "tekton-0.1.0"}, {"meta.helm.sh/release-name": "other"}, "tekton"),
    ({}, {}, ""),
])
def test_chart_of(labels, annotations, chart):
    assert chart_of(labels, annotations) == chart


@pytest.mark.parametrize("labels, version", [
    ({"helm.sh/chart": "nexus-0.1.38"}, "0.1.38"),
    ({"helm.sh/chart": "jx-build-controller-v1.2.3-rc1"}, "1.2.3-rc1"),
    ({"helm.sh/chart": "nexus"}, ""),
    ({}, ""),
])
def test_chart_version_of(labels, version):
    assert chart_version_of(labels) == version
