"""The testbed is made of real components: each test proves one of them answers as the real thing."""

import base64
import json
import os
import secrets
import socket
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_apiserver_is_a_real_kube_apiserver(testbed):
    version = json.loads(testbed.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == "v1.36.3"
    assert version["clientVersion"]["minor"] == "37"
    resources = testbed.kubectl("api-resources", "--api-group=external-secrets.io", "-o", "name").stdout.split()
    assert "externalsecrets.external-secrets.io" in resources


def test_both_eso_versions_are_served(testbed):
    versions = testbed.kubectl("api-versions").stdout.split()
    for v in ("external-secrets.io/v1", "external-secrets.io/v1beta1", "kubernetes-client.io/v1", "jenkins.io/v1"):
        assert v in versions


def test_limited_user_gets_a_real_403(testbed):
    denied = testbed.kubectl("--kubeconfig", testbed.limited_kubeconfig, "get", "secrets", "-n", "jx-staging",
                             check=False)
    assert denied.returncode == 1
    assert 'User "jx-limited" cannot list resource "secrets"' in denied.stderr
    allowed = testbed.kubectl("--kubeconfig", testbed.limited_kubeconfig, "get", "externalsecrets.external-secrets.io",
                              "-A")
    assert allowed.returncode == 0


def test_kwok_runs_pods(testbed, namespace):
    testbed.kubectl("run", "app", "-n", namespace, "--image=example.invalid/app:1",
                    "--overrides", json.dumps({"spec": {"nodeName": "kwok-node-0"}}))
    testbed.kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/app", "--timeout=30s")
    phase = testbed.kubectl("get", "pod", "app", "-n", namespace, "-o", "jsonpath={.status.phase}").stdout
    assert phase == "Running"


def test_kubectl_port_forward_reaches_openbao(testbed):
    import subprocess
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["kubectl", "-n", "jx-vault", "port-forward", "pod/vault-0", f"{port}:8200"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=testbed.env())
    try:
        assert "Forwarding from 127.0.0.1" in proc.stdout.readline()
        health = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/sys/health", timeout=10))
        assert health["initialized"] and not health["sealed"]
        assert health["version"].startswith("2.")  # OpenBao's own answer, through apiserver and kwok
    finally:
        proc.terminate()
        proc.wait(10)


def test_portforward_package_reaches_openbao(testbed):
    import portforward

    with portforward.forward("jx-vault", "vault-0", 0, 8200, config_path=testbed.kubeconfig,
                             log_level=portforward.LogLevel.OFF) as fwd:
        health = json.load(urllib.request.urlopen(f"http://127.0.0.1:{fwd.from_port}/v1/sys/health", timeout=10))
    assert health["initialized"] and not health["sealed"]


def test_eso_syncs_a_value_from_openbao(testbed, namespace):
    path = f"tests/{namespace}/app"
    value = secrets.token_hex(8)
    testbed.vault().secrets.kv.v2.create_or_update_secret(path, secret={"password": value}, mount_point="secret")
    testbed.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "app", "namespace": namespace},
        "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
                 "target": {"name": "app-secret"},
                 "data": [{"secretKey": "PASSWORD", "remoteRef": {"key": path, "property": "password"}}]}}))

    def synced():
        es = json.loads(testbed.kubectl("get", "es", "app", "-n", namespace, "-o", "json").stdout)
        ready = [c for c in es.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
        return es if ready and ready[0]["status"] == "True" else None

    es = testbed.wait_until(synced)
    assert es["status"]["conditions"][0]["reason"] == "SecretSynced"
    assert es["status"]["binding"] == {"name": "app-secret"}
    secret = json.loads(testbed.kubectl("get", "secret", "app-secret", "-n", namespace, "-o", "json").stdout)
    assert base64.b64decode(secret["data"]["PASSWORD"]).decode() == value
    assert secret["metadata"]["labels"]["reconcile.external-secrets.io/managed"] == "true"

    # A new value is picked up on force-sync, as ESO does when the annotation changes.
    testbed.vault().secrets.kv.v2.create_or_update_secret(path, secret={"password": "changed"}, mount_point="secret")
    testbed.kubectl("annotate", "es", "app", "-n", namespace, f"force-sync={time.time()}", "--overwrite")

    def changed():
        data = testbed.kubectl("get", "secret", "app-secret", "-n", namespace, "-o", "jsonpath={.data.PASSWORD}").stdout
        return base64.b64decode(data).decode() == "changed"

    testbed.wait_until(changed)


def test_eso_reports_a_missing_key(testbed, namespace):
    testbed.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "nothing", "namespace": namespace},
        "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
                 "data": [{"secretKey": "x", "remoteRef": {"key": f"tests/{namespace}/absent", "property": "x"}}]}}))

    def failed():
        es = json.loads(testbed.kubectl("get", "es", "nothing", "-n", namespace, "-o", "json").stdout)
        ready = [c for c in es.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
        return ready[0] if ready and ready[0]["status"] == "False" else None

    condition = testbed.wait_until(failed)
    assert condition["reason"] == "SecretSyncedError"
    assert condition["message"] == "could not get secret data from provider"
    missing = testbed.kubectl("get", "secret", "nothing", "-n", namespace, check=False)
    assert "NotFound" in missing.stderr


@pytest.mark.real_eso
def test_the_controller_is_the_real_external_secrets_operator(testbed):
    state = json.loads((Path(testbed.kubeconfig).parent / "state.json").read_text())
    binary = os.readlink(f"/proc/{state['pids']['eso']}/exe")
    assert binary == str(Path(state["bin"]) / "eso")
    # Only the real controller has a store reconciler: it validated the Jenkins X store by its
    # in-cluster address, which resolves inside ESO's mount namespace...
    store = testbed.get("clustersecretstores.external-secrets.io", "vault")
    assert [(c["type"], c["status"], c["reason"]) for c in store["status"]["conditions"]] == [("Ready", "True", "Valid")]
    assert store["status"]["capabilities"] == "ReadWrite"
    # ...and nowhere else: the plugin must still open its own tunnel.
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("vault.jx-vault.svc", 8200)


@pytest.mark.real_eso
def test_eso_restores_a_deleted_secret(testbed, namespace):
    testbed.vault().secrets.kv.v2.create_or_update_secret(f"tests/{namespace}/app", secret={"k": "v"},
                                                          mount_point="secret")
    testbed.apply({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": "app", "namespace": namespace},
                   "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"}, "refreshInterval": "0s",
                            "data": [{"secretKey": "k", "remoteRef": {"key": f"tests/{namespace}/app", "property": "k"}}]}})
    testbed.wait_until(lambda: testbed.ready(namespace, "app") == "True")
    uid = testbed.get("secret", "app", "-n", namespace)["metadata"]["uid"]
    testbed.kubectl("delete", "secret", "app", "-n", namespace)
    # Even with refreshInterval 0s: ESO watches the Secrets it manages (a fixture cannot delete one to get
    # a SecretMissing state; creationPolicy Merge gives that).
    testbed.wait_until(lambda: testbed.kubectl("get", "secret", "app", "-n", namespace, "-o", "jsonpath={.metadata.uid}",
                                               check=False).stdout not in ("", uid))


