"""The API server through an HTTP proxy, as client-go goes: HTTPS_PROXY / NO_PROXY and the kubeconfig's
proxy-url, a CONNECT tunnel, TLS inside it. The proxy is a real one, small, on 127.0.0.1: it relays each
tunnel to the testbed's API server and records what it was asked."""

import json
import socket
import threading

import pytest
import yaml

# A name that resolves nowhere (.test is reserved): only the proxy can reach it.
PROXIED_HOST = "apiserver.proxied.test"


class ConnectProxy:
    """An HTTP CONNECT proxy on 127.0.0.1 that relays every tunnel to 127.0.0.1 on the port asked for,
    whatever the host, and records each CONNECT (target, Proxy-Authorization). With `credentials`, a
    CONNECT without them is answered 407."""

    def __init__(self, credentials: str | None = None):
        self.credentials = credentials
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connects: list[tuple[str, str | None]] = []
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def serve(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed: the test is over
                return
            threading.Thread(target=self.handle, args=(client,), daemon=True).start()

    def handle(self, client):
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(4096)
                if not data:
                    return
                head += data
            lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {name.strip().lower(): value.strip()
                       for name, _, value in (line.partition(":") for line in lines[1:])}
            self.connects.append((target, headers.get("proxy-authorization")))
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            if self.credentials and headers.get("proxy-authorization") != self.credentials:
                client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                return
            with socket.create_connection(("127.0.0.1", int(target.rsplit(":", 1)[1])), timeout=30) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                back = threading.Thread(target=relay, args=(upstream, client), daemon=True)
                back.start()
                relay(client, upstream)
                back.join(30)

    def close(self):
        self.listener.close()


def relay(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


@pytest.fixture
def proxy():
    server = ConnectProxy()
    yield server
    server.close()


def proxied_kubeconfig(testbed, tmp_path, **cluster_fields):
    """The testbed's kubeconfig with its server named PROXIED_HOST (the certificate's `kubernetes` name
    checked, as tls-server-name), plus `cluster_fields`."""
    config = yaml.safe_load(open(testbed.kubeconfig))
    cluster = config["clusters"][0]["cluster"]
    port = cluster["server"].rsplit(":", 1)[1]
    cluster.update({"server": f"https://{PROXIED_HOST}:{port}", "tls-server-name": "kubernetes", **cluster_fields})
    path = tmp_path / "proxied.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path), port


@pytest.fixture
def one_externalsecret(testbed, namespace):
    testbed.apply({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "db", "namespace": namespace},
        "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"}, "target": {"name": "db"},
                 "data": [{"secretKey": "password", "remoteRef": {"key": f"tests/{namespace}/db", "property": "p"}}]}})
    return namespace


def test_https_proxy_carries_every_request(testbed, tmp_path, proxy, one_externalsecret):
    direct = testbed.jxsecret("verify", "-n", one_externalsecret, "-o", "json")
    kubeconfig, port = proxied_kubeconfig(testbed, tmp_path)

    through = testbed.jxsecret("verify", "-n", one_externalsecret, "-o", "json", kubeconfig=kubeconfig,
                               HTTPS_PROXY=proxy.url, NO_PROXY="example.com,10.0.0.0/8")

    assert (through.returncode, through.stderr) == (direct.returncode, direct.stderr)
    assert [row["name"] for row in json.loads(through.stdout)] == ["db"]
    assert through.stdout == direct.stdout
    # Every request went through the tunnel: kept alive, one CONNECT carried them all.
    assert proxy.connects == [(f"{PROXIED_HOST}:{port}", None)]


def test_no_proxy_match_goes_direct(testbed, tmp_path, proxy, one_externalsecret):
    kubeconfig, port = proxied_kubeconfig(testbed, tmp_path)

    result = testbed.jxsecret("verify", "-n", one_externalsecret, kubeconfig=kubeconfig,
                              HTTPS_PROXY=proxy.url, NO_PROXY=".proxied.test")

    # Direct, the name resolves nowhere: that is the error, and the proxy saw nothing.
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"error: cannot reach the API server https://{PROXIED_HOST}:{port} "
                             f'(context "testbed"): name or service not known: check that the cluster is up and '
                             "the context is right\n")
    assert proxy.connects == []


