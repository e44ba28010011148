"""The live view that wait, refresh and ui share: ExternalSecrets (every served API) and the key summaries
of their Secrets, kept current by watches (kube/watch.py). One LIST and one WATCH per collection, then
only the changes; each change names the ExternalSecrets it touches, so only those are judged again
(model.status.evaluate, as verify).

What is kept: ExternalSecrets without managedFields, and per Secret its key names and whether each is
empty (scan.summarise's summary). A Secret's values are dropped as soon as its JSON is read.

Each collection is watched in the given namespaces, or cluster-wide. Where RBAC forbids a cluster-wide
LIST, as verify does (scan.py): ExternalSecrets are watched in each namespace, those RBAC hides noted in
`denied`; Secrets in each namespace that has ExternalSecrets, those RBAC hides noted in `unreadable`.

The hooks (`changed`, `removed`, `connection_changed`, `noted`, `failed`) are called with the lock held;
by default they queue what happened on `events` for a command's main thread (wait, refresh); the ui
overrides them to send rows to its pages.
"""

import queue
import threading
import time

from .model.externalsecret import ExternalSecret
from .model.status import Verdict, evaluate, secret_summary
from .scan import stamp

Key = tuple[str, str, str]  # (namespace, name, apiVersion) of an ExternalSecret


def strip(raw: dict) -> dict:
    """An ExternalSecret as kept in memory: managedFields (often larger than the rest) dropped."""
    meta = {k: v for k, v in (raw.get("metadata") or {}).items() if k != "managedFields"}
    return {**raw, "metadata": meta}


def secret_entry(raw: dict) -> tuple[tuple[str, str], dict[str, bool]]:
    meta = raw.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or "")), secret_summary(raw)


def key_of(es: ExternalSecret) -> Key:
    return es.namespace, es.name, es.api_version


def secrets_path(namespace: str | None) -> str:
    return f"/api/v1/namespaces/{namespace}/secrets" if namespace else "/api/v1/secrets"


