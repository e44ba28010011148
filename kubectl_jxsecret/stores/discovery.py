"""Find Vault's address, token and CA, and reach it: directly, or through a tunnel for the
duration of a command when the address only resolves inside the cluster.

Order (model.vault.resolve): flags, VAULT_*/BAO_* variables, ~/.vault-token, then the cluster,
read lazily: the ESO store's auth.tokenSecretRef, then Jenkins X's vault-unseal-keys and vault-tls
in Vault's namespace. Cluster Secrets are only read when nothing earlier supplied the value, tokens only
for a command that needs one and for the cluster's own Vault (model.clusters_vault).
"""

import base64
import contextlib
import functools
import os
import socket
import sys
import urllib.parse
from pathlib import Path
from typing import NamedTuple

from ..errors import KubeError, SettingError
from ..model import vault as model


def read_secret_key(kube, namespace: str, name: str, key: str) -> str | None:
    """One key of a Secret, or None when the Secret or key is absent or we may not read it."""
    try:
        secret = kube.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
    except KubeError as e:
        if e.status in (403, 404):
            return None
        raise
    value = (secret.get("data") or {}).get(key)
    return base64.b64decode(value).decode().strip() if value else None


def token_file(environ) -> str | None:
    path = Path(environ.get("HOME") or os.path.expanduser("~")) / ".vault-token"
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def gather(kube, flags: dict, environ, provider: dict | None = None, store_kind: str = "",
           store_namespace: str = "", default_namespace: str | None = None, need_token: bool = True
           ) -> model.VaultSettings:
    """VaultSettings for a command, checked (check_address, check_ca); `provider` is an ESO store's
    `spec.provider.vault|openBao`, `default_namespace` Vault's Kubernetes namespace for the Jenkins X default.
    Tokens are read from the cluster only when the command `need_token` and only for the cluster's own Vault."""
    provider = provider or {}
    store = {"server": provider.get("server"), "namespace": provider.get("namespace")}
    cluster: dict = {}
    settings = model.resolve(flags, environ, token_file(environ), store, cluster, default_namespace)
    check_address(settings)  # before the cluster's Secrets are read for it
    needs_token = need_token and settings.token is None
    needs_ca = settings.ca_cert is None and settings.address.value.startswith("https:")
    own = clusters_vault(kube, settings.address, environ) if needs_token or needs_ca else None
    if needs_token:
        ref = (provider.get("auth") or {}).get("tokenSecretRef") or {}
        # The store's token is for the store's server (what ESO does with it), or the cluster's Vault.
        if ref.get("name") and (settings.address.source == model.STORE_SERVER or own):
            # ESO: a ClusterSecretStore names the namespace; a SecretStore's is its own.
            ns = (ref.get("namespace") if store_kind == "ClusterSecretStore" else store_namespace) or store_namespace
            key = ref.get("key", "token")
            token = read_secret_key(kube, ns, ref["name"], key)
            if (ref["name"], key) == (model.JX_TOKEN_SECRET, model.JX_TOKEN_KEY):  # the store uses the root token
                cluster.update(token=token, namespace=ns)
            else:
                store["token"] = token
        if not store.get("token") and not cluster.get("token") and own:
            cluster["token"] = read_secret_key(kube, own.namespace, model.JX_TOKEN_SECRET, model.JX_TOKEN_KEY)
            cluster["namespace"] = own.namespace
    if needs_ca:  # a CA is public: any Vault may be told which one to trust
        pem = read_secret_key(kube, own.namespace if own else model.JX_VAULT_NAMESPACE, model.JX_CA_SECRET,
                              model.JX_CA_KEY)
        if pem:
            cluster["ca_cert"] = ca_file(kube.context, pem)
    settings = model.resolve(flags, environ, token_file(environ), store, cluster, default_namespace)
    check_ca(settings)
    return settings


def clusters_vault(kube, address: model.Setting, environ) -> model.InCluster | None:
    """The cluster's own Vault that `address` reaches (model.clusters_vault), asking DNS and our tunnel records."""
    from ..tunnel_records import live_records

    loopback = model.is_loopback(address.value)
    return model.clusters_vault(address, not loopback and reachable_here(address.value), kube.server,
                                live_records(environ) if loopback else [])


def check_address(settings: model.VaultSettings) -> None:
    problem = model.address_error(settings.address)
    if problem:
        raise SettingError(problem)