def test_loopback_server_never_takes_the_environment_proxy(testbed, proxy, one_externalsecret):
    result = testbed.jxsecret("verify", "-n", one_externalsecret, "-o", "name", HTTPS_PROXY=proxy.url)

    assert result.stdout.split() == ["externalsecret.external-secrets.io/db"]
    assert proxy.connects == []


def test_kubeconfig_proxy_url_wins_over_no_proxy_and_sends_its_credentials(testbed, tmp_path, one_externalsecret):
    guarded = ConnectProxy(credentials="Basic dXNlcjpwQHNz")  # user:p@ss
    try:
        kubeconfig, port = proxied_kubeconfig(testbed, tmp_path, **{"proxy-url": f"http://user:p%40ss@127.0.0.1:"
                                                                                 f"{guarded.port}"})
        result = testbed.jxsecret("verify", "-n", one_externalsecret, "-o", "name", kubeconfig=kubeconfig,
                                  NO_PROXY="*")
        assert result.stdout.split() == ["externalsecret.external-secrets.io/db"]
        assert guarded.connects == [(f"{PROXIED_HOST}:{port}", "Basic dXNlcjpwQHNz")]

        # Wrong credentials: the proxy's answer, in one line that does not show the password.
        kubeconfig, port = proxied_kubeconfig(testbed, tmp_path, **{"proxy-url": f"http://user:wrong@127.0.0.1:"
                                                                                 f"{guarded.port}"})
        result = testbed.jxsecret("verify", "-n", one_externalsecret, kubeconfig=kubeconfig)
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr == (f"error: cannot reach the API server https://{PROXIED_HOST}:{port} through the proxy "
                                 f'http://127.0.0.1:{guarded.port} (context "testbed"): the proxy answered 407 Proxy '
                                 f"Authentication Required to CONNECT {PROXIED_HOST}:{port}: check that the cluster "
                                 "is up and the context is right\n")
    finally:
        guarded.close()


def test_auth_provider_users_take_the_same_proxy(testbed, tmp_path, proxy, one_externalsecret):
    """The kubernetes client (auth-provider users) goes through the proxy the light transport would take."""
    import base64
    import time

    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    # An unexpired token the client uses as it is; the API server does not trust its issuer: 401.
    token = f"{part({'alg': 'RS256'})}.{part({'iss': 'https://idp.invalid', 'exp': int(time.time()) + 3600})}.c2ln"
    kubeconfig, port = proxied_kubeconfig(testbed, tmp_path)
    config = yaml.safe_load(open(kubeconfig))
    config["users"][0]["user"] = {"auth-provider": {"name": "oidc", "config": {
        "client-id": "kubectl", "idp-issuer-url": "https://idp.invalid", "id-token": token}}}
    with open(kubeconfig, "w") as f:
        yaml.safe_dump(config, f)

    result = testbed.jxsecret("verify", "-n", one_externalsecret, kubeconfig=kubeconfig, HTTPS_PROXY=proxy.url,
                              NO_PROXY="10.0.0.0/8")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ('error: unauthorized (context "testbed"): the credentials were rejected; log in again or '
                             "fix the kubeconfig user\n")
    assert {target for target, _ in proxy.connects} == {f"{PROXIED_HOST}:{port}"}


def test_the_vault_tunnel_goes_through_the_proxy_too(testbed, tmp_path, proxy):
    """Each port-forward stream is a WebSocket inside a CONNECT tunnel of its own, with the proxy's credentials."""
    import subprocess
    import urllib.request

    kubeconfig, port = proxied_kubeconfig(testbed, tmp_path)
    pf = subprocess.Popen(["kubectl", "jxsecret", "vault", "portforward", "--port", "0"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True,
                          env=testbed.env(KUBECONFIG=kubeconfig, HTTPS_PROXY=proxy.url, NO_PROXY="10.0.0.0/8"))
    try:
        line = pf.stdout.readline()
        assert line.startswith("export VAULT_ADDR=http://127.0.0.1:"), pf.stderr.read() if not line else line
        address = line.strip().split("=", 1)[1]
        for _ in range(2):  # the probe's stream, then a stream of its own
            with urllib.request.urlopen(f"{address}/v1/sys/health", timeout=10) as answer:
                assert json.load(answer)["initialized"] is True
    finally:
        pf.terminate()
        pf.wait(20)
    # The pod's GET, then the probe's stream on the connection it left open (the first request's too), then the
    # second request's stream: two CONNECTs.
    assert proxy.connects == [(f"{PROXIED_HOST}:{port}", None)] * 2
