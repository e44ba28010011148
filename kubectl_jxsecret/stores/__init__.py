"""Writable secret stores behind one small interface, chosen from an ESO (Cluster)SecretStore.

    store.name                      "ClusterSecretStore/vault", for messages
    store.read(key)  -> {property: value} | None
    store.check_writable([key, ...])        a StoreError now if a write would be refused
    store.write(key, {property: value})     merges: properties not named are kept

`key` and `property` are an ExternalSecret's `remoteRef.key` and `remoteRef.property`, so every
writing command (edit, import, populate, ...) speaks the ExternalSecret's own language.
"""

import contextlib
import sys
from typing import Protocol

from ..errors import KubeError, StoreError

WRITABLE = ("vault", "openBao", "kubernetes", "fake")


class Store(Protocol):
    name: str

    def read(self, key: str) -> dict[str, str] | None: ...

    def check_writable(self, keys: list[str]) -> None: ...

    def write(self, key: str, values: dict[str, str]) -> None: ...


def kube_allows(kube, verb: str, resource: str, namespace: str | None, group: str = "") -> bool:
    """May we `verb` `resource`? One SelfSubjectAccessReview (the API server answers for every
    authorizer, as `kubectl auth can-i` does)."""
    review = kube.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body={
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "group": group,
                                        "namespace": namespace or ""}}})
    return bool((review.get("status") or {}).get("allowed"))


def store_path(api_version: str, kind: str, name: str, namespace: str | None) -> str:
    if kind == "ClusterSecretStore":
        return f"/apis/{api_version}/clustersecretstores/{name}"
    return f"/apis/{api_version}/namespaces/{namespace}/secretstores/{name}"


def get_store(kube, kind: str, name: str, namespace: str) -> dict:
    """The (Cluster)SecretStore object, through whichever ESO API version the cluster serves."""
    for version in ("v1", "v1beta1"):
        try:
            return kube.get(store_path(f"external-secrets.io/{version}", kind, name, namespace))
        except KubeError as e:
            if e.status != 404:
                raise
    where = "" if kind == "ClusterSecretStore" else f" in namespace {namespace}"
    raise StoreError(f"{kind} {name} not found{where}: check the ExternalSecret's secretStoreRef")


def provider_of(store: dict) -> tuple[str, dict]:
    providers = ((store.get("spec") or {}).get("provider")) or {}
    if len(providers) != 1:
        raise StoreError(f"{store.get('kind')} {store['metadata']['name']} must name exactly one provider")
    return next(iter(providers.items()))


@contextlib.contextmanager
def open_store(kube, kind: str, name: str, namespace: str, vault_flags: dict, environ, stderr=sys.stderr):
    """Yield the writable Store behind `kind/name`, connected (tunnelled) for the duration."""
    store = get_store(kube, kind, name, namespace)
    provider, config = provider_of(store)
    label = f"{kind}/{name}"
    if provider in ("vault", "openBao"):
        from .discovery import gather, open_vault
        from .vault import VaultStore

        settings = gather(kube, vault_flags, environ, config, kind, namespace)
        with open_vault(kube, settings, stderr) as reach:
            yield VaultStore(reach.address, settings, name=label, path=config.get("path"), version=config.get("version"),
                             via=reach.via)
    elif provider == "kubernetes":
        from .kubernetes import KubernetesStore

        yield KubernetesStore(kube, label, config.get("remoteNamespace") or "default")
    elif provider == "fake":
        from .fake import FakeStore

        yield FakeStore(kube, store, label)
    else:
        raise StoreError(f"{label} uses the {provider} provider, which kubectl jxsecret cannot write "
                         f"(it writes {', '.join(WRITABLE)}): set the value with that provider's own tools")
