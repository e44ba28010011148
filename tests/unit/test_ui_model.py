"""The JSON the ui sends, and the live state behind it, as tables: rows, counts, details, changes."""

import pytest

from kubectl_jxsecret.kube.watch import Gone, decode, lines
from kubectl_jxsecret.model.externalsecret import Api, ExternalSecret
from kubectl_jxsecret.model.status import evaluate
from kubectl_jxsecret.ui import model
from kubectl_jxsecret.live import secret_entry
from kubectl_jxsecret.ui.state import Live

API = Api("external-secrets.io", "v1")


def raw_es(name="app", ns="jx", ready=None, target=None, data=(("token", "apps/app", "token"),), **spec):
    raw = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
           "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "managedFields": [{"big": "x"}]},
           "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
                    "data": [{"secretKey": k, "remoteRef": {"key": key, "property": prop}} for k, key, prop in data],
                    **({"target": {"name": target}} if target else {}), **spec}}
    if ready:
        raw["status"] = {"conditions": [{"type": "Ready", "status": ready[0], "reason": ready[1], "message": ready[2],
                                         "lastTransitionTime": "2026-11-29T10:00:00Z"}],
                         "refreshTime": "2026-11-29T10:00:00Z"}
    return raw


def raw_secret(name, ns="jx", **data):
    return {"metadata": {"name": name, "namespace": ns}, "data": data}


SYNCED = ("True", "SecretSynced", "secret synced")
FAILED = ("False", "SecretSyncedError", "could not get secret data from provider")


def test_a_row_is_the_verdict_of_verify_with_a_key():
    es = ExternalSecret(raw_es(ready=FAILED))
    row = model.row(evaluate(es, None))
    assert row == {**evaluate(es, None).to_dict(), "key": "external-secrets.io/v1/jx/app"}
    assert (row["state"], row["missingKeys"], row["reason"]) == ("SyncError", ["token"], "SecretSyncedError")


@pytest.mark.parametrize("states, expected", [
    ([], {"Populated": 0, "Stale": 0, "SyncError": 0, "SecretMissing": 0, "KeysMissing": 0, "Invalid": 0,
          "Unknown": 0}),
    (["Populated", "Populated", "SyncError"], {"Populated": 2, "Stale": 0, "SyncError": 1, "SecretMissing": 0,
                                               "KeysMissing": 0, "Invalid": 0, "Unknown": 0}),
])
def test_counts_name_every_state(states, expected):
    assert model.counts([{"state": s} for s in states]) == expected


@pytest.mark.parametrize("spec, expected", [
    ({}, [{"secretKey": "token", "store": "ClusterSecretStore/vault", "key": "apps/app", "property": "token",
           "note": ""}]),
    ({"data": [{"secretKey": "all", "remoteRef": {"key": "apps/all"}}]},
     [{"secretKey": "", "store": "", "key": "", "property": "",
       "note": "spec.data[0] reads the whole secret at apps/all (no property)"}]),
])
def test_mapping_names_secret_key_store_key_and_property(spec, expected):
    assert model.mapping(ExternalSecret({**raw_es(), "spec": {**raw_es()["spec"], **spec}})) == expected


def test_detail_has_key_names_conditions_and_the_latest_warnings_first():
    es = ExternalSecret(raw_es(ready=FAILED))
    events = [{"involvedObject": {"uid": "uid-app"}, "lastTimestamp": "2026-11-29T10:00:01Z", "reason": "UpdateFailed",
               "message": "old ", "count": 2},
              {"involvedObject": {"uid": "uid-app"}, "lastTimestamp": "2026-11-29T10:00:09Z", "reason": "UpdateFailed",
               "message": "err: Secret does not exist"},
              {"involvedObject": {"uid": "other"}, "lastTimestamp": "2026-11-29T10:00:10Z", "message": "not ours"}]
    found = model.detail(es, {"token": False, "extra": True}, evaluate(es, {"token": False, "extra": True}), events)
    assert found["secretKeys"] == [{"name": "extra", "empty": False}, {"name": "token", "empty": True}]
    assert [e["message"] for e in found["events"]] == ["err: Secret does not exist", "old"]
    assert [e["count"] for e in found["events"]] == [1, 2]
    assert found["conditions"] == [{"type": "Ready", "status": "False", "reason": "SecretSyncedError",
                                    "message": "could not get secret data from provider",
                                    "lastTransitionTime": "2026-11-29T10:00:00Z"}]
    assert model.detail(es, None, evaluate(es, None), [])["secretKeys"] is None


