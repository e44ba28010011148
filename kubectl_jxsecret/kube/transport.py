"""How bytes get to the API server: a light transport (http1.py and ssl, keep-alive connections) for the
common kubeconfig users (client certificates, bearer tokens, token files, basic auth, exec credential
plugins), and the kubernetes client for auth-provider plugins, which costs ~0.25 s more to import.

Both answer `request(method, url, headers, body, timeout, preload) -> response` (`status`, `headers`,
`data` when preloaded, else `stream(n)`, `read()` and `release_conn()`), go through the proxy that
proxy.py picks (client-go's rules), and raise Unreachable when the server cannot be reached. Neither
retries: client.py retries both alike. Neither sends a request without the credentials the kubeconfig
asks for: a plugin that cannot give them stops the command (ConfigError).
"""

import base64
import contextlib
import json
import os
import select
import ssl
import threading

from ..errors import ConfigError, first_line
from .http1 import Connection
from .proxy import proxy_for, redacted

# User fields only the kubernetes client knows how to turn into credentials.
HEAVY_USER_FIELDS = ("auth-provider",)
MAX_IDLE_CONNECTIONS = 8  # kept open for the next request; more may be open at once (parallel LISTs)


class Unreachable(Exception):
    """The API server (or the proxy before it) could not be reached, or cut the connection.
    `reset`: it was cut after it was open (client-go retries a GET then); `proxy`: the proxy it went through."""

    def __init__(self, reason: str, reset: bool = False, proxy: str = ""):
        super().__init__(reason)
        self.reset, self.proxy = reset, proxy


def needs_kubernetes_client(cluster: dict, user: dict) -> bool:
    return any(user.get(f) for f in HEAVY_USER_FIELDS)


def _pem(entry: dict, field: str, what: str) -> bytes | None:
    """`<field>-data` (base64) or the file `<field>`; None when neither is set."""
    if entry.get(f"{field}-data"):
        return base64.b64decode(entry[f"{field}-data"])
    if entry.get(field):
        try:
            with open(entry[field], "rb") as f:
                return f.read()
        except OSError as e:
            raise ConfigError(f"cannot read the {what} {entry[field]}: {e.strerror}: fix the kubeconfig") from None
    return None


def tls_context(cluster: dict, user: dict) -> ssl.SSLContext:
    if cluster.get("insecure-skip-tls-verify"):
        # Not create_default_context(): it reads the system's CA bundle (~18 ms), to verify nothing.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ca = _pem(cluster, "certificate-authority", "certificate authority")
        ctx = ssl.create_default_context(cadata=ca.decode()) if ca else ssl.create_default_context()
    cert = _pem(user, "client-certificate", "client certificate")
    key = _pem(user, "client-key", "client key")
    if cert and key:
        with key_pair_files(cert, key) as paths:
            try:
                ctx.load_cert_chain(*paths)
            except ssl.SSLError:
                raise ConfigError("the kubeconfig's client certificate and key do not match or cannot be read: "
                                  "fix the user entry") from None
    return ctx


