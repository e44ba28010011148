"""How bytes get to the API server: a light urllib3 transport for the common kubeconfig users
(client certificates, bearer tokens, token files, basic auth, exec credential plugins), and the
kubernetes client for the rest (auth-provider plugins, proxies), which costs ~0.25 s more to import.

Both answer `request(method, url, headers, body, timeout) -> (status, bytes)` and raise
urllib3's HTTPError subclasses when the server cannot be reached. Neither sends a request without
the credentials the kubeconfig asks for: a plugin that cannot give them stops the command (ConfigError).
"""

import base64
import contextlib
import json
import logging
import os
import ssl
import tempfile
import threading

from ..errors import ConfigError, first_line

# User fields only the kubernetes client knows how to turn into credentials.
HEAVY_USER_FIELDS = ("auth-provider",)
# Legacy auth-provider plugins kubectl removed (1.26), with the exec plugin that replaced each.
REMOVED_AUTH_PROVIDERS = {"gcp": "gke-gcloud-auth-plugin", "azure": "kubelogin"}


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


def pem_user(credential) -> dict:
    """An exec plugin's client certificate and key, as kubeconfig user fields."""
    return {"client-certificate-data": base64.b64encode(credential.cert).decode(),
            "client-key-data": base64.b64encode(credential.key).decode()}


class LightTransport:
    def __init__(self, cluster: dict, user: dict, context: str = ""):
        import urllib3  # ~80 ms, a third of the kubernetes client

        from .exec_credential import ExecPlugin

        self.host = cluster["server"].rstrip("/")
        self.cluster = cluster
        self.pool_kw = {"maxsize": 8, "retries": False}
        if cluster.get("tls-server-name"):
            self.pool_kw["server_hostname"] = cluster["tls-server-name"]
        self.impersonation = impersonation_headers(user)
        # An exec plugin runs when the first request needs it (as in kubectl), not when we start.
        self.exec = ExecPlugin(user["exec"], cluster, context) if user.get("exec") else None
        self.user = {k: v for k, v in user.items() if k != "exec"}
        self.pool = urllib3.PoolManager(ssl_context=tls_context(cluster, self.user), **self.pool_kw)
        self.authorization = None if self.exec else auth_header(user)
        self._cert_pool: tuple[bytes, object] | None = None  # (exec plugin's certificate, its pool)

    def credentials(self):
        """(pool, Authorization header or None) for the next request."""
        import urllib3

        if self.exec is None:
            return self.pool, self.authorization
        credential = self.exec.get()
        if credential.token:
            return self.pool, f"Bearer {credential.token}"
        if self._cert_pool is None or self._cert_pool[0] != credential.cert:
            context = tls_context(self.cluster, {**self.user, **pem_user(credential)})
            self._cert_pool = (credential.cert, urllib3.PoolManager(ssl_context=context, **self.pool_kw))
        return self._cert_pool[1], None

    def request(self, method, url, headers, body, timeout, preload=True):
        """(status, bytes); with preload=False (status, the open urllib3 response) for a watch to stream."""
        import urllib3

        headers = with_impersonation(headers, self.impersonation)
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            pool, authorization = self.credentials()
            if authorization:
                headers["Authorization"] = authorization
            response = pool.request(method, url, headers=headers, body=data,
                                    timeout=urllib3.Timeout(total=timeout) if timeout and preload else
                                    urllib3.Timeout(connect=min(timeout, 10), read=timeout) if timeout else None,
                                    preload_content=preload)
            if response.status == 401 and self.exec and attempt == 0:
                self.exec.forget()  # like client-go: a rejected plugin credential is asked for again, once
                continue
            return response.status, (response.data if preload else response)


