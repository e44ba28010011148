"""The ui's side of the live view (live.LiveView, shared with wait and refresh): each change turned into
rows (model.status.evaluate, as verify) and sent to every open page.
"""

import queue

from ..live import LiveView
from . import model


class Live(LiveView):
    def __init__(self):
        super().__init__()
        self.rows: dict[str, dict] = {}
        self.listeners: list[queue.Queue] = []

    # ---------------------------------------------------------------- the view's hooks (lock held)
    def changed(self, keys) -> None:
        if keys is None:
            self.rows = {model.row_key(*key): model.row(self.verdict(es))
                         for key, es in sorted(self.externalsecrets.items())}
            self._send(self.snapshot_locked())
            return
        for key in keys:
            new = model.row(self.verdict(self.externalsecrets[key]))
            if self.rows.get(new["key"]) != new:
                self.rows[new["key"]] = new
                self._send({"type": "row", "row": new})

    def removed(self, key) -> None:
        if self.rows.pop(model.row_key(*key), None) is not None:
            self._send({"type": "delete", "key": model.row_key(*key)})

    def connection_changed(self, ok: bool, message: str) -> None:
        with self.lock:
            self.connection = {"connected": ok, "message": message}
            self._send({"type": "connection", **self.connection})

    def noted(self, message: str) -> None:
        pass  # a collection polled because RBAC forbids watching it: the page looks the same, a little later

    def failed(self, error: Exception) -> None:
        self.connection_changed(False, str(error))

    # ---------------------------------------------------------------- rows
    def snapshot_locked(self) -> dict:
        rows = sorted(self.rows.values(), key=lambda r: (r["namespace"], r["name"], r["apiVersion"]))
        return {"type": "snapshot", "rows": rows, "connection": self.connection, "loading": not self.loaded}

    def snapshot(self) -> dict:
        with self.lock:
            return self.snapshot_locked()

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
