"""The testbed is made of real components: each test proves one of them answers as the real thing."""

import base64
import json
import os
import secrets
import signal
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


def test_the_port_forward_websocket_reaches_openbao(testbed):
    """What the plugin's tunnel speaks (v4.channel.k8s.io, as kube-rs), served by the apiserver and kwok."""
    from kubectl_jxsecret.kube.client import Kube
    from kubectl_jxsecret.kube.kubeconfig import load
    from kubectl_jxsecret.kube.portforward import PortForward
    from kubectl_jxsecret.tunnel import whole_answer

    stream = PortForward(Kube(load(kubeconfig_flag=testbed.kubeconfig)), "jx-vault", "vault-0", 8200).open_stream(10)
    try:
        stream.sock.settimeout(10)
        stream.send(b"GET /v1/sys/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while not whole_answer(answer) and (more := stream.receive()) is not None:
            answer += more
    finally:
        stream.close()
    health = json.loads(answer.partition(b"\r\n\r\n")[2])
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


def test_status_sees_a_stand_in_that_stopped_answering(testbed):
    """The stand-in's health is its /healthz (its watches connected), not that its PID exists."""
    name = "kes-standin" if testbed.eso == "real" else "eso-standin"
    state_dir = Path(os.environ.get("JXSECRET_TESTBED_DIR") or Path(__file__).resolve().parents[2] / ".testbed")
    pid = json.loads((state_dir / "state.json").read_text())["pids"][name]
    os.kill(pid, signal.SIGSTOP)  # alive, but answers nothing
    try:
        status = run_testbed("status")
    finally:
        os.kill(pid, signal.SIGCONT)
    assert status.returncode == 1
    [line] = [line for line in status.stdout.splitlines() if line.startswith(name)]
    assert line.split()[-2:] == ["running", "unhealthy"]
    assert run_testbed("status").returncode == 0  # answering again


def running(pid):
    """Is `pid` a running process (not gone, not a zombie waiting for its parent)?"""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def second_testbed(testbed, tmp_path_factory):
    """A testbed beside the session's, as `make demo` brings one up: (its state directory, what `up` printed)."""
    state = tmp_path_factory.mktemp("testbeds") / "second"
    try:
        first = run_testbed("up", state_dir=state)
        assert first.returncode == 0, first.stderr
        yield state, first.stdout
    finally:
        run_testbed("down", state_dir=state)


# What `make demo` shows: the demo set (hack/manifests/demo.yaml) as the real ESO syncs it.
DEMO = {
    ("jx", "jenkins-docker-cfg"): ("Populated", []),  # legacy kubernetes-client.io, by the stand-in
    ("jx", "jenkins-x-bucketrepo"): ("Populated", []),
    ("jx", "jenkins-x-chartmuseum"): ("Populated", []),
    ("jx", "jx-basic-auth-htpasswd"): ("SyncError", ["auth"]),
    ("jx", "jx-basic-auth-user-password"): ("Populated", []),
    ("jx", "jx-boot"): ("Populated", []),
    ("jx", "jx-pipeline-git-github-github"): ("SyncError", ["username", "password"]),  # legacy
    ("jx", "knative-docker-user-pass"): ("SyncError", ["username", "password"]),
    ("jx", "lighthouse-hmac-token"): ("SyncError", ["hmac"]),
    ("jx", "lighthouse-oauth-token"): ("Populated", []),
    ("jx", "nexus"): ("SyncError", ["password"]),
    ("jx", "tekton-container-registry-auth"): ("Populated", []),
    ("jx", "tekton-git"): ("SyncError", ["username", "password"]),
    ("jx-production", "tekton-container-registry-auth"): ("Populated", []),
    ("jx-staging", "tekton-container-registry-auth"): ("Populated", []),
    ("secret-infra", "external-secrets-vault-token"): ("SyncError", ["token"]),
}


def environment(exports: str) -> dict:
    """Ours, with what `hack/testbed up` printed (export NAME=VALUE lines) over it."""
    return dict(os.environ, **dict(line.removeprefix("export ").split("=", 1) for line in exports.splitlines()))


@pytest.mark.real_eso
def test_the_demo_set_as_the_real_eso_syncs_it(second_testbed):
    import subprocess
    import sys

    state, exports = second_testbed
    repo = Path(__file__).resolve().parents[2]
    seed = subprocess.run([sys.executable, str(repo / "hack" / "seed-demo.py")], env=environment(exports),
                          capture_output=True, text=True, timeout=120)
    assert (seed.returncode, seed.stderr) == (0, "seed-demo: 7 OpenBao paths, 16 ExternalSecrets synced or failed\n")
    verify = subprocess.run([str(Path(sys.executable).parent / "kubectl-jxsecret"), "verify", "-o", "json"],
                            env=environment(exports), capture_output=True, text=True, timeout=60)
    assert verify.returncode == 3, verify.stderr
    assert {(r["namespace"], r["name"]): (r["state"], r["missingKeys"]) for r in json.loads(verify.stdout)} == DEMO


@pytest.mark.real_eso
def test_the_ui_shows_the_demo_set_in_a_browser(second_testbed):
    """Every row of the demo set in headless Chromium, in the state verify gives it (the test before seeded it)."""
    import re
    import signal
    import subprocess
    import sys

    from playwright.sync_api import sync_playwright

    state, exports = second_testbed
    ui = subprocess.Popen([str(Path(sys.executable).parent / "kubectl-jxsecret"), "ui", "--no-browser"],
                          env=environment(exports),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = "".join(ui.stdout.readline() for _ in range(3))
        assert "?token=" in banner, ui.stderr.read() if ui.poll() is not None else banner
        url = re.search(r"http://\S+/\?token=\S+", banner).group(0)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page()
            page.goto(url)
            # A locator, not wait_for_function: polling a JS string needs eval, which the page's CSP refuses.
            page.locator("tr.row[data-state]").nth(len(DEMO) - 1).wait_for()
            shown = page.eval_on_selector_all("tr.row", "rows => rows.map(r => [r.dataset.namespace, r.dataset.name, "
                                                        "r.dataset.state])")
            browser.close()
    finally:
        ui.send_signal(signal.SIGTERM)
        ui.wait(15)
    assert {(namespace, name): state for namespace, name, state in shown} == {
        where: state for where, (state, _) in DEMO.items()}


def test_up_is_idempotent_and_down_stops_only_its_own_processes(second_testbed):
    state, exports = second_testbed
    again = run_testbed("up", state_dir=state)
    assert (again.returncode, again.stderr) == (0, f"testbed: already up ({state})\n")
    assert again.stdout == exports  # same ports, same processes
    pids = json.loads((state / "state.json").read_text())["pids"]
    down = run_testbed("down", state_dir=state)
    assert down.returncode == 0
    assert [name for name, pid in pids.items() if running(pid)] == []
    assert not state.exists()
    assert run_testbed("status").returncode == 0  # the session's testbed is untouched
    assert run_testbed("env", state_dir=state).returncode == 1


def start_time(pid):
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[19])


BOOT = Path("/proc/sys/kernel/random/boot_id").read_text().strip()


@pytest.mark.parametrize("identity, message", [
    (None, "etcd: pid {pid} runs sleep, not etcd: not signalled"),  # a state.json of an older hack/testbed
    ({"boot": BOOT, "start": "later", "cmdline": ["sleep", "600"]},
     "etcd: pid {pid} is another process now (sleep, started later): not signalled"),  # the PID was reused
    ({"boot": "another-boot", "start": "same", "cmdline": ["sleep", "600"]},
     "etcd: pid {pid} is from another boot: not signalled"),
    ({"boot": BOOT, "start": "same", "cmdline": ["/usr/bin/etcd"]},
     "etcd: pid {pid} runs sleep, which its recorded command does not name: not signalled"),
])
def test_down_never_signals_a_process_it_did_not_start(tmp_path, identity, message):
    """A PID in state.json may belong to someone else after a reboot or PID reuse: down checks who it is."""
    import subprocess

    other = subprocess.Popen(["sleep", "600"], start_new_session=True)  # a group leader, as ours are
    try:
        state = tmp_path / "testbed"
        state.mkdir()
        recorded = {"pids": {"etcd": other.pid}, "eso": "real", "ports": {}}
        if identity:
            start = start_time(other.pid)
            identity = dict(identity, start={"same": start, "later": start - 1}[identity["start"]])
            recorded["identities"] = {"etcd": identity}
        (state / "state.json").write_text(json.dumps(recorded))
        down = run_testbed("down", state_dir=state)
        assert down.returncode == 0, down.stderr
        assert down.stderr.splitlines()[0] == "testbed: " + message.format(pid=other.pid)
        assert other.poll() is None  # still running
    finally:
        other.kill()
        other.wait()


def test_down_stops_a_process_whose_identity_matches(tmp_path):
    import subprocess

    ours = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        state = tmp_path / "testbed"
        state.mkdir()
        identity = {"boot": BOOT, "start": start_time(ours.pid), "cmdline": ["sleep", "600"]}
        (state / "state.json").write_text(json.dumps({"pids": {"etcd": ours.pid}, "eso": "real", "ports": {},
                                                      "identities": {"etcd": identity}}))
        down = run_testbed("down", state_dir=state)
        assert down.returncode == 0, down.stderr
        assert ours.wait(timeout=15) == -15  # SIGTERM, to its process group
    finally:
        ours.kill()
        ours.wait()


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


def test_a_user_who_is_not_root_gets_the_store_names_as_eso_does():
    """hack/testbed starts ESO in its own user and mount namespaces when not run as root (CI runs as root, so
    here the command it builds runs as nobody): the in-cluster names resolve inside, and the hosts file of
    the namespace is the testbed's."""
    import importlib.machinery
    import importlib.util
    import subprocess
    import tempfile

    path = Path(__file__).resolve().parents[2] / "hack" / "testbed"
    spec = importlib.util.spec_from_loader("hack_testbed", importlib.machinery.SourceFileLoader("hack_testbed",
                                                                                              str(path)))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    user = os.geteuid() or 65534  # as root, nobody
    as_user = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if os.geteuid() == 0 else []
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)  # readable by that user, as the testbed's state directory is by its own
        hosts = Path(folder) / "hosts"
        hosts.write_text(f"127.31.41.59 {' '.join(script.VAULT_NAMES)}\n")
        hosts.chmod(0o644)
        command = script.with_hosts(hosts, ["getent", "hosts", "vault.jx-vault.svc.cluster.local"], user)
        result = subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.split() == ["127.31.41.59", *script.VAULT_NAMES]