class LiveView:
    """What the watches started by `start` have seen; read it with the lock held."""

    def __init__(self):
        self.lock = threading.RLock()
        self.externalsecrets: dict[Key, ExternalSecret] = {}
        self.secrets: dict[tuple[str, str], dict[str, bool]] = {}  # (namespace, name) -> key -> non-empty
        self.unreadable: dict[str, str] = {}  # namespace -> why its Secrets cannot be read
        self.denied: dict[str, set[str]] = {}  # resource -> namespaces where RBAC hides it
        self.expected: set[str] = set()  # the paths of the collections watched ...
        self.ready: set[str] = set()  # ... and of those listed once (or found unreadable)
        self.connection = {"connected": True, "message": ""}
        self.disconnected: set[str] = set()  # the collections whose watch cannot reach the API server now
        self.events: queue.Queue = queue.Queue()
        self.secret_namespaces: set[str] | None = None  # watched one by one (cluster-wide forbidden); None: not
        self.kube, self.stop, self.poll, self.selector = None, None, 2.0, None
        self.apis: list = []  # the ExternalSecret APIs watched, in discovery order (verify's order of warnings)

    # ---------------------------------------------------------------- hooks (lock held)
    def changed(self, keys: list[Key] | None) -> None:
        """These ExternalSecrets, or their Secrets, changed; None: a collection was listed (anything may have)."""
        self.events.put(("changed", keys))

    def removed(self, key: Key) -> None:
        self.events.put(("changed", [key]))

    def connection_changed(self, ok: bool, message: str) -> None:
        with self.lock:
            self.connection = {"connected": ok, "message": message}
            self.events.put(("connection", ok, message))

    def noted(self, message: str) -> None:
        self.events.put(("note", message))

    def failed(self, error: Exception) -> None:
        self.events.put(("failed", error))

    def connection_of(self, path: str):
        """The `on_connection` of the watch on `path`: keeps `disconnected` and tells connection_changed."""
        def changed(ok: bool, message: str) -> None:
            with self.lock:
                (self.disconnected.discard if ok else self.disconnected.add)(path)
            self.connection_changed(ok, message)
        return changed

    # ---------------------------------------------------------------- starting the watches
    def start(self, kube, apis, namespaces: list[str] | None, selector: str | None, stop: threading.Event,
              poll: float = 2.0, secrets: bool = True) -> None:
        """Watch the ExternalSecrets of every API in `apis` (with the label `selector`) and, if `secrets`, their
        Secrets, in each of `namespaces` or in all (None); until `stop` is set. `poll`: the LIST interval where
        a watch is forbidden."""
        self.kube, self.stop, self.poll, self.selector = kube, stop, poll, selector
        self.apis = list(apis)
        for namespace in namespaces or [None]:
            for api in apis:
                self.follow_externalsecrets(api, namespace, self.failed if namespace else
                                            lambda error, api=api: self.externalsecrets_per_namespace(api, error))
            if secrets:
                self.follow_secrets(namespace, self.per_namespace if namespace is None else
                                    lambda error, ns=namespace: self.secrets_unreadable(ns, error))

    def follow(self, path: str, *args, **kw) -> None:
        """Start a watch on `path` (kube/watch.follow, with our client)."""
        from .kube.watch import follow

        follow(self.kube, path, *args, **kw)

    def follow_externalsecrets(self, api, namespace: str | None, on_failure) -> None:
        path = api.path(namespace)
        with self.lock:
            self.expected.add(path)
        self.follow(path, lambda raws: self.reset_externalsecrets(api, raws, namespace),
                    lambda kind, raw: self.externalsecret_event(api, kind, raw), self.connection_of(path),
                    query={"labelSelector": self.selector}, stop=self.stop, poll=self.poll, on_note=self.noted,
                    on_failure=on_failure)

    def externalsecrets_per_namespace(self, api, error) -> None:
        """The cluster-wide LIST of `api` is refused: watch each namespace's instead (scan.list_externalsecrets)."""
        from .errors import KubeError

        if getattr(error, "status", None) != 403:
            return self.failed(error)
        try:
            namespaces = [n["metadata"]["name"] for n in self.kube.list("/api/v1/namespaces")]
        except KubeError:
            return self.failed(KubeError(f"forbidden: cannot list {api.plural}.{api.group} in all namespaces, nor the "
                                         "namespaces themselves: pass -n NAMESPACE", 403))
        with self.lock:
            self.expected.discard(api.path(None))
            for ns in namespaces:
                self.follow_externalsecrets(api, ns, lambda error, ns=ns: self.externalsecrets_denied(api, ns, error))

    def externalsecrets_denied(self, api, namespace: str, error) -> None:
        if getattr(error, "status", None) != 403:
            return self.failed(error)
        with self.lock:
            self.denied.setdefault(f"{api.plural}.{api.group}", set()).add(namespace)
            self.ready.add(api.path(namespace))
            self.changed([])

    def follow_secrets(self, namespace: str | None, on_failure) -> None:
        path = secrets_path(namespace)
        with self.lock:
            self.expected.add(path)
        self.follow(path, lambda entries: self.reset_secrets(entries, namespace), self.secret_event,
               self.connection_of(path), transform=secret_entry, stop=self.stop, poll=self.poll, on_note=self.noted,
               on_failure=on_failure)

    def per_namespace(self, error) -> None:
        """The cluster-wide Secret LIST is refused: watch those of each namespace with ExternalSecrets instead."""
        if getattr(error, "status", None) != 403:
            return self.failed(error)
        with self.lock:
            self.expected.discard(secrets_path(None))
            self.secret_namespaces = set()
            self.watch_new_namespaces()

    def watch_new_namespaces(self) -> None:
        if self.secret_namespaces is None:
            return
        for ns in sorted({es.namespace for es in self.externalsecrets.values()} - self.secret_namespaces):
            self.secret_namespaces.add(ns)
            self.follow_secrets(ns, on_failure=lambda error, ns=ns: self.secrets_unreadable(ns, error))

    def secrets_unreadable(self, namespace: str, error) -> None:
        if getattr(error, "status", None) != 403:
            return self.failed(error)
        with self.lock:
            self.unreadable[namespace] = f"cannot list Secrets in namespace {namespace}: forbidden"
            self.ready.add(secrets_path(namespace))
            self.changed([k for k in self.externalsecrets if k[0] == namespace])

    @property
    def loaded(self) -> bool:
        """Every collection listed once: the first answer can be given."""
        with self.lock:
            return self.expected <= self.ready

    # ---------------------------------------------------------------- what the watches report
    def reset_externalsecrets(self, api, raws, namespace: str | None = None) -> None:
        """The ExternalSecrets of `api` (in `namespace`, or all), as just listed."""
        with self.lock:
            for key in [k for k, es in self.externalsecrets.items()
                        if es.api_version == api.api_version and namespace in (None, es.namespace)]:
                del self.externalsecrets[key]
            for raw in raws:
                es = ExternalSecret(strip(stamp(raw, api)))
                self.externalsecrets[key_of(es)] = es
            self.ready.add(api.path(namespace))
            self.watch_new_namespaces()
            self.changed(None)

    def externalsecret_event(self, api, kind: str, raw: dict) -> None:
        es = ExternalSecret(strip(stamp(raw, api)))
        key = key_of(es)
        with self.lock:
            if kind == "DELETED":
                if self.externalsecrets.pop(key, None) is not None:
                    self.removed(key)
                return
            self.externalsecrets[key] = es
            self.watch_new_namespaces()
            self.changed([key])

    def reset_secrets(self, entries, namespace: str | None = None) -> None:
        """All Secrets (`namespace` None), or those of one namespace, as just listed."""
        with self.lock:
            if namespace is None:
                self.secrets = dict(entries)
            else:
                self.secrets = {where: s for where, s in self.secrets.items() if where[0] != namespace}
                self.secrets.update(entries)
            self.ready.add(secrets_path(namespace))
            self.changed(None)

    def secret_event(self, kind: str, entry) -> None:
        where, summary = entry
        with self.lock:
            if kind == "DELETED":
                self.secrets.pop(where, None)
            else:
                self.secrets[where] = summary
            self.changed([k for k, es in self.externalsecrets.items() if (es.namespace, es.target_name) == where])

    def arrived(self, until: float) -> list:
        """What the watches reported (hook events): waits for the first until `until` (time.monotonic()),
        then takes all that are queued."""
        try:
            found = [self.events.get(timeout=max(until - time.monotonic(), 0))]
        except queue.Empty:
            return []
        while True:
            try:
                found.append(self.events.get_nowait())
            except queue.Empty:
                return found

    # ---------------------------------------------------------------- reading
    def verdict(self, es: ExternalSecret) -> Verdict:
        return evaluate(es, self.secrets.get((es.namespace, es.target_name)), self.unreadable.get(es.namespace, ""))

    def find(self, namespace: str, name: str) -> ExternalSecret | None:
        with self.lock:
            return next((es for es in self.externalsecrets.values() if (es.namespace, es.name) == (namespace, name)),
                        None)

    def secret_of(self, es: ExternalSecret):
        with self.lock:
            return self.secrets.get((es.namespace, es.target_name))
