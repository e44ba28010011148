"""Where an ExternalSecret's values live (model.plan.refs_of, destinations_of) and what a write changes."""

import pytest

from kubectl_jxsecret.model.externalsecret import ExternalSecret
from kubectl_jxsecret.model.plan import Change, Destination, StoreRef, destinations_of, plan, refs_of, summary

VAULT = StoreRef("ClusterSecretStore", "vault")
LOCAL = StoreRef("SecretStore", "local", "jx")


def es(spec, api_version="external-secrets.io/v1"):
    return ExternalSecret({"apiVersion": api_version, "metadata": {"name": "app", "namespace": "jx"}, "spec": spec})


def data(secret_key, key, prop=None, **extra):
    return {"secretKey": secret_key, "remoteRef": {"key": key, **({"property": prop} if prop else {})}, **extra}


CLUSTER_REF = {"kind": "ClusterSecretStore", "name": "vault"}


@pytest.mark.parametrize("spec, refs, reasons", [
    ({"secretStoreRef": CLUSTER_REF, "data": [data("user", "app", "username"), data("pass", "app", "password")]},
     [(VAULT, "app", "username", "user"), (VAULT, "app", "password", "pass")], []),
    # A SecretStore is the ExternalSecret's namespace's; kind defaults to SecretStore, as in ESO.
    ({"secretStoreRef": {"name": "local"}, "data": [data("k", "x", "p")]}, [(LOCAL, "x", "p", "k")], []),
    # A data entry may name its own store.
    ({"secretStoreRef": CLUSTER_REF, "data": [data("k", "x", "p", sourceRef={"storeRef": {"name": "local"}})]},
     [(LOCAL, "x", "p", "k")], []),
    ({"secretStoreRef": CLUSTER_REF, "data": [data("k", "x")]},
     [], ["spec.data[0] reads the whole secret at x (no property)"]),
    ({"data": [data("k", "x", "p")]}, [], ["spec.data[0] names no store"]),
    ({"secretStoreRef": CLUSTER_REF, "data": [{"secretKey": "k"}]}, [], ["spec.data[0] has no remoteRef.key or secretKey"]),
    ({"secretStoreRef": CLUSTER_REF, "dataFrom": [{"extract": {"key": "x"}}]},
     [], ["spec.dataFrom[0] (extract): its properties are whatever the store holds; write them with import"]),
    ({"secretStoreRef": CLUSTER_REF, "data": "oops"}, [], []),  # malformed: nothing, no crash
])
def test_refs_of(spec, refs, reasons):
    found, unwritable = refs_of(es(spec))
    assert [(r.destination.store, r.destination.key, r.property, r.secret_key) for r in found] == refs
    assert [u.reason for u in unwritable] == reasons


def test_legacy_objects_name_no_store():
    found, [unwritable] = refs_of(es({"backendType": "vault", "data": [{"name": "k", "key": "secret/data/x"}]},
                                     "kubernetes-client.io/v1"))
    assert (found, unwritable.reason) == ([], "legacy kubernetes-client.io ExternalSecret: it names no store")


def test_destinations_include_datafrom_extract_once_each():
    spec = {"secretStoreRef": CLUSTER_REF, "data": [data("a", "x", "p"), data("b", "x", "q")],
            "dataFrom": [{"extract": {"key": "y"}}, {"find": {"name": {"regexp": ".*"}}}]}
    assert destinations_of(es(spec)) == [Destination(VAULT, "x"), Destination(VAULT, "y")]


X, Y = Destination(VAULT, "x"), Destination(VAULT, "y")


@pytest.mark.parametrize("wanted, current, changes, needs_write", [
    ({X: {"a": "1"}}, {X: None}, {X: {"a": Change.NEW}}, {X: True}),
    ({X: {"a": "1"}}, {X: {"a": ""}}, {X: {"a": Change.NEW}}, {X: True}),  # empty counts as missing
    ({X: {"a": "1"}}, {X: {"a": "1", "b": "2"}}, {X: {"a": Change.UNCHANGED}}, {X: False}),
    ({X: {"a": "1", "b": "3"}}, {X: {"a": "1", "b": "2"}}, {X: {"a": Change.UNCHANGED, "b": Change.CHANGED}}, {X: True}),
    ({Y: {"a": "1"}, X: {"a": "1"}}, {X: {"a": "1"}, Y: {}}, {X: {"a": Change.UNCHANGED}, Y: {"a": Change.NEW}},
     {X: False, Y: True}),
])
def test_plan(wanted, current, changes, needs_write):
    plans = plan(wanted, current)
    assert [p.destination for p in plans] == sorted(wanted)
    assert {p.destination: p.changes for p in plans} == changes
    assert {p.destination: p.needs_write for p in plans} == needs_write


def test_summary_names_properties_never_values():
    [p] = plan({X: {"password": "canary-3f9a", "user": "bob"}}, {X: {"user": "bob"}})
    assert summary(p) == "ClusterSecretStore/vault x: password (new), user (unchanged)"
    assert "canary" not in repr(p)