def check_ca(settings: model.VaultSettings) -> None:
    """The CA file, where an https address will use it: there, readable, a PEM certificate."""
    ca = settings.ca_cert
    if not ca or not settings.address.value.startswith("https:") or os.path.isdir(ca.value):
        return  # a directory of hashed certificates is fine too (VAULT_CAPATH style)
    try:
        with open(ca.value, "rb") as f:
            pem = f.read(1 << 20)
    except FileNotFoundError:
        problem = "does not exist"
    except OSError as e:
        problem = f"cannot be read ({e.strerror})"
    else:
        problem = None if b"-----BEGIN CERTIFICATE-----" in pem else "holds no PEM certificate"
    if problem:
        raise SettingError(f"the Vault CA file {ca.value} ({ca.source}) {problem}: fix {ca.source}")


def in_cluster(kube, settings: model.VaultSettings) -> model.InCluster | None:
    """The in-cluster service Vault's address names, when that name does not resolve from here (so it
    takes a tunnel); None when the address is to be used as it is."""
    address, source = settings.address.value, settings.address.source
    target = model.in_cluster_target(address, reachable_here(address))
    if target is None:
        return None
    check_target(target, address, source)
    if source in model.TYPED and target.host.count(".") == 1 and not namespace_exists(kube, target.namespace):
        raise SettingError(f"{source} {address} does not resolve from here, and context \"{kube.context}\" has no "
                           f'namespace "{target.namespace}" for it to name a service in: fix {source}')
    return target


def check_target(target: model.InCluster, address: str, source: str) -> None:
    if not target.namespace:  # inside the cluster, the namespace of the pod that uses it
        raise SettingError(f"{source} {address} names service {target.service} but not its namespace, which "
                           f"outside the cluster is unknown: use {target.scheme}://{target.service}.<namespace>"
                           f"{f':{target.port}' if urllib.parse.urlsplit(address).port else ''}")


def namespace_exists(kube, namespace: str) -> bool:
    try:
        kube.get(f"/api/v1/namespaces/{namespace}")
    except KubeError as e:
        if e.status == 404:
            return False
        if e.status == 403:
            return True  # may not look: let the tunnel tell
        raise
    return True


def ca_file(context: str, pem: str) -> str:
    """The CA certificate as a file (hvac wants a path). A CA is public, but keep it private anyway."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kubectl-jxsecret" / "vault-ca"
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = cache / f"{''.join(c if c.isalnum() or c in '-_.' else '_' for c in context)}.crt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(pem + "\n")
    return str(path)


@functools.lru_cache(maxsize=None)  # asked by discovery, then by the tunnel: one DNS wait per command
def reachable_here(address: str) -> bool:
    """Does the address's host name resolve from this machine? In-cluster names (svc DNS) do not."""
    host = urllib.parse.urlsplit(address).hostname or ""
    try:
        socket.getaddrinfo(host, None)
        return True
    except (socket.gaierror, UnicodeError):
        return False


class Reach(NamedTuple):
    """How to reach Vault: `address` for requests; `via` names the pod when that is a tunnel."""

    address: str
    via: str = ""


@contextlib.contextmanager
def open_vault(kube, settings: model.VaultSettings, stderr=sys.stderr, pod_timeout: float = 60):
    """Yield the Reach of Vault: the configured address, or a tunnel to it for the duration."""
    from ..tunnel import PodTarget, Tunnel, wait_for_pod

    address = settings.address.value
    target = in_cluster(kube, settings)
    if model.uses_root_token(settings):
        print(f"vault: using the root token of {settings.token.source} (set VAULT_TOKEN to use your own)", file=stderr)
    if target is None:
        yield Reach(address)
        return
    pod_name = model.JX_VAULT_POD if target.service == model.JX_VAULT_SERVICE else None
    pod = wait_for_pod(kube, PodTarget(target.namespace, pod_name, target.service, target.port), pod_timeout, stderr)
    source = settings.address.source
    with Tunnel(kube, target.namespace, pod, port_setting=f"from {source}", port_fix=f"fix the port in {source}") \
            as tunnel:
        print(f"vault: {address} is inside the cluster; tunnelling through pod {target.namespace}/{pod.name}",
              file=stderr)
        yield Reach(f"{target.scheme}://127.0.0.1:{tunnel.port}", f"pod {target.namespace}/{pod.name}")
