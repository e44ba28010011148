"""The live view wait, refresh and ui share (live.py), without a cluster: what each watch report changes,
which ExternalSecrets it asks to judge again, and the per-namespace Secret watches of a user who may
not list Secrets cluster-wide. And kube/watch.describe, which names a collection in the polling note."""

import pytest

from kubectl_jxsecret.kube.watch import describe
from kubectl_jxsecret.live import LiveView, secret_entry, strip
from kubectl_jxsecret.model.externalsecret import Api
from kubectl_jxsecret.model.status import State

API = Api("external-secrets.io", "v1")


def raw_es(name, ns="jx", target=None):
    return {"metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}"},
            "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
                     "target": {"name": target or name},
                     "data": [{"secretKey": "token", "remoteRef": {"key": f"apps/{name}", "property": "token"}}]}}


def raw_secret(name, ns="jx", **data):
    return {"metadata": {"name": name, "namespace": ns}, "data": data}


def reported(view):
    out = []
    while not view.events.empty():
        out.append(view.events.get_nowait())
    return out


def key(name, ns="jx"):
    return ns, name, "external-secrets.io/v1"


def test_each_report_names_what_to_judge_again():
    view = LiveView()
    view.reset_externalsecrets(API, [raw_es("a"), raw_es("b", target="shared"), raw_es("c", target="shared")])
    view.reset_secrets([])
    assert reported(view) == [("changed", None), ("changed", None)]  # a LIST: anything may have changed
    view.secret_event("ADDED", secret_entry(raw_secret("shared", token="eA==")))
    view.secret_event("ADDED", secret_entry(raw_secret("unrelated", token="eA==")))
    view.externalsecret_event(API, "MODIFIED", raw_es("a"))
    view.externalsecret_event(API, "DELETED", raw_es("a"))
    view.externalsecret_event(API, "DELETED", raw_es("a"))  # already gone: nothing to say
    assert reported(view) == [("changed", [key("b"), key("c")]), ("changed", []), ("changed", [key("a")]),
                              ("changed", [key("a")])]
    assert sorted(view.externalsecrets) == [key("b"), key("c")]
    assert view.verdict(view.externalsecrets[key("b")]).state is State.POPULATED


def test_kept_externalsecrets_carry_their_api_and_no_managed_fields():
    view = LiveView()
    raw = {**raw_es("a"), "metadata": {**raw_es("a")["metadata"], "managedFields": [{"big": "x"}]}}
    view.reset_externalsecrets(API, [raw])
    es = view.externalsecrets[key("a")]
    assert (es.api_version, "managedFields" in es.raw["metadata"]) == ("external-secrets.io/v1", False)



def test_loaded_once_every_collection_was_listed():
    view = LiveView()
    view.expected = {API.path(), "/api/v1/secrets"}
    view.reset_externalsecrets(API, [raw_es("a")])
    assert view.loaded is False
    view.reset_secrets([])
    assert view.loaded is True


def test_secrets_per_namespace_when_the_cluster_wide_list_is_forbidden():
    view = LiveView()
    started = []
    view.follow = lambda path, *args, **kw: started.append(path.split("/")[4])  # the watches it would start
    view.expected = {API.path(), "/api/v1/secrets"}
    view.reset_externalsecrets(API, [raw_es("a", "jx"), raw_es("b", "jx-staging")])
    view.per_namespace(Forbidden())
    assert started == ["jx", "jx-staging"]
    view.externalsecret_event(API, "ADDED", raw_es("c", "jx-production"))
    view.externalsecret_event(API, "ADDED", raw_es("d", "jx"))
    assert started == ["jx", "jx-staging", "jx-production"]  # one watch per namespace, started as they appear
    view.reset_secrets([secret_entry(raw_secret("a", "jx", token="eA=="))], "jx")
    view.secrets_unreadable("jx-staging", Forbidden())
    assert view.loaded is False  # jx-production's Secrets not listed yet
    view.reset_secrets([], "jx-production")
    assert view.loaded is True
    reported(view)
    view.reset_secrets([], "jx-production")  # one namespace listed again leaves the others' Secrets alone
    verdicts = {k[1]: view.verdict(es) for k, es in view.externalsecrets.items()}
    assert {name: v.state for name, v in verdicts.items()} == {
        "a": State.POPULATED, "b": State.UNKNOWN, "c": State.UNKNOWN, "d": State.UNKNOWN}
    assert verdicts["b"].message == "cannot list Secrets in namespace jx-staging: forbidden"


class Forbidden(Exception):
    status = 403


@pytest.mark.parametrize("path, text", [
    ("/api/v1/secrets", "secrets in all namespaces"),
    ("/api/v1/namespaces/jx/secrets", "secrets in namespace jx"),
    ("/apis/external-secrets.io/v1/externalsecrets", "externalsecrets.external-secrets.io in all namespaces"),
    ("/apis/external-secrets.io/v1beta1/namespaces/jx/externalsecrets",
     "externalsecrets.external-secrets.io in namespace jx"),
    ("/api/v1/namespaces/jx/events", "events in namespace jx"),
])
def test_describe_a_collection(path, text):
    assert describe(path) == text


def test_strip_drops_managed_fields_only():
    raw = raw_es("app")
    raw["metadata"]["managedFields"] = [{"manager": "external-secrets"}]
    assert strip(raw) == raw_es("app")
