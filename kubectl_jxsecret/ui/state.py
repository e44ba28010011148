"""The live view: ExternalSecrets and Secret key summaries kept current by watches (kube/watch.py),
each change turned into rows (model.status.evaluate, as verify) and sent to every open page.

What is kept: ExternalSecrets without managedFields, and per Secret its key names and whether each
is empty (scan.summarise's summary). A Secret's values are dropped as soon as its JSON is read.
"""

import queue
import threading

from ..model.externalsecret import ExternalSecret
from ..model.status import evaluate, secret_summary
from ..scan import stamp
from . import model


def secret_entry(raw: dict) -> tuple[tuple[str, str], dict[str, bool]]:
    meta = raw.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or "")), secret_summary(raw)


class Live:
    def __init__(self):
        self.lock = threading.Lock()
        self.externalsecrets: dict[str, ExternalSecret] = {}  # row key -> ExternalSecret
        self.secrets: dict[tuple[str, str], dict[str, bool]] = {}  # (namespace, name) -> key -> non-empty
        self.rows: dict[str, dict] = {}
        self.ready: set[str] = set()  # which collections have been listed once
        self.connection = {"connected": True, "message": ""}
        self.listeners: list[queue.Queue] = []

    # ---------------------------------------------------------------- what the watches report
    def reset_externalsecrets(self, api, raws) -> None:
        with self.lock:
            for key in [k for k, es in self.externalsecrets.items() if es.api_version == api.api_version]:
                del self.externalsecrets[key]
            for raw in raws:
                es = ExternalSecret(model.strip(stamp(raw, api)))
                self.externalsecrets[model.row_key(es.namespace, es.name, es.api_version)] = es
            self.ready.add(api.api_version)
            self._recompute_all()

    def externalsecret_event(self, api, kind: str, raw: dict) -> None:
        es = ExternalSecret(model.strip(stamp(raw, api)))
        key = model.row_key(es.namespace, es.name, es.api_version)
        with self.lock:
            if kind == "DELETED":
                self.externalsecrets.pop(key, None)
                if self.rows.pop(key, None) is not None:
                    self._send({"type": "delete", "key": key})
                return
            self.externalsecrets[key] = es
            self._recompute([key])

    def reset_secrets(self, entries) -> None:
        with self.lock:
            self.secrets = dict(entries)
            self.ready.add("secrets")
            self._recompute_all()

    def secret_event(self, kind: str, entry) -> None:
        where, summary = entry
        with self.lock:
            if kind == "DELETED":
                self.secrets.pop(where, None)
            else:
                self.secrets[where] = summary
            self._recompute([k for k, es in self.externalsecrets.items() if (es.namespace, es.target_name) == where])

    def connection_changed(self, ok: bool, message: str) -> None:
        with self.lock:
            self.connection = {"connected": ok, "message": message}
            self._send({"type": "connection", **self.connection})

    # ---------------------------------------------------------------- rows
    def verdict(self, es: ExternalSecret):
        return evaluate(es, self.secrets.get((es.namespace, es.target_name)))

    def _recompute(self, keys) -> None:
        for key in keys:
            new = model.row(self.verdict(self.externalsecrets[key]))
            if self.rows.get(key) != new:
                self.rows[key] = new
                self._send({"type": "row", "row": new})

    def _recompute_all(self) -> None:
        self.rows = {key: model.row(self.verdict(es)) for key, es in sorted(self.externalsecrets.items())}
        self._send(self.snapshot_locked())

    def snapshot_locked(self) -> dict:
        rows = sorted(self.rows.values(), key=lambda r: (r["namespace"], r["name"], r["apiVersion"]))
        return {"type": "snapshot", "rows": rows, "connection": self.connection, "loading": not self.loaded}

    def snapshot(self) -> dict:
        with self.lock:
            return self.snapshot_locked()

    def find(self, namespace: str, name: str) -> ExternalSecret | None:
        with self.lock:
            return next((es for es in self.externalsecrets.values() if (es.namespace, es.name) == (namespace, name)),
                        None)

    def secret_of(self, es: ExternalSecret):
        with self.lock:
            return self.secrets.get((es.namespace, es.target_name))

    loaded_after: set = frozenset()

    @property
    def loaded(self) -> bool:
        return self.loaded_after <= self.ready

    # ---------------------------------------------------------------- listeners (server-sent events)
    def subscribe(self) -> queue.Queue:
        q = queue.Queue()
        with self.lock:
            self.listeners.append(q)
            q.put(self.snapshot_locked())
        return q

    def unsubscribe(self, q) -> None:
        with self.lock:
            if q in self.listeners:
                self.listeners.remove(q)

    def _send(self, message: dict) -> None:
        for q in self.listeners:
            q.put(message)
