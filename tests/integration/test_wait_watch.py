"""wait on the shared live view (live.py) against the real API server and ESO: a change arrives as it
happens (no poll), the watch survives an API server restart, and a user who may list but not watch is
polled, with one note."""

import datetime
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTBED = [sys.executable, str(Path(__file__).resolve().parents[2] / "hack" / "testbed")]
pytestmark = pytest.mark.integration

STORE = {"kind": "ClusterSecretStore", "name": "vault"}


def es(name, ns, path):
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"secretStoreRef": STORE, "refreshInterval": "1h",
                     "data": [{"secretKey": "token", "remoteRef": {"key": path, "property": "token"}}]}}


def failing(testbed, namespace, name="late"):
    """An ExternalSecret whose value is not in OpenBao yet, once ESO has said so; its store path."""
    path = f"tests/{namespace}/{name}"
    testbed.apply(es(name, namespace, path))
    testbed.wait_until(lambda: testbed.ready(namespace, name) == "False")
    return path


def start_wait(testbed, *args, kubeconfig=None):
    env = testbed.env(**({"KUBECONFIG": kubeconfig} if kubeconfig else {}))
    proc = subprocess.Popen(["kubectl", "jxsecret", "wait", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    first = proc.stdout.readline()
    assert re.fullmatch(r"\d\d:\d\d:\d\d waiting for 1 of 1 ExternalSecret:\n", first), first + proc.stderr.read()
    proc.stdout.readline()  # the one it waits for
    return proc


def fill(testbed, namespace, path, name="late"):
    """The value into OpenBao, and a force-sync: ESO retries a failed sync with a back-off of minutes."""
    testbed.vault().secrets.kv.v2.create_or_update_secret(path, secret={"token": "t"}, mount_point="secret")
    testbed.kubectl("annotate", "es", name, "-n", namespace, f"force-sync={time.time()}", "--overwrite")


def finish(proc, timeout=60):
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
    return out, err, time.time()


def audit_since(testbed, mark):
    with open(testbed.audit_log, "rb") as f:
        f.seek(mark)
        return [json.loads(line) for line in f if line.strip()]


def stamp(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.mark.real_eso
def test_wait_exits_as_the_secret_is_written_not_at_a_poll(testbed, namespace):
    path = failing(testbed, namespace)
    mark = testbed.audit_mark()
    proc = start_wait(testbed, "-n", namespace, "--poll", "60s", "--timeout", "60s")
    fill(testbed, namespace, path)
    out, err, exited = finish(proc)
    assert (proc.returncode, err) == (0, "")
    assert re.fullmatch(rf"\d\d:\d\d:\d\d {namespace}/late: Populated\n1 ExternalSecret populated\n", out)
    time.sleep(0.3)  # the audit log is written as responses go out; a moment covers the last
    events = audit_since(testbed, mark)
    [written] = [stamp(e["stageTimestamp"]) for e in events
                 if e["stage"] == "ResponseComplete" and e["userAgent"].startswith("eso/") and e["verb"] == "create"
                 and e["objectRef"].get("resource") == "secrets" and e["objectRef"].get("namespace") == namespace]
    assert exited - written < 1.0
    # One LIST per collection (and the Warning events of the first answer's failure), then only the watches.
    lists = sorted(e["requestURI"].split("?")[0] for e in events if e["stage"] == "ResponseComplete"
                   and e["userAgent"].startswith("kubectl-jxsecret/") and e["verb"] == "list")
    assert lists == [f"/api/v1/namespaces/{namespace}/events", f"/api/v1/namespaces/{namespace}/secrets",
                     f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets",
                     f"/apis/kubernetes-client.io/v1/namespaces/{namespace}/externalsecrets"]


@pytest.mark.real_eso
def test_wait_follows_through_an_api_server_restart(testbed, namespace):
    path = failing(testbed, namespace)
    proc = start_wait(testbed, "-n", namespace, "--timeout", "120s")
    for step in ("stop", "start"):
        subprocess.run([*TESTBED, step, "kube-apiserver"], check=True, capture_output=True, env=testbed.env())
    mark = testbed.audit_mark()
    # The Secret written directly: ESO itself takes tens of seconds to come back after the restart. Its value is
    # still missing from OpenBao, so ESO keeps saying it cannot sync: the Secret is complete but stale.
    testbed.kubectl("create", "secret", "generic", "late", "-n", namespace, "--from-literal=token=t")
    out, err, _ = finish(proc, timeout=120)
    assert proc.returncode == 0, err
    assert re.fullmatch(rf"\d\d:\d\d:\d\d {namespace}/late: Stale: SecretSyncedError: .*\n"
                        r"1 ExternalSecret populated\n", out)
    assert "(retrying)" in err  # it said the API server went away
    # After the restart its watches were opened again (from where they were, or after a new LIST).
    again = {uri.split("?")[0] for verb, uri in testbed.requests_since(mark) if verb in ("watch", "list")}
    assert f"/api/v1/namespaces/{namespace}/secrets" in again
    # The tests after this one need ESO, which takes tens of seconds to come back: wait until it syncs again.
    fill(testbed, namespace, path)
    testbed.wait_until(lambda: testbed.ready(namespace, "late") == "True", timeout=120, interval=1)


READ = "externalsecrets.external-secrets.io,externalsecrets.kubernetes-client.io,secrets"


def no_watch_kubeconfig(testbed, namespace, tmp_path, resources=READ, patch=""):
    """A ServiceAccount that may get and list `resources` in `namespace` (and `patch` those), but not watch
    them: its kubeconfig (the admin's cluster, a token from the TokenRequest API)."""
    testbed.kubectl("create", "serviceaccount", "no-watch", "-n", namespace)
    testbed.kubectl("create", "role", "list-only", "-n", namespace, "--verb=get,list", f"--resource={resources}")
    testbed.kubectl("create", "rolebinding", "list-only", "-n", namespace, "--role=list-only",
                    f"--serviceaccount={namespace}:no-watch")
    if patch:
        testbed.kubectl("create", "role", "patch", "-n", namespace, "--verb=patch", f"--resource={patch}")
        testbed.kubectl("create", "rolebinding", "patch", "-n", namespace, "--role=patch",
                        f"--serviceaccount={namespace}:no-watch")
    token = testbed.kubectl("create", "token", "no-watch", "-n", namespace, "--duration=1h").stdout.strip()
    admin = json.loads(testbed.kubectl("config", "view", "--raw", "--minify", "-o", "json").stdout)
    cluster = admin["clusters"][0]
    config = {"apiVersion": "v1", "kind": "Config", "clusters": [cluster],
              "users": [{"name": "no-watch", "user": {"token": token}}],
              "contexts": [{"name": "no-watch", "context": {"cluster": cluster["name"], "user": "no-watch",
                                                            "namespace": namespace}}],
              "current-context": "no-watch"}
    path = tmp_path / "no-watch.kubeconfig"
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return str(path)


@pytest.mark.real_eso
def test_a_user_who_may_not_watch_is_polled_with_one_note(testbed, namespace, tmp_path):
    kubeconfig = no_watch_kubeconfig(testbed, namespace, tmp_path)
    path = failing(testbed, namespace)
    proc = start_wait(testbed, "-n", namespace, "--poll", "500ms", "--timeout", "60s", kubeconfig=kubeconfig)
    time.sleep(1.5)  # a few polls: still one note each
    fill(testbed, namespace, path)
    out, err, _ = finish(proc)
    assert re.fullmatch(rf"\d\d:\d\d:\d\d {namespace}/late: Populated\n1 ExternalSecret populated\n", out)
    assert (proc.returncode, sorted(err.splitlines())) == (0, [
        f"note: cannot watch externalsecrets.external-secrets.io in namespace {namespace}: forbidden; "
        "listing them every 0.5s instead",
        f"note: cannot watch externalsecrets.kubernetes-client.io in namespace {namespace}: forbidden; "
        "listing them every 0.5s instead",
        f"note: cannot watch secrets in namespace {namespace}: forbidden; listing them every 0.5s instead"])


def test_the_no_watch_identity_really_may_not_watch(testbed, namespace, tmp_path):
    kubeconfig = no_watch_kubeconfig(testbed, namespace, tmp_path)
    can = testbed.kubectl("auth", "can-i", "watch", "secrets", "-n", namespace, "--kubeconfig", kubeconfig,
                          check=False)
    assert (can.returncode, can.stdout.strip()) == (1, "no")


@pytest.mark.real_eso
def test_refresh_watches_and_a_user_who_may_not_watch_is_polled(testbed, namespace, tmp_path):
    path = failing(testbed, namespace)
    testbed.vault().secrets.kv.v2.create_or_update_secret(path, secret={"token": "t"}, mount_point="secret")
    mark = testbed.audit_mark()
    watched = testbed.jxsecret("refresh", "-n", namespace, "-f", "late")
    assert (watched.returncode, watched.stdout, watched.stderr) == (
        0, f"force-sync requested for 1 ExternalSecret; waiting for ESO to sync\n{namespace}/late: synced\n", "")
    # The selection's LISTs (as verify's), then the watches' own: nothing was listed twice.
    lists = sorted(uri.split("?")[0] for verb, uri in testbed.requests_since(mark) if verb == "list")
    assert lists == [f"/api/v1/namespaces/{namespace}/events",
                     f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets",
                     f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets",
                     f"/apis/kubernetes-client.io/v1/namespaces/{namespace}/externalsecrets"]

    # A failure, so that both collections must be seen again: the new Warning event, after the ExternalSecret.
    failing(testbed, namespace, "never")
    kubeconfig = no_watch_kubeconfig(testbed, namespace, tmp_path, READ + ",events",
                                     patch="externalsecrets.external-secrets.io")
    polled = testbed.jxsecret("refresh", "-n", namespace, "-f", "never", kubeconfig=kubeconfig)
    assert (polled.returncode, polled.stdout) == (
        3, f"force-sync requested for 1 ExternalSecret; waiting for ESO to sync\n{namespace}/never: sync failed: "
        f"error processing spec.data[0] (key: tests/{namespace}/never), err: Secret does not exist\n")
    assert sorted(polled.stderr.splitlines()) == [  # the two watches are refused in either order
        "1 ExternalSecret of 1 failed to sync.",
        f"note: cannot watch events in namespace {namespace}: forbidden; listing them every 2s instead",
        f"note: cannot watch externalsecrets.external-secrets.io in namespace {namespace}: forbidden; "
        "listing them every 2s instead"]


def test_a_user_who_may_read_only_some_namespaces_is_told_what_wait_could_not_see(testbed, namespace, tmp_path):
    """No cluster-wide LIST of ExternalSecrets or Secrets: wait watches each namespace, and warns as verify does."""
    kubeconfig = no_watch_kubeconfig(testbed, namespace, tmp_path)
    testbed.kubectl("create", "clusterrole", f"{namespace}-namespaces", "--verb=list", "--resource=namespaces")
    testbed.kubectl("create", "clusterrolebinding", f"{namespace}-namespaces", f"--clusterrole={namespace}-namespaces",
                    f"--serviceaccount={namespace}:no-watch")
    testbed.apply(es("late", namespace, f"tests/{namespace}/late"))
    testbed.kubectl("create", "secret", "generic", "late", "-n", namespace, "--from-literal=token=t")
    verify = testbed.jxsecret("verify", "-A", kubeconfig=kubeconfig)
    wait = testbed.jxsecret("wait", "-A", "--timeout", "3s", kubeconfig=kubeconfig)
    warnings = [line for line in verify.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings[0].startswith("warning: cannot list externalsecrets.external-secrets.io in ")
    assert [line for line in wait.stderr.splitlines() if line.startswith("warning: ")] == warnings
    # Everything it could see is populated, but not everything could be seen: an error, as before.
    assert (wait.returncode, wait.stdout) == (1, "")


@pytest.mark.real_eso
def test_a_writer_whose_user_may_not_watch_says_so_once(testbed, namespace, tmp_path):
    """The writers end with refresh's force-sync and wait: the same note, on the same log; and the last
    look at what is populated stays in the namespace, where this user may list."""
    path = failing(testbed, namespace)
    kubeconfig = no_watch_kubeconfig(testbed, namespace, tmp_path, READ + ",events",
                                     patch="externalsecrets.external-secrets.io")
    stores = f"stores-{namespace}"  # the store tells where its paths are
    testbed.kubectl("create", "clusterrole", stores, "--verb=get,list",
                    "--resource=clustersecretstores.external-secrets.io")
    testbed.kubectl("create", "clusterrolebinding", stores, f"--clusterrole={stores}",
                    f"--serviceaccount={namespace}:no-watch")
    values = tmp_path / "values.yaml"
    values.write_text(f"secret/{path}:\n  token: t\n")
    result = testbed.jxsecret("import", "-n", namespace, "-f", values, kubeconfig=kubeconfig)
    assert (result.returncode, result.stdout.splitlines()) == (0, [
        f"wrote: ClusterSecretStore/vault {path}: token (new)",
        "force-sync requested for 1 ExternalSecret; waiting for ESO to sync",
        f"{namespace}/late: synced",
        f"populated: {namespace}/late"])
    assert sorted(result.stderr.splitlines()) == [  # the two watches are refused in either order
        f"note: cannot watch events in namespace {namespace}: forbidden; listing them every 2s instead",
        f"note: cannot watch externalsecrets.external-secrets.io in namespace {namespace}: forbidden; "
        "listing them every 2s instead"]