def test_a_secret_is_kept_as_key_names_and_emptiness():
    assert secret_entry(raw_secret("app", token="c2VjcmV0", empty="")) == (("jx", "app"), {"token": True, "empty": False})


def changes(live):
    q = live.subscribe()
    q.get_nowait()  # the snapshot on subscribe
    return q


def drain(q):
    out = []
    while not q.empty():
        out.append(q.get_nowait())
    return out


def test_a_secret_change_resends_only_the_rows_that_read_it():
    live = Live()
    live.reset_externalsecrets(API, [raw_es("a", ready=FAILED), raw_es("b", ready=SYNCED, target="b-secret")])
    live.reset_secrets([secret_entry(raw_secret("b-secret", token="eA=="))])
    q = changes(live)
    live.secret_event("ADDED", secret_entry(raw_secret("a", token="eA==")))
    [message] = drain(q)
    assert (message["type"], message["row"]["name"], message["row"]["state"]) == ("row", "a", "Stale")
    live.secret_event("MODIFIED", secret_entry(raw_secret("unrelated", token="eA==")))
    assert drain(q) == []


def test_externalsecret_events_update_and_delete_rows():
    live = Live()
    live.reset_externalsecrets(API, [raw_es("a", ready=FAILED)])
    live.reset_secrets([])
    q = changes(live)
    live.externalsecret_event(API, "MODIFIED", raw_es("a", ready=FAILED))  # nothing the page shows changed
    assert drain(q) == []
    live.secret_event("ADDED", secret_entry(raw_secret("a", token="eA==")))
    live.externalsecret_event(API, "MODIFIED", raw_es("a", ready=SYNCED))
    assert [m["row"]["state"] for m in drain(q)] == ["Stale", "Populated"]
    live.externalsecret_event(API, "DELETED", raw_es("a", ready=SYNCED))
    assert drain(q) == [{"type": "delete", "key": "external-secrets.io/v1/jx/a"}]
    assert live.snapshot()["rows"] == []


def test_loading_until_every_collection_was_listed_and_connection_changes_are_sent():
    live = Live()
    live.expected = {API.path(), "/api/v1/secrets"}
    live.reset_externalsecrets(API, [])
    assert live.snapshot()["loading"] is True
    live.reset_secrets([])
    assert live.snapshot()["loading"] is False
    q = changes(live)
    live.connection_changed(False, "connection refused")
    assert drain(q) == [{"type": "connection", "connected": False, "message": "connection refused"}]
    assert live.snapshot()["connection"] == {"connected": False, "message": "connection refused"}


@pytest.mark.parametrize("line, expected", [
    (b'{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"12"}}}',
     ("ADDED", {"metadata": {"name": "a", "resourceVersion": "12"}}, "12")),
    (b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"40"}}}',
     ("BOOKMARK", {"metadata": {"resourceVersion": "40"}}, "40")),
])
def test_decode_a_watch_line(line, expected):
    assert decode(line) == expected


def test_decode_410_gone_asks_for_a_relist():
    with pytest.raises(Gone):
        decode(b'{"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old resource version: 1 (5)"}}')


class Chunks:
    """A byte stream that arrives in the given pieces (what urllib3's stream() yields)."""

    def __init__(self, *pieces):
        self.pieces = pieces

    def stream(self, amt):
        yield from self.pieces


@pytest.mark.parametrize("pieces, expected", [
    ((b'{"a":1}\n{"b"', b':2}\n'), [b'{"a":1}', b'{"b":2}']),
    ((b'{"a":1}\n\n', b'{"b":2}'), [b'{"a":1}', b'{"b":2}']),
])
def test_watch_lines_across_chunks(pieces, expected):
    assert list(lines(Chunks(*pieces))) == expected