def run_testbed(*args, state_dir=None, **env):
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    environ = dict(os.environ, **env)
    if state_dir:
        environ["JXSECRET_TESTBED_DIR"] = str(state_dir)
    return subprocess.run([sys.executable, str(repo / "hack" / "testbed"), *args], capture_output=True, text=True,
                          env=environ, timeout=300)


def test_status_and_env_describe_the_running_testbed(testbed):
    status = run_testbed("status")
    assert status.returncode == 0, status.stdout
    *lines, eso = status.stdout.splitlines()
    controllers = {"real": ["eso", "kes-standin"], "standin": ["eso-standin"]}[testbed.eso]
    assert [line.split()[0] for line in lines] == ["etcd", "kube-apiserver", "openbao", "kwok", *controllers]
    assert all(line.split()[-2:] == ["running", "healthy"] for line in lines)
    assert eso == {"real": "ESO: the real External Secrets Operator v0.16.2",
                   "standin": "ESO: hack/eso_standin.py (JXSECRET_TESTBED_ESO=standin), not the real controller"}[testbed.eso]
    env = run_testbed("env")
    assert f"export KUBECONFIG={testbed.kubeconfig}" in env.stdout.splitlines()


def test_up_is_idempotent_and_down_stops_only_its_own_processes(testbed, tmp_path):
    state = tmp_path / "second"
    try:
        first = run_testbed("up", state_dir=state)
        assert first.returncode == 0, first.stderr
        again = run_testbed("up", state_dir=state)
        assert again.returncode == 0 and "already up" in again.stderr
        assert again.stdout == first.stdout  # same ports, same processes
        pids = json.loads((state / "state.json").read_text())["pids"]
    finally:
        down = run_testbed("down", state_dir=state)
    assert down.returncode == 0
    for pid in pids.values():
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert not state.exists()
    assert run_testbed("status").returncode == 0  # the session's testbed is untouched
    assert run_testbed("env", state_dir=state).returncode == 1


def test_prebuilt_binaries_directory_skips_the_build(tmp_path):
    import subprocess

    repo = Path(__file__).resolve().parents[2]
    script = repo / "hack" / "build-binaries.sh"
    built = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=True).stdout.strip()
    assets = Path(built.splitlines()[-1])
    ok = subprocess.run(["bash", str(script)], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin",
                        "KUBEBUILDER_ASSETS": str(assets)})
    assert ok.returncode == 0 and ok.stdout.strip() == str(assets)  # no Go needed on PATH
    empty = subprocess.run(["bash", str(script)], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin", "KUBEBUILDER_ASSETS": str(tmp_path)})
    assert empty.returncode == 1
    assert empty.stderr == f"build: KUBEBUILDER_ASSETS={tmp_path} has no executable kube-apiserver\n"