@contextlib.contextmanager
def key_pair_files(cert: bytes, key: bytes):
    """Paths ssl can load a key pair from (it only reads files): anonymous in-memory files where the
    system has them (the key never touches a disk), else a private directory removed right after."""
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fds = [os.memfd_create(name, os.MFD_CLOEXEC) for name in ("jxsecret-cert", "jxsecret-key")]
        try:
            for fd, data in zip(fds, (cert, key)):
                os.write(fd, data)
            yield [f"/proc/self/fd/{fd}" for fd in fds]
        finally:
            for fd in fds:
                os.close(fd)
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="jxsecret-") as d:
        paths = []
        for name, data in (("cert.pem", cert), ("key.pem", key)):
            path = os.path.join(d, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            paths.append(path)
        yield paths


def auth_header(user: dict) -> str | None:
    if user.get("token"):
        return f"Bearer {user['token']}"
    if user.get("tokenFile"):
        try:
            with open(user["tokenFile"]) as f:
                return f"Bearer {f.read().strip()}"
        except OSError as e:
            raise ConfigError(f"cannot read the token file {user['tokenFile']}: {e.strerror}") from None
    if user.get("username"):
        pair = f"{user['username']}:{user.get('password', '')}".encode()
        return f"Basic {base64.b64encode(pair).decode()}"
    return None


def impersonation_headers(user: dict) -> list[tuple[str, str]]:
    """kubeconfig `as`, `as-uid`, `as-groups`, `as-user-extra` (kubectl's --as flags, kept in a user);
    a header repeated once per group, as client-go sends it."""
    pairs = [("Impersonate-User", user["as"])] if user.get("as") else []
    if user.get("as-uid"):
        pairs.append(("Impersonate-Uid", user["as-uid"]))
    pairs += [("Impersonate-Group", group) for group in user.get("as-groups") or []]
    pairs += [(f"Impersonate-Extra-{key}", value)
              for key, values in (user.get("as-user-extra") or {}).items() for value in values]
    return pairs


def proxy_authorization(proxy) -> dict:
    """Basic credentials of a proxy URL's user:password, as Go sends them."""
    if proxy is None or proxy.username is None:
        return {}
    import urllib.parse

    pair = f"{urllib.parse.unquote(proxy.username)}:{urllib.parse.unquote(proxy.password or '')}"
    return {"Proxy-Authorization": f"Basic {base64.b64encode(pair.encode()).decode()}"}


def pem_user(credential) -> dict:
    """An exec plugin's client certificate and key, as kubeconfig user fields."""
    return {"client-certificate-data": base64.b64encode(credential.cert).decode(),
            "client-key-data": base64.b64encode(credential.key).decode()}


def dropped(sock) -> bool:
    """An idle kept connection the server closed (or wrote to: it is not ours to read then)."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def unreachable(e: Exception, proxy=None) -> Unreachable:
    reset = isinstance(e, (ConnectionResetError, BrokenPipeError))
    text = str(e) or type(e).__name__
    if isinstance(e, ssl.SSLCertVerificationError):
        text = f"certificate verify failed: {e.verify_message}"
    return Unreachable(first_line(text), reset, redacted(proxy) if proxy else "")


class Response:
    """One answer of the light transport. Its connection goes back to the transport for the next
    request once the body is read to its end; a body left half read closes it."""

    def __init__(self, transport, connection: Connection, answer):
        self.transport, self.connection, self.answer = transport, connection, answer
        self.status, self.headers = answer.status, answer.headers
        self.data = b""

    def read(self) -> bytes:
        try:
            self.data = self.answer.read()
        except (OSError, ValueError) as e:
            self.connection.close()
            raise unreachable(e, self.transport.proxy) from None
        self.release_conn()
        return self.data

    def stream(self, amount: int):
        """The body as it arrives, in pieces of at most `amount` bytes."""
        try:
            while chunk := self.answer.read1(amount):
                yield chunk
        except (OSError, ValueError) as e:
            raise unreachable(e, self.transport.proxy) from None

    def release_conn(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        if self.answer.reusable:
            self.transport.keep(connection)
        else:
            connection.close()


class LightTransport:
    """Requests for users whose credentials are a client certificate or a header (token, basic auth, an exec
    plugin's either): connections kept open between requests (a TLS handshake costs several times a small
    LIST), shared by threads."""

    def __init__(self, cluster: dict, user: dict, context: str = "", environ=os.environ):
        import urllib.parse

        self.host = cluster["server"].rstrip("/")
        server = urllib.parse.urlsplit(self.host)
        self.https = server.scheme == "https"
        self.host_header = server.netloc.rpartition("@")[2]
        try:
            self.address = (server.hostname or "", server.port or (443 if self.https else 80))
        except ValueError:
            raise ConfigError(f"the cluster's server {self.host} has an invalid port: fix the kubeconfig") from None
        self.server_name = cluster.get("tls-server-name") or server.hostname
        self.proxy = proxy_for(self.host, cluster, environ)
        self.cluster = cluster
        self.impersonation = impersonation_headers(user)
        # An exec plugin runs when the first request needs it (as in kubectl), not when we start.
        self.exec = None
        if user.get("exec"):
            from .exec_credential import ExecPlugin  # and subprocess: only for its users

            self.exec = ExecPlugin(user["exec"], cluster, context)
        self.user = {k: v for k, v in user.items() if k != "exec"}
        self.ssl_context = tls_context(cluster, self.user) if self.https else None
        self.authorization = None if self.exec else auth_header(user)
        self._exec_cert: bytes | None = None  # the exec plugin's certificate that ssl_context holds
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    def credentials(self) -> str | None:
        """The Authorization header of the next request, if any (an exec plugin's certificate goes in
        the TLS context instead)."""
        if self.exec is None:
            return self.authorization
        credential = self.exec.get()
        if credential.token:
            return f"Bearer {credential.token}"
        if self._exec_cert != credential.cert:
            context = tls_context(self.cluster, {**self.user, **pem_user(credential)})
            with self._lock:
                self.ssl_context, self._exec_cert, idle, self._idle = context, credential.cert, self._idle, []
            for connection in idle:
                connection.close()
        return None

    def keep(self, connection) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    def connection(self, timeout) -> tuple[Connection, bool]:
        """(a connection, whether it is a kept one)."""
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if not dropped(connection.sock):
                    connection.settimeout(timeout)
                    return connection, True
                connection.close()
        return self.new_connection(timeout), False

    def new_connection(self, timeout) -> Connection:
        tls = (self.ssl_context, self.server_name) if self.https else None
        if not self.proxy:
            return Connection(self.address, timeout, tls)
        proxy = (self.proxy.hostname, self.proxy.port)
        if not self.https:  # plain http: requests in absolute form to the proxy
            return Connection(proxy, timeout)
        return Connection(proxy, timeout, tls, tunnel=(self.address, proxy_authorization(self.proxy)))

    def send(self, method, url, headers: list[tuple[str, str]], data: bytes | None, timeout) -> Response:
        target = url[len(self.host):] or "/"
        if self.proxy and not self.https:
            target = url
            headers = headers + list(proxy_authorization(self.proxy).items())
        while True:
            connection, kept = self.connection(timeout)
            try:
                return Response(self, connection, connection.request(method, target, self.host_header, headers, data))
            except (OSError, ValueError) as e:
                connection.close()
                # A kept connection the server closed as we sent: it never saw the request; a new one.
                if kept and isinstance(e, (ConnectionResetError, BrokenPipeError)):
                    continue
                raise unreachable(e, self.proxy) from None

    def request(self, method, url, headers: dict, body, timeout, preload=True) -> Response:
        pairs = [*headers.items(), *self.impersonation]
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            authorization = self.credentials()
            response = self.send(method, url, pairs + ([("Authorization", authorization)] if authorization else []),
                                 data, timeout)
            if response.status == 401 and self.exec and attempt == 0:
                response.read()
                self.exec.forget()  # like client-go: a rejected plugin credential is asked for again, once
                continue
            if preload:
                response.read()
            return response


def transport_for(kc, environ=os.environ):
    cluster, user = kc.cluster(), kc.user()
    if needs_kubernetes_client(cluster, user):
        from .kubernetes_transport import KubernetesClientTransport

        return KubernetesClientTransport(kc.merged, kc.context, user, cluster, environ)
    return LightTransport(cluster, user, kc.context, environ)
