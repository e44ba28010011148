"""Find Vault's address, token and CA, and reach it: directly, or through a tunnel for the
duration of a command when the address only resolves inside the cluster.

Order (model.vault.resolve): flags, VAULT_*/BAO_* variables, ~/.vault-token, then the cluster,
read lazily: the ESO store's auth.tokenSecretRef, then Jenkins X's vault-unseal-keys and vault-tls
in Vault's namespace. Cluster Secrets are only read when nothing earlier supplied the value.
"""

import base64
import contextlib
import os
import socket
import sys
import urllib.parse
from pathlib import Path

from ..errors import KubeError
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
           store_namespace: str = "") -> model.VaultSettings:
    """VaultSettings for a command; `provider` is an ESO store's `spec.provider.vault|openBao`."""
    provider = provider or {}
    store = {"server": provider.get("server"), "namespace": provider.get("namespace")}
    cluster: dict = {}
    settings = model.resolve(flags, environ, token_file(environ), store, cluster)
    vault_ns = vault_namespace(settings.address.value)
    if settings.token is None:
        ref = (provider.get("auth") or {}).get("tokenSecretRef") or {}
        if ref.get("name"):
            # ESO: a ClusterSecretStore names the namespace; a SecretStore's is its own.
            ns = ref.get("namespace") if store_kind == "ClusterSecretStore" else store_namespace
            store["token"] = read_secret_key(kube, ns or store_namespace, ref["name"], ref.get("key", "token"))
        if not store.get("token"):
            cluster["token"] = read_secret_key(kube, vault_ns, model.JX_TOKEN_SECRET, model.JX_TOKEN_KEY)
    if settings.ca_cert is None and settings.address.value.startswith("https:"):
        pem = read_secret_key(kube, vault_ns, model.JX_CA_SECRET, model.JX_CA_KEY)
        if pem:
            cluster["ca_cert"] = ca_file(kube.context, pem)
    return model.resolve(flags, environ, token_file(environ), store, cluster)


def vault_namespace(address: str) -> str:
    """Where Jenkins X keeps Vault's Secrets: the namespace of an in-cluster address, else jx-vault."""
    target = model.in_cluster_target(address)
    return target.namespace if target else model.JX_VAULT_NAMESPACE


def ca_file(context: str, pem: str) -> str:
    """The CA certificate as a file (hvac wants a path). A CA is public, but keep it private anyway."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kubectl-jxsecret" / "vault-ca"
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = cache / f"{''.join(c if c.isalnum() or c in '-_.' else '_' for c in context)}.crt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(pem + "\n")
    return str(path)


def reachable_here(address: str) -> bool:
    """Does the address's host name resolve from this machine? In-cluster names (svc DNS) do not."""
    host = urllib.parse.urlsplit(address).hostname or ""
    try:
        socket.getaddrinfo(host, None)
        return True
    except (socket.gaierror, UnicodeError):
        return False


@contextlib.contextmanager
def open_vault(kube, settings: model.VaultSettings, stderr=sys.stderr, pod_timeout: float = 60):
    """Yield the address to use for Vault: the configured one, or a tunnel to it for the duration."""
    from ..tunnel import PodTarget, Tunnel, wait_for_pod

    address = settings.address.value
    target = model.in_cluster_target(address)
    if target is None or reachable_here(address):
        yield address
        return
    pod_name = model.JX_VAULT_POD if target.service == model.JX_VAULT_SERVICE else None
    pod = wait_for_pod(kube, PodTarget(target.namespace, pod_name, target.service, target.port), pod_timeout, stderr)
    with Tunnel(kube, target.namespace, pod) as tunnel:
        print(f"vault: {address} is inside the cluster; tunnelling through pod {target.namespace}/{pod.name}",
              file=stderr)
        yield f"{target.scheme}://127.0.0.1:{tunnel.port}"
