"""refresh against the real ESO controller: force-sync, then wait for a sync newer than the request."""

import json

import pytest

pytestmark = pytest.mark.integration

STORE = {"kind": "ClusterSecretStore", "name": "vault"}


def es(name, ns, path, **spec):
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": name, "namespace": ns},
            "spec": {"secretStoreRef": STORE, "refreshInterval": "1h",
                     "data": [{"secretKey": "token", "remoteRef": {"key": path, "property": "token"}}], **spec}}


def failing(testbed, namespace, name="app", **spec):
    """An ExternalSecret whose value is not in OpenBao yet, once ESO has said so."""
    path = f"tests/{namespace}/{name}"
    testbed.apply(es(name, namespace, path, **spec))
    testbed.wait_until(lambda: testbed.ready(namespace, name) == "False")
    return path


def test_refresh_brings_a_new_value_in_now(testbed, namespace):
    path = failing(testbed, namespace)
    testbed.vault().secrets.kv.v2.create_or_update_secret(path, secret={"token": "t"}, mount_point="secret")
    mark = testbed.audit_mark()
    result = testbed.jxsecret("refresh", "-n", namespace)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == ("force-sync requested for 1 ExternalSecret; waiting for ESO to sync\n"
                             f"{namespace}/app: synced\n")
    patches = [uri for verb, uri in testbed.requests_since(mark) if verb == "patch"]
    assert patches == [f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets/app"]
    [row] = json.loads(testbed.jxsecret("verify", "-n", namespace, "-o", "json").stdout)
    assert row["state"] == "Populated"


def test_refresh_reports_a_failure_newer_than_its_request(testbed, namespace):
    failing(testbed, namespace)
    result = testbed.jxsecret("refresh", "-n", namespace, "--timeout", "30s")
    assert result.returncode == 3
    assert result.stdout.splitlines()[1] == (f"{namespace}/app: sync failed: error processing spec.data[0] "
                                             f"(key: tests/{namespace}/app), err: Secret does not exist")
    assert result.stderr == "1 ExternalSecret of 1 failed to sync.\n"


def test_refresh_skips_what_eso_would_not_sync_again(testbed, namespace):
    testbed.vault().secrets.kv.v2.create_or_update_secret(f"tests/{namespace}/once", secret={"token": "t"},
                                                          mount_point="secret")
    testbed.apply(es("once", namespace, f"tests/{namespace}/once", refreshInterval="0s"),
                  {"apiVersion": "kubernetes-client.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": "legacy", "namespace": namespace},
                   "spec": {"backendType": "vault", "data": [{"name": "token", "key": "secret/data/x", "property": "t"}]}})
    testbed.wait_until(lambda: testbed.ready(namespace, "once") == "True")
    result = testbed.jxsecret("refresh", "-n", namespace)
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr.splitlines() == [
        f"note: {namespace}/legacy not refreshed: a legacy kubernetes-client.io ExternalSecret: its operator has no "
        "force-sync",
        f"note: {namespace}/once not refreshed: refreshInterval 0: ESO synced it once and will not again "
        "(recreate it to sync)"]


def test_refresh_no_wait_only_asks(testbed, namespace):
    failing(testbed, namespace)
    result = testbed.jxsecret("refresh", "-n", namespace, "--no-wait")
    assert (result.returncode, result.stdout) == (0, "force-sync requested for 1 ExternalSecret; ESO syncs them shortly\n")
    assert "force-sync" in testbed.get("es", "app", "-n", namespace)["metadata"]["annotations"]


def test_refresh_with_nothing_selected_is_an_error(testbed, namespace):
    result = testbed.jxsecret("refresh", "-n", namespace)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: no matching ExternalSecrets found in namespace {namespace}: nothing to refresh\n"


@pytest.mark.real_eso
def test_refresh_that_no_controller_answers_times_out_naming_what_did_not_sync(testbed, namespace):
    # ESO leaves alone what reads a store of another controller class: nothing will ever land.
    store = f"other-controller-{namespace}"
    testbed.apply({"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore", "metadata": {"name": store},
                   "spec": {"controller": "someone-else",
                            "provider": {"vault": {"server": "http://vault.jx-vault:8200", "path": "secret",
                                                   "version": "v2", "auth": {"tokenSecretRef": {
                                                       "name": "vault-token", "namespace": "jx-vault",
                                                       "key": "token"}}}}}},
                  es("app", namespace, f"tests/{namespace}/app", secretStoreRef={"kind": "ClusterSecretStore",
                                                                                 "name": store}))
    try:
        result = testbed.jxsecret("refresh", "-n", namespace, "--timeout", "2s")
    finally:
        testbed.kubectl("delete", "clustersecretstores.external-secrets.io", store)
    assert (result.returncode, result.stdout) == (
        3, "force-sync requested for 1 ExternalSecret; waiting for ESO to sync\n")
    assert result.stderr == f"error: timed out after 2s; 1 ExternalSecret not synced yet:\n  {namespace}/app\n"
