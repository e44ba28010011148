"""What edit asks for (model.questions): each store value once, worded by the Jenkins X schema."""

import json

import pytest

from kubectl_jxsecret.model.externalsecret import ExternalSecret
from kubectl_jxsecret.model.plan import Destination, StoreRef, refs_of
from kubectl_jxsecret.model.questions import Question, questions, wanted
from kubectl_jxsecret.model.schema import Property, SchemaError, annotation_schema

VAULT = StoreRef("ClusterSecretStore", "vault")


def es(name, data, schema=None, ns="jx"):
    meta = {"name": name, "namespace": ns}
    if schema is not None:
        meta["annotations"] = {"secret.jenkins-x.io/schema-object": schema if isinstance(schema, str)
                               else json.dumps(schema)}
    return ExternalSecret({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": meta,
                           "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
                                    "data": [{"secretKey": k, "remoteRef": {"key": key, "property": p}}
                                             for k, key, p in data]}})


def ask(*externalsecrets, current=None, only_missing=False):
    return questions([(e, refs_of(e)[0]) for e in externalsecrets], current or {}, only_missing)


@pytest.mark.parametrize("schema, expected", [
    (None, None),
    ({"mandatory": True}, ()),
    ({"properties": [{"name": "password", "question": "Q"}]}, (Property("password", "Q"),)),
])
def test_annotation_schema(schema, expected):
    found = annotation_schema(es("app", [], schema))
    assert (found.properties if found else None) == expected


@pytest.mark.parametrize("schema, error", [
    ("not json", "ExternalSecret jx/app: annotation secret.jenkins-x.io/schema-object: not valid JSON: "
                 "Expecting value: line 1 column 1 (char 0)"),
    ('["a list"]', "ExternalSecret jx/app: annotation secret.jenkins-x.io/schema-object: schema: expected a map"),
    ({"properties": "nope"}, "ExternalSecret jx/app: annotation secret.jenkins-x.io/schema-object: properties: "
                             "expected a list"),
    ({"properties": [{"question": "no name"}]}, "ExternalSecret jx/app: annotation "
                                                "secret.jenkins-x.io/schema-object: properties[0].name: required"),
])
def test_a_malformed_annotation_is_an_error_naming_the_externalsecret(schema, error):
    with pytest.raises(SchemaError) as e:
        ask(es("app", [("k", "p", "v")], schema))
    assert str(e.value) == error


def test_the_schema_property_rules_the_answer():
    schema = {"properties": [{"name": "pass", "question": "Q", "minLength": 8, "pattern": "^[a-z0-9]+$"}]}
    [q] = ask(es("nexus", [("pass", "nexus", "password")], schema))
    assert [q.problem(v) for v in ("short", "UPPERCASE1", "lowercase1")] == [
        "is 5 characters, fewer than minLength 8", "does not match pattern ^[a-z0-9]+$", ""]


def test_one_question_per_value_in_spec_order_named_after_the_secret_key():
    asked = ask(es("nexus", [("pass", "nexus", "password"), ("user", "nexus", "username")]))
    assert [(q.name, q.message, q.property, q.destination) for q in asked] == [
        ("jx/nexus.pass", "jx/nexus.pass", "password", Destination(VAULT, "nexus")),
        ("jx/nexus.user", "jx/nexus.user", "username", Destination(VAULT, "nexus"))]


def test_the_schema_gives_question_and_help_by_secret_key():
    schema = {"properties": [{"name": "pass", "question": "Nexus admin password", "help": "the admin user"}]}
    [password, user] = ask(es("nexus", [("pass", "nexus", "password"), ("user", "nexus", "username")], schema))
    assert (password.message, password.help) == ("Nexus admin password", "the admin user")
    assert (user.message, user.help) == ("jx/nexus.user", "")


@pytest.mark.parametrize("prop, current, default, mask", [
    ({"name": "user", "question": "Q", "defaultValue": "admin"}, None, "admin", True),
    ({"name": "user", "question": "Q", "defaultValue": "admin"}, {"username": "someone"}, "", True),  # Enter keeps it
    ({"name": "user", "question": "Q", "noMask": True}, None, "", False),
    ({"name": "user", "question": "Q", "mask": False, "defaultValue": "x"}, None, "x", False),
    ({"name": "other", "question": "Q", "defaultValue": "admin", "noMask": True}, None, "", True),  # not this value
])
def test_the_schema_default_and_no_mask(prop, current, default, mask):
    """A value the store lacks is offered its schema defaultValue; a set one never is (Enter keeps it)."""
    [q] = ask(es("docker", [("user", "docker", "username")], {"properties": [prop]}),
              current={Destination(VAULT, "docker"): current})
    assert (q.default, q.mask) == (default, mask)


def test_a_value_read_twice_is_asked_once_in_the_words_of_the_richest_schema():
    plain = es("a-plain", [("token", "shared", "token")])
    rich = es("b-rich", [("hmac", "shared", "token"), ("other", "x", "y")],
              {"properties": [{"name": "hmac", "question": "HMAC token"}, {"name": "other", "question": "?"}]},
              ns="jx-staging")
    twice = es("c-twice", [("t1", "shared", "token"), ("t2", "shared", "token")])
    [shared, other] = ask(plain, rich, twice)
    assert (shared.name, shared.message) == ("jx-staging/b-rich.hmac", "HMAC token")
    assert shared.readers == ("jx/a-plain", "jx-staging/b-rich", "jx/c-twice")
    assert other.name == "jx-staging/b-rich.other"


def test_without_any_schema_the_first_reader_names_it():
    [q] = ask(es("b", [("k", "p", "v")]), es("a", [("k2", "p", "v")]))
    assert q.name == "jx/b.k"


@pytest.mark.parametrize("current, only_missing, expected", [
    ({}, True, [("password", "not set"), ("username", "not set")]),
    ({Destination(VAULT, "nexus"): None}, True, [("password", "not set"), ("username", "not set")]),
    # An empty value is no value.
    ({Destination(VAULT, "nexus"): {"username": "admin", "password": ""}}, True, [("password", "not set")]),
    ({Destination(VAULT, "nexus"): {"username": "admin", "password": "x"}}, True, []),
    ({Destination(VAULT, "nexus"): {"username": "admin"}}, False, [("password", "not set"), ("username", "set")]),
])
def test_what_the_store_holds_decides_what_is_missing(current, only_missing, expected):
    asked = ask(es("nexus", [("pass", "nexus", "password"), ("user", "nexus", "username")]), current=current,
                only_missing=only_missing)
    assert [(q.property, q.status) for q in asked] == expected


def test_answers_are_grouped_per_store_path():
    a, b = Destination(VAULT, "a"), Destination(VAULT, "b")
    answers = {Question(a, "x", "n1", "m"): "1", Question(b, "y", "n2", "m"): "2", Question(a, "z", "n3", "m"): "3"}
    assert wanted(answers) == {a: {"x": "1", "z": "3"}, b: {"y": "2"}}
