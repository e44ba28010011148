"""ESO's `kubernetes` provider: the values live in a Secret (remoteRef.key = its name,
property = its data key) in the provider's remoteNamespace. Written with optimistic
concurrency: a concurrent change (409) makes us read again and merge again."""

import base64

from ..errors import KubeError, StoreError

ATTEMPTS = 8


class KubernetesStore:
    def __init__(self, kube, name: str, remote_namespace: str):
        self.kube, self.name, self.namespace = kube, name, remote_namespace

    def _path(self, key=""):
        return f"/api/v1/namespaces/{self.namespace}/secrets" + (f"/{key}" if key else "")

    def _get(self, key) -> dict | None:
        try:
            return self.kube.get(self._path(key))
        except KubeError as e:
            if e.status == 404:
                return None
            raise

    def read(self, key: str) -> dict[str, str] | None:
        secret = self._get(key)
        if secret is None:
            return None
        return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}

    def check_writable(self, keys: list[str]) -> None:
        from . import kube_allows

        for verb in ("create", "update"):
            if not kube_allows(self.kube, verb, "secrets", self.namespace):
                raise StoreError(f"{self.name}: your kubeconfig user may not {verb} Secrets in namespace "
                                 f"{self.namespace}, where {', '.join(keys)} live")

    def write(self, key: str, values: dict[str, str]) -> None:
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
        for _ in range(ATTEMPTS):
            secret = self._get(key)
            try:
                if secret is None:
                    self.kube.request("POST", self._path(), body={
                        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                        "metadata": {"name": key, "namespace": self.namespace}, "data": encoded})
                else:
                    secret["data"] = {**(secret.get("data") or {}), **encoded}
                    self.kube.request("PUT", self._path(key), body=secret)  # carries resourceVersion
                return
            except KubeError as e:
                if e.status != 409:
                    raise
        raise StoreError(f"Secret {self.namespace}/{key} kept changing under concurrent writers; "
                         "nothing was overwritten: retry")
