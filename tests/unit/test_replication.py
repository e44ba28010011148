"""The replication plan: what a copy is, which namespaces get one, and what a run does per name."""

import pytest

from kubectl_jxsecret.model.replication import (
    HASH_ANNOTATION, SOURCE_ANNOTATION, Action, Environment, Target, content_hash, environment_targets,
    parse_context_for, plan_target, replica_of)

T = Target("jx-staging")


def secret(name, data, ns="jx", type="Opaque", labels=None, annotations=None, **meta):
    return {"apiVersion": "v1", "kind": "Secret", "type": type, "data": data,
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}, "annotations": annotations or {},
                         "resourceVersion": "7", **meta}}


def copy_of(source, **changes):
    held = replica_of(source, T.namespace)
    held["metadata"]["resourceVersion"] = "9"
    for key, value in changes.items():
        held[key] = value
    return held


SRC = secret("a", {"k": "djE="})
REPLICA_OF_OTHER = secret("a", {"k": "djE="}, ns="jx-staging", labels={"secret.jenkins-x.io/replica": "true"},
                          annotations={SOURCE_ANNOTATION: "other/a"})


@pytest.mark.parametrize("held, force, expected", [
    ({}, False, Action.CREATE),
    ({"a": copy_of(SRC)}, False, Action.UNCHANGED),
    ({"a": copy_of(SRC, data={"k": "djI="})}, False, Action.UPDATE),  # the copy was edited: its content drifted
    ({"a": copy_of(SRC, type="kubernetes.io/basic-auth")}, False, Action.UPDATE),
    ({"a": secret("a", {"k": "djE="}, ns="jx-staging")}, False, Action.SKIP_FOREIGN),
    ({"a": secret("a", {"k": "djE="}, ns="jx-staging")}, True, Action.UPDATE),
    ({"a": REPLICA_OF_OTHER}, False, Action.SKIP_FOREIGN),
    ({"a": REPLICA_OF_OTHER}, True, Action.UPDATE),
])
def test_plan_of_one_name(held, force, expected):
    [step] = plan_target(T, [SRC], held, "jx", force=force)
    assert step.action is expected


def test_an_update_writes_the_new_content_with_the_held_version_as_precondition():
    held = copy_of(SRC, data={"k": "b2xk"})
    held["metadata"]["labels"]["team"] = "a"
    [step] = plan_target(T, [SRC], {"a": held}, "jx")
    assert (step.body["data"], step.body["metadata"]["resourceVersion"]) == ({"k": "djE="}, "9")
    assert step.body["metadata"]["labels"] == {"team": "a", "secret.jenkins-x.io/replica": "true"}


@pytest.mark.parametrize("held, prune, expected", [
    ({"old": copy_of(secret("old", {}))}, True, [("a", Action.CREATE), ("old", Action.PRUNE)]),
    ({"old": copy_of(secret("old", {}))}, False, [("a", Action.CREATE)]),
    ({"old": copy_of(secret("old", {}, ns="elsewhere"))}, True, [("a", Action.CREATE)]),  # another source namespace
    ({"old": secret("old", {}, ns="jx-staging")}, True, [("a", Action.CREATE)]),  # not a replica: never pruned
])
def test_prune_deletes_only_owned_copies_of_this_source_namespace(held, prune, expected):
    steps = plan_target(T, [SRC], held, "jx", prune=prune)
    assert [(s.name, s.action) for s in steps] == expected


def test_a_copy_is_data_and_type_with_the_replica_marks_and_nothing_server_side():
    source = secret("a", {"k": "djE="}, type="kubernetes.io/dockerconfigjson",
                    labels={"secret.jenkins-x.io/replica-source": "true", "reconcile.external-secrets.io/managed": "true"},
                    annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                    uid="u", creationTimestamp="2026-01-01T00:00:00Z", managedFields=[{}],
                    ownerReferences=[{"kind": "ExternalSecret", "name": "a"}])
    assert replica_of(source, "jx-staging") == {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson", "data": {"k": "djE="},
        "metadata": {"name": "a", "namespace": "jx-staging", "labels": {"secret.jenkins-x.io/replica": "true"},
                     "annotations": {SOURCE_ANNOTATION: "jx/a", HASH_ANNOTATION: content_hash(source)}}}


@pytest.mark.parametrize("a, b, same", [
    (secret("a", {"x": "MQ==", "y": "Mg=="}), secret("b", {"y": "Mg==", "x": "MQ=="}), True),
    (secret("a", {"x": "MQ=="}), secret("a", {"x": "Mg=="}), False),
    (secret("a", {"x": "MQ=="}), secret("a", {"x": "MQ=="}, type="kubernetes.io/tls"), False),
    (secret("a", {}), {"metadata": {"name": "a"}}, True),  # no data and no type: an empty Opaque Secret
])
def test_content_hash(a, b, same):
    assert (content_hash(a) == content_hash(b)) is same


ENVS = [Environment("dev", "jx", "Development", False), Environment("staging", "jx-staging", "Permanent", False),
        Environment("production", "jx-production", "Permanent", False),
        Environment("remote", "jx-remote", "Permanent", True), Environment("preview", "pr-1", "Preview", False)]


@pytest.mark.parametrize("context_for, exclude, expected, notes", [
    ({}, set(), [Target("jx-production", None, "production"), Target("jx-staging", None, "staging")],
     ["Environment remote is on a remote cluster: skipped (reach it with --context-for remote=CONTEXT)"]),
    ({"remote": "far"}, {"jx-staging"},
     [Target("jx-production", None, "production"), Target("jx-remote", "far", "remote")], []),
    ({"staging": "other"}, set(), [Target("jx-production", None, "production"), Target("jx-staging", "other", "staging")],
     ["Environment remote is on a remote cluster: skipped (reach it with --context-for remote=CONTEXT)"]),
])
def test_targets_are_the_permanent_environments(context_for, exclude, expected, notes):
    assert environment_targets(ENVS, context_for, exclude, "jx") == (expected, notes)


@pytest.mark.parametrize("context_for, message", [
    ({"dev": "x"}, "--context-for dev: no Permanent Environment dev"),
    ({"nope": "x"}, "--context-for nope: no Permanent Environment nope"),
])
def test_context_for_must_name_a_permanent_environment(context_for, message):
    with pytest.raises(ValueError) as e:
        environment_targets(ENVS, context_for, set(), "jx")
    assert str(e.value) == message


@pytest.mark.parametrize("values, expected", [
    ([], {}),
    (["production=prod", "staging=a=b"], {"production": "prod", "staging": "a=b"}),
])
def test_parse_context_for(values, expected):
    assert parse_context_for(values) == expected


@pytest.mark.parametrize("value", ["production", "=prod", "production="])
def test_parse_context_for_refuses(value):
    with pytest.raises(ValueError) as e:
        parse_context_for([value])
    assert str(e.value) == f"--context-for {value}: expected ENVIRONMENT=CONTEXT"
