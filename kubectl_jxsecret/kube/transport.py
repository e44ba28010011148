"""How bytes get to the API server: a light urllib3 transport for the common kubeconfig users
(client certificates, bearer tokens, token files, basic auth), and the kubernetes client for the
rest (exec and auth-provider plugins, proxies), which costs ~0.25 s more to import.

Both answer `request(method, url, headers, body, timeout) -> (status, bytes)` and raise
urllib3's HTTPError subclasses when the server cannot be reached.
"""

import base64
import json
import os
import ssl
import tempfile

from ..errors import ConfigError, first_line

# User fields only the kubernetes client knows how to turn into credentials.
HEAVY_USER_FIELDS = ("exec", "auth-provider")


def needs_kubernetes_client(cluster: dict, user: dict) -> bool:
    return any(user.get(f) for f in HEAVY_USER_FIELDS) or bool(cluster.get("proxy-url"))


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
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ca = _pem(cluster, "certificate-authority", "certificate authority")
        ctx = ssl.create_default_context(cadata=ca.decode()) if ca else ssl.create_default_context()
    cert = _pem(user, "client-certificate", "client certificate")
    key = _pem(user, "client-key", "client key")
    if cert and key:
        # ssl only loads key pairs from files: a private directory, removed as soon as they are read.
        with tempfile.TemporaryDirectory(prefix="jxsecret-") as d:
            paths = []
            for name, data in (("cert.pem", cert), ("key.pem", key)):
                path = os.path.join(d, name)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                paths.append(path)
            try:
                ctx.load_cert_chain(*paths)
            except ssl.SSLError:
                raise ConfigError("the kubeconfig's client certificate and key do not match or cannot be read: "
                                  "fix the user entry") from None
    return ctx


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
    """kubeconfig `as`, `as-uid`, `as-groups`, `as-user-extra` (kubectl's --as flags, kept in a user)."""
    pairs = [("Impersonate-User", user["as"])] if user.get("as") else []
    if user.get("as-uid"):
        pairs.append(("Impersonate-Uid", user["as-uid"]))
    pairs += [("Impersonate-Group", group) for group in user.get("as-groups") or []]
    pairs += [(f"Impersonate-Extra-{key}", value)
              for key, values in (user.get("as-user-extra") or {}).items() for value in values]
    return pairs


def with_impersonation(headers: dict, pairs: list[tuple[str, str]]):
    import urllib3

    merged = urllib3.HTTPHeaderDict(headers)
    for name, value in pairs:
        merged.add(name, value)  # a header repeated once per group, as client-go sends it
    return merged


class LightTransport:
    def __init__(self, cluster: dict, user: dict):
        import urllib3  # ~80 ms, a third of the kubernetes client

        self.host = cluster["server"].rstrip("/")
        pool_kw = {"ssl_context": tls_context(cluster, user), "maxsize": 8, "retries": False}
        if cluster.get("tls-server-name"):
            pool_kw["server_hostname"] = cluster["tls-server-name"]
        self.pool = urllib3.PoolManager(**pool_kw)
        self.authorization = auth_header(user)
        self.impersonation = impersonation_headers(user)

    def request(self, method, url, headers, body, timeout):
        import urllib3

        headers = with_impersonation(headers, self.impersonation)
        if self.authorization:
            headers["Authorization"] = self.authorization
        data = json.dumps(body).encode() if body is not None else None
        response = self.pool.request(method, url, headers=headers, body=data,
                                     timeout=urllib3.Timeout(total=timeout) if timeout else None)
        return response.status, response.data


class KubernetesClientTransport:
    """The kubernetes client's ApiClient: exec/auth-provider plugins and token refresh."""

    def __init__(self, merged: dict, context: str, user: dict):
        from kubernetes.config import ConfigException, new_client_from_config_dict

        try:
            # Our merged dict and context, so the client cannot pick another current-context than
            # kubectl would; persist_config=False so refreshed tokens are never written back.
            self.api = new_client_from_config_dict(config_dict=merged, context=context, persist_config=False)
        except (ConfigException, ValueError, OSError) as e:
            raise ConfigError(f'context "{context}": {first_line(e)}: fix the kubeconfig') from None
        self.api.configuration.connection_pool_maxsize = 8
        self.host = self.api.configuration.host
        # The kubernetes client ignores the kubeconfig's impersonation fields; kubectl does not.
        self.impersonation = impersonation_headers(user)

    def request(self, method, url, headers, body, timeout):
        headers = with_impersonation(headers, self.impersonation)
        # update_params_for_auth refreshes expiring tokens (exec plugins) before each request.
        path = url[len(self.host):]
        self.api.update_params_for_auth(headers, None, ["BearerToken"], path, method, body)
        response = self.api.rest_client.request(method, url, headers=headers, body=body, _request_timeout=timeout)
        return response.status, response.read()


def transport_for(kc):
    cluster, user = kc.cluster(), kc.user()
    if needs_kubernetes_client(cluster, user):
        return KubernetesClientTransport(kc.merged, kc.context, user)
    return LightTransport(cluster, user)
