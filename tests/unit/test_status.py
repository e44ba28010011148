"""The populated-or-not decision, as a table of ExternalSecrets and Secrets."""

import pytest

from kubectl_jxsecret.model.externalsecret import Api, ExternalSecret, pick_apis, served_resources
from kubectl_jxsecret.model.status import State, evaluate, missing_keys, secret_summary


def eso(name="app", data=("a", "b"), ready=None, target=None, data_from=None, template=None, ns="jx"):
    spec = {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
            "data": [{"secretKey": k, "remoteRef": {"key": f"path/{k}"}} for k in data]}
    if target or template:
        spec["target"] = dict(target or {}, **({"template": template} if template else {}))
    if data_from:
        spec["dataFrom"] = data_from
    raw = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
           "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}"}, "spec": spec}
    if ready:
        status, reason, message = ready
        raw["status"] = {"conditions": [{"type": "Ready", "status": status, "reason": reason, "message": message}],
                         "refreshTime": "2026-11-28T10:00:00Z"}
    return ExternalSecret(raw)


def kes(data=("username", "password"), status=None):
    raw = {"apiVersion": "kubernetes-client.io/v1", "kind": "ExternalSecret",
           "metadata": {"name": "legacy", "namespace": "jx"},
           "spec": {"backendType": "vault", "data": [{"name": k, "key": "secret/data/x", "property": k} for k in data]}}
    if status:
        raw["status"] = {"status": status, "lastSync": "2026-11-28T10:00:00Z"}
    return ExternalSecret(raw)


SYNCED = ("True", "SecretSynced", "secret synced")
FAILED = ("False", "SecretSyncedError", "could not get secret data from provider")


@pytest.mark.parametrize("es, secret, state, missing", [
    # ESO
    (eso(ready=SYNCED), {"a": True, "b": True}, State.POPULATED, ()),
    (eso(), {"a": True, "b": True}, State.POPULATED, ()),  # complete even before the operator reports
    (eso(ready=SYNCED), {"a": True, "b": False}, State.KEYS_MISSING, ("b",)),  # empty value counts as missing
    (eso(ready=SYNCED), {"a": True}, State.KEYS_MISSING, ("b",)),
    (eso(ready=SYNCED), {}, State.KEYS_MISSING, ("a", "b")),
    (eso(ready=SYNCED), None, State.SECRET_MISSING, ("a", "b")),
    (eso(), None, State.UNKNOWN, ("a", "b")),  # no status, no Secret: nothing has happened yet
    (eso(ready=FAILED), None, State.SYNC_ERROR, ("a", "b")),
    (eso(ready=FAILED), {"a": True, "b": True}, State.STALE, ()),  # complete, but the operator cannot refresh it
    (eso(ready=FAILED), {"a": True, "b": False}, State.SYNC_ERROR, ("b",)),
    (eso(ready=("Unknown", "", "")), {"a": True, "b": True}, State.POPULATED, ()),
    # extra keys in the Secret do not matter
    (eso(ready=SYNCED, data=("a",)), {"a": True, "zzz": False}, State.POPULATED, ()),
    # dataFrom: the keys are whatever the store returns; each must be non-empty
    (eso(ready=SYNCED, data=(), data_from=[{"extract": {"key": "x"}}]), {"x": True, "y": False},
     State.KEYS_MISSING, ("y",)),
    (eso(ready=SYNCED, data=(), data_from=[{"extract": {"key": "x"}}]), {"x": True}, State.POPULATED, ()),
    (eso(ready=SYNCED, data=(), data_from=[{"extract": {"key": "x"}}]), {}, State.KEYS_MISSING, ()),
    # templates replace the keys unless they merge
    (eso(ready=SYNCED, template={"data": {"config.json": "{{ .a }}"}}), {"config.json": True}, State.POPULATED, ()),
    (eso(ready=SYNCED, template={"data": {"config.json": "{{ .a }}"}, "mergePolicy": "Merge"}),
     {"config.json": True, "a": True}, State.KEYS_MISSING, ("b",)),
    # legacy KES
    (kes(status="SUCCESS"), {"username": True, "password": True}, State.POPULATED, ()),
    (kes(status="SUCCESS"), {"username": True}, State.KEYS_MISSING, ("password",)),
    (kes(status="ERROR, key secret/data/x has no property password"), None, State.SYNC_ERROR,
     ("username", "password")),
    (kes(), None, State.UNKNOWN, ("username", "password")),
])
def test_evaluate(es, secret, state, missing):
    verdict = evaluate(es, secret)
    assert (verdict.state, verdict.missing_keys) == (state, missing)
    assert verdict.populated is (state in (State.POPULATED, State.STALE))


def test_reason_and_message_come_from_the_operator():
    v = evaluate(eso(ready=FAILED), None)
    assert (v.reason, v.message, v.refresh_time) == FAILED[1:] + ("2026-11-28T10:00:00Z",)
    legacy = evaluate(kes(status="ERROR, key secret/data/x has no property password"), None)
    assert (legacy.reason, legacy.message) == ("ERROR", "key secret/data/x has no property password")


UNREADABLE = "cannot list Secrets in namespace jx: forbidden"


