"""The kubernetes client as a transport (transport.py's interface), for auth-provider plugins: ~0.25 s
more to import than the light transport, so only those users pay it.

It goes through the proxy transport.py's light transport would use, and does not retry by itself:
client.py retries both transports alike.
"""

import contextlib
import logging
import os
import threading
import urllib.parse

from ..errors import ConfigError, first_line
from .proxy import proxy_for, redacted
from .transport import Unreachable, impersonation_headers, pem_user, proxy_authorization

# Legacy auth-provider plugins kubectl removed (1.26), with the exec plugin that replaced each.
REMOVED_AUTH_PROVIDERS = {"gcp": "gke-gcloud-auth-plugin", "azure": "kubelogin"}


class KubernetesClientTransport:
    """The kubernetes client's ApiClient: auth-provider plugins and their token refresh.

    That client logs what goes wrong with credentials through the root logger and sends the request
    anyway; here its log is caught, and a user without usable credentials stops the command instead."""

    def __init__(self, merged: dict, context: str, user: dict, cluster: dict | None = None, environ=os.environ):
        from .exec_credential import ExecPlugin

        self.context = context
        provider = (user.get("auth-provider") or {}).get("name") or ""
        if provider in REMOVED_AUTH_PROVIDERS:
            raise ConfigError(f"getting credentials: the {provider} auth plugin has been removed from kubectl "
                              f'(context "{context}"): use the {REMOVED_AUTH_PROVIDERS[provider]} exec plugin')
        self.provider = provider
        # Exec plugins are ours (exec_credential): the client gets their credential.
        self.exec = ExecPlugin(user["exec"], cluster or {}, context) if user.get("exec") else None
        if self.exec:
            merged = self.with_exec_credential(merged, context)
        with captured_log() as log:
            try:
                # Our merged dict and context, so the client cannot pick another current-context than
                # kubectl would; persist_config=False so refreshed tokens are never written back.
                self.api = new_client(merged, context, cluster or {}, environ)
            except ConfigError:
                raise
            except Exception as e:  # the client's own errors, and an identity provider that cannot be reached
                raise self.credentials_error(first_line(e)) from None
        self.check_credentials(log)
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

    def credentials(self) -> str | None:
        """The Authorization header of the next request, as LightTransport.credentials(): also for the port-forward
        WebSocket, which the kubernetes client cannot carry (kube/portforward.py)."""
        headers = {}
        with captured_log() as log:
            # update_params_for_auth refreshes expiring tokens (auth-provider plugins) before each request.
            self.api.update_params_for_auth(headers, None, ["BearerToken"], "", "GET", None)
        self.check_credentials(log)
        if self.exec and self.exec.get().token:
            return f"Bearer {self.exec.get().token}"
        return headers.get("authorization")

    def request(self, method, url, headers: dict, body, timeout, preload=True):
        import urllib3

        headers = urllib3.HTTPHeaderDict(headers)
        for name, value in self.impersonation:
            headers.add(name, value)
        if authorization := self.credentials():
            headers["Authorization"] = authorization
        from kubernetes.client.exceptions import ApiException

        proxy = self.api.configuration.proxy
        via = redacted(urllib.parse.urlsplit(proxy)) if proxy else ""
        try:
            # The client's RESTResponse wraps urllib3's, never read yet: the raw one streams too.
            response = self.api.rest_client.request(method, url, headers=headers, body=body,
                                                    _request_timeout=timeout).response
            if preload:
                response.read(cache_content=True)
                response.release_conn()
        except urllib3.exceptions.HTTPError as e:
            cause = getattr(e, "reason", None) or e
            raise Unreachable(first_line(cause), isinstance(e, urllib3.exceptions.ProtocolError), via) from None
        except ApiException as e:  # how the client reports a TLS failure: status 0, "SSLError\n<what>"
            raise Unreachable(first_line(str(e.reason or e).split("\n", 1)[-1]), False, via) from None
        return response


def new_client(merged: dict, context: str, cluster: dict, environ):
    from kubernetes.client import ApiClient, Configuration
    from kubernetes.config import ConfigException, load_kube_config_from_dict

    # Set before the ApiClient builds its connection pool, which reads them once.
    configuration = Configuration(retries=False, connection_pool_maxsize=8)  # client.py retries, as for the light one
    try:
        load_kube_config_from_dict(config_dict=merged, context=context, client_configuration=configuration,
                                   persist_config=False)
    except (ConfigException, ValueError, OSError) as e:
        raise ConfigError(f'context "{context}": {first_line(e)}: fix the kubeconfig') from None
    proxy = proxy_for(configuration.host, cluster, environ)  # the same choice as the light transport's
    configuration.proxy = proxy.geturl() if proxy else None
    configuration.no_proxy = ""  # the choice is made: the client must not apply its own NO_PROXY rules on top
    configuration.proxy_headers = proxy_authorization(proxy) or None
    return ApiClient(configuration=configuration)


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
