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
from dataclasses import dataclass
from pathlib import Path

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
           store_namespace: str = "", default_namespace: str | None = None) -> model.VaultSettings:
    """VaultSettings for a command, checked (check_address, check_ca); `provider` is an ESO store's
    `spec.provider.vault|openBao`, `default_namespace` Vault's Kubernetes namespace for the Jenkins X default."""
    provider = provider or {}
    store = {"server": provider.get("server"), "namespace": provider.get("namespace")}
    cluster: dict = {}
    settings = model.resolve(flags, environ, token_file(environ), store, cluster, default_namespace)
    check_address(settings)  # before the cluster's Secrets are read for it
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
    settings = model.resolve(flags, environ, token_file(environ), store, cluster, default_namespace)
    check_ca(settings)
    return settings


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


# Sources a person typed: a name there that looks like <service>.<namespace> may just be a public one.
TYPED = ("--vault-addr", "VAULT_ADDR", "BAO_ADDR")


def in_cluster(kube, settings: model.VaultSettings) -> model.InCluster | None:
    """The in-cluster service Vault's address names, when that name does not resolve from here (so it
    takes a tunnel); None when the address is to be used as it is."""
    address, source = settings.address.value, settings.address.source
    target = model.in_cluster_target(address)
    if target is None or reachable_here(address):
        return None
    host = urllib.parse.urlsplit(address).hostname or ""
    if source in TYPED and host.count(".") == 1 and not namespace_exists(kube, target.namespace):
        raise SettingError(f"{source} {address} does not resolve from here, and context \"{kube.context}\" has no "
                           f'namespace "{target.namespace}" for it to name a service in: fix {source}')
    return target


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


@dataclass(frozen=True)
class Reach:
    """How to reach Vault: `address` for requests; `via` names the pod when that is a tunnel."""

    address: str
    via: str = ""


@contextlib.contextmanager
def open_vault(kube, settings: model.VaultSettings, stderr=sys.stderr, pod_timeout: float = 60):
    """Yield the Reach of Vault: the configured address, or a tunnel to it for the duration."""
    from ..tunnel import PodTarget, Tunnel, wait_for_pod

    address = settings.address.value
    target = in_cluster(kube, settings)
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