@pytest.mark.parametrize("es, state", [
    (eso(ready=SYNCED), State.POPULATED),  # the operator's word: it synced
    (eso(ready=FAILED), State.SYNC_ERROR),
    (eso(), State.UNKNOWN),
    (kes(status="SUCCESS"), State.POPULATED),
])
def test_unreadable_secret_keeps_the_operators_verdict_and_says_so(es, state):
    v = evaluate(es, None, unreadable=UNREADABLE)
    assert (v.state, v.secret_readable, v.missing_keys) == (state, False, ())
    assert v.message == (f"{es.ready.message}; {UNREADABLE}" if es.ready and es.ready.message else UNREADABLE)


@pytest.mark.parametrize("raw, store, target, problem", [
    ({"spec": {"secretStoreRef": {"name": "vault"}}}, "SecretStore/vault", "es",
     "spec has neither data nor dataFrom (nor a template): there is nothing to sync"),  # kind defaults to SecretStore
    ({"spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "v"}, "target": {"name": "other"}}},
     "ClusterSecretStore/v", "other", "spec has neither data nor dataFrom (nor a template): there is nothing to sync"),
    ({}, "", "es", "it has no spec"),  # no spec at all: no crash
    ({"spec": "garbage"}, "", "es", "it has no spec"),
    ({"spec": {"data": "garbage", "target": 7}}, "", "es", "spec.data is not a list"),
    ({"apiVersion": "kubernetes-client.io/v1", "spec": {"data": "oops"}}, "", "es", "spec.data is not a list"),
    ({"apiVersion": "kubernetes-client.io/v1", "spec": {"backendType": "vault"}}, "vault", "es",
     "spec.data is empty: there is nothing to sync"),
])
def test_malformed_or_partial_specs_say_what_is_wrong(raw, store, target, problem):
    es = ExternalSecret({"apiVersion": "external-secrets.io/v1", "metadata": {"name": "es", "namespace": "n"}, **raw})
    assert (es.store, es.target_name) == (store, target)
    v = evaluate(es, None)
    assert (v.state, v.message) == (State.INVALID, problem)


def test_a_template_alone_is_a_spec():
    es = eso(ready=SYNCED, data=(), template={"data": {"greeting": "hello"}})
    assert evaluate(es, {"greeting": True}).state is State.POPULATED


def test_missing_values_say_where_they_belong():
    es = ExternalSecret({"apiVersion": "external-secrets.io/v1", "metadata": {"name": "app", "namespace": "jx"},
                         "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
                                  "data": [{"secretKey": "user", "remoteRef": {"key": "app", "property": "username"}},
                                           {"secretKey": "pass", "remoteRef": {"key": "app", "property": "password"}}]}})
    v = evaluate(es, {"user": True})
    assert v.to_dict()["missingAt"] == [{"secretKey": "pass", "store": "ClusterSecretStore/vault", "key": "app",
                                         "property": "password"}]


@pytest.mark.parametrize("secret, summary", [
    ({"data": {"a": "c2VjcmV0", "b": ""}}, {"a": True, "b": False}),
    ({"data": None}, {}),
    ({}, {}),
])
def test_secret_summary_only_knows_empty_or_not(secret, summary):
    assert secret_summary(secret) == summary


def test_missing_keys_keeps_spec_order():
    assert missing_keys(("z", "a", "m"), {"a": True}) == ("z", "m")


def discovery(*group_versions):
    items = {}
    for group, version, resources in group_versions:
        items.setdefault(group, []).append({"version": version, "resources": [{"resource": r} for r in resources]})
    return {"kind": "APIGroupDiscoveryList",
            "items": [{"metadata": {"name": g}, "versions": vs} for g, vs in items.items()]}


@pytest.mark.parametrize("doc, apis", [
    (discovery(("external-secrets.io", "v1", ["externalsecrets", "secretstores"]),
               ("external-secrets.io", "v1beta1", ["externalsecrets"])),
     [Api("external-secrets.io", "v1")]),
    # ExternalSecret only in v1beta1 although the group serves v1 for its stores
    (discovery(("external-secrets.io", "v1", ["secretstores"]), ("external-secrets.io", "v1beta1", ["externalsecrets"])),
     [Api("external-secrets.io", "v1beta1")]),
    (discovery(("external-secrets.io", "v1", ["externalsecrets"]), ("kubernetes-client.io", "v1", ["externalsecrets"])),
     [Api("external-secrets.io", "v1"), Api("kubernetes-client.io", "v1")]),
    (discovery(("kubernetes-client.io", "v1", ["externalsecrets"])), [Api("kubernetes-client.io", "v1")]),
    (discovery(("apps", "v1", ["deployments"])), []),
    ({}, []),
])
def test_pick_apis(doc, apis):
    assert pick_apis(served_resources(doc)) == apis


@pytest.mark.parametrize("annotation, mandatory", [
    ('{"mandatory": true}', True), ('{"name": "x", "mandatory": false}', False), ("", False), ("not json", False),
    ('["mandatory"]', False),
])
def test_mandatory_from_the_schema_annotation(annotation, mandatory):
    es = ExternalSecret({"metadata": {"annotations": {"secret.jenkins-x.io/schema-object": annotation}}})
    assert es.mandatory is mandatory