class KubernetesClientTransport:
    """The kubernetes client's ApiClient: auth-provider plugins, proxies, and token refresh.

    That client logs what goes wrong with credentials through the root logger and sends the request
    anyway; here its log is caught, and a user without usable credentials stops the command instead."""

    def __init__(self, merged: dict, context: str, user: dict, cluster: dict | None = None):
        from .exec_credential import ExecPlugin

        self.context = context
        provider = (user.get("auth-provider") or {}).get("name") or ""
        if provider in REMOVED_AUTH_PROVIDERS:
            raise ConfigError(f"getting credentials: the {provider} auth plugin has been removed from kubectl "
                              f'(context "{context}"): use the {REMOVED_AUTH_PROVIDERS[provider]} exec plugin')
        self.provider = provider
        # Exec plugins are ours (exec_credential), behind a proxy too: the client gets their credential.
        self.exec = ExecPlugin(user["exec"], cluster or {}, context) if user.get("exec") else None
        if self.exec:
            merged = self.with_exec_credential(merged, context)
        with captured_log() as log:
            try:
                # Our merged dict and context, so the client cannot pick another current-context than
                # kubectl would; persist_config=False so refreshed tokens are never written back.
                self.api = new_client(merged, context)
            except ConfigError:
                raise
            except Exception as e:  # the client's own errors, and an identity provider that cannot be reached
                raise self.credentials_error(first_line(e)) from None
        self.check_credentials(log)
        self.api.configuration.connection_pool_maxsize = 8
        self.host = self.api.configuration.host
        # The kubernetes client ignores the kubeconfig's impersonation fields; kubectl does not.
        self.impersonation = impersonation_headers(user)

    def with_exec_credential(self, merged: dict, context: str) -> dict:
        """A copy of `merged` whose context user holds the exec plugin's credential instead of the plugin."""
        import copy

        merged = copy.deepcopy(merged)
        name = next(c["context"].get("user") for c in merged["contexts"] if c["name"] == context)
        entry = next(u for u in merged["users"] if u["name"] == name)
        credential = self.exec.get()
        user = {k: v for k, v in entry["user"].items() if k != "exec"}
        entry["user"] = {**user, "token": credential.token} if credential.token else {**user, **pem_user(credential)}
        return merged

    def credentials_error(self, reason: str) -> ConfigError:
        what = f"auth-provider {self.provider}" if self.provider else "the kubeconfig user"
        return ConfigError(f'getting credentials: {what}: {reason} (context "{self.context}"): '
                           "log in again, or fix the user in the kubeconfig")

    def check_credentials(self, log: list) -> None:
        if log:
            raise self.credentials_error(log[0])
        if self.provider and "BearerToken" not in self.api.configuration.api_key:
            raise ConfigError(f'getting credentials: auth-provider {self.provider} gave no usable token '
                              f'(context "{self.context}"): log in again, or fix the user in the kubeconfig')

    def request(self, method, url, headers, body, timeout, preload=True):
        headers = with_impersonation(headers, self.impersonation)
        path = url[len(self.host):]
        with captured_log() as log:
            # update_params_for_auth refreshes expiring tokens (auth-provider plugins) before each request.
            self.api.update_params_for_auth(headers, None, ["BearerToken"], path, method, body)
        self.check_credentials(log)
        if self.exec and self.exec.get().token:
            headers["Authorization"] = f"Bearer {self.exec.get().token}"
        response = self.api.rest_client.request(method, url, headers=headers, body=body, _request_timeout=timeout,
                                                _preload_content=preload)
        return response.status, (response.read() if preload else response)


def new_client(merged: dict, context: str):
    from kubernetes.config import ConfigException, new_client_from_config_dict

    try:
        return new_client_from_config_dict(config_dict=merged, context=context, persist_config=False)
    except (ConfigException, ValueError, OSError) as e:
        raise ConfigError(f'context "{context}": {first_line(e)}: fix the kubeconfig') from None


class _LogCatcher(logging.Handler):
    """On the root logger, so the kubernetes client's logging.error() never reaches the terminal
    (nor makes logging configure itself): errors land in the list of the thread that asked, if any;
    everything else is dropped."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record):
        log = getattr(self.local, "log", None)
        if log is not None and record.levelno >= logging.ERROR:
            log.append(first_line(record.getMessage()))


_CATCHER = _LogCatcher()


@contextlib.contextmanager
def captured_log():
    root = logging.getLogger()
    if _CATCHER not in root.handlers:
        root.addHandler(_CATCHER)
    _CATCHER.local.log = log = []
    try:
        yield log
    finally:
        _CATCHER.local.log = None


def transport_for(kc):
    cluster, user = kc.cluster(), kc.user()
    if needs_kubernetes_client(cluster, user):
        return KubernetesClientTransport(kc.merged, kc.context, user, cluster)
    return LightTransport(cluster, user, kc.context)
