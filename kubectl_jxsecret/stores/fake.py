"""ESO's `fake` provider: values live in the store's own spec (`provider.fake.data[]` entries of
`{key, value}`; a JSON object value holds properties). Writing edits the store object, with
its resourceVersion so a concurrent edit is retried, never overwritten."""

import json

from ..errors import KubeError, StoreError
from . import store_path

ATTEMPTS = 8


class FakeStore:
    def __init__(self, kube, store: dict, name: str):
        self.kube, self.name = kube, name
        meta = store["metadata"]
        self.path = store_path(store["apiVersion"], store["kind"], meta["name"], meta.get("namespace"))
        self.resource, self.namespace = store["kind"].lower() + "s", meta.get("namespace")

    def check_writable(self, keys: list[str]) -> None:
        from . import kube_allows

        if not kube_allows(self.kube, "update", self.resource, self.namespace, "external-secrets.io"):
            raise StoreError(f"{self.name}: your kubeconfig user may not update the store, where the values live")

    @staticmethod
    def _entry(store: dict, key: str) -> dict | None:
        for entry in store["spec"]["provider"]["fake"].get("data") or []:
            if entry.get("key") == key and not entry.get("version"):
                return entry
        return None

    def read(self, key: str) -> dict[str, str] | None:
        entry = self._entry(self.kube.get(self.path), key)
        if entry is None:
            return None
        try:
            value = json.loads(entry.get("value") or "")
        except ValueError:
            value = None
        return value if isinstance(value, dict) else {"": entry.get("value") or ""}

    def write(self, key: str, values: dict[str, str]) -> None:
        for _ in range(ATTEMPTS):
            store = self.kube.get(self.path)
            entry = self._entry(store, key)
            if entry is None:
                entry = {"key": key, "value": "{}"}
                store["spec"]["provider"]["fake"].setdefault("data", []).append(entry)
            try:
                current = json.loads(entry.get("value") or "{}")
            except ValueError:
                current = None
            if not isinstance(current, dict):
                raise StoreError(f"{self.name}: the value of {key} is not a JSON object, so it has no properties "
                                 "to write into")
            entry["value"] = json.dumps({**current, **values}, sort_keys=True)
            try:
                self.kube.request("PUT", self.path, body=store)
                return
            except KubeError as e:
                if e.status != 409:
                    raise
        raise StoreError(f"{self.name} kept changing under concurrent writers; nothing was overwritten: retry")
