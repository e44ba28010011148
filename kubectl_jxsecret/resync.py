"""Ask the operator to sync ExternalSecrets now, and wait until it has: the end of every write.

ESO re-syncs an ExternalSecret when an annotation changes (its `syncedResourceVersion` hashes the
labels and annotations), so setting `force-sync=<time>` is the documented trigger. Whether it has
synced *since the request* is read from the objects, not guessed from Ready: a success writes a new
`syncedResourceVersion`; a failure leaves it as it was and records a Warning event that was not there
before the request (a new one, or an old one updated: ESO aggregates repeats, so its resourceVersion
changes). Timestamps are not enough: they have one-second resolution.
Requests: the live view's watch on the ExternalSecrets (live.py: a LIST and a WATCH per API) and one on
their Warning events, in each of their namespaces (all at once above 16), started before the request:
their first LIST is the "before". Then one PATCH per ExternalSecret (in parallel), and nothing more
until each lands: the watches bring the changes. Without waiting: an Events LIST per namespace and the
PATCHes.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from .errors import KubeError, UsageError
from .model.duration import parse_duration
from .model.externalsecret import Api, ExternalSecret
from .scan import PER_NAMESPACE_MAX

FORCE_SYNC = "force-sync"


class Pending(NamedTuple):
    es: ExternalSecret  # as it was before the request
    warnings_before: frozenset  # resourceVersions of its Warning events before the request

    @property
    def before(self) -> str:
        return str(self.es.status.get("syncedResourceVersion") or "")


class Landed(NamedTuple):
    es: ExternalSecret  # as the operator left it
    synced: bool
    message: str = ""  # why not, in the operator's words

    @property
    def key(self) -> str:
        return f"{self.es.namespace}/{self.es.name}"


def skip_reason(es: ExternalSecret) -> str:
    """Why the operator would not act on a force-sync of `es` ("" = it will)."""
    if es.legacy:
        return "a legacy kubernetes-client.io ExternalSecret: its operator has no force-sync"
    synced_before = bool(es.status.get("syncedResourceVersion"))
    if es.spec.get("refreshPolicy") == "CreatedOnce" and synced_before:
        return "refreshPolicy CreatedOnce: ESO synced it once and will not again"
    try:
        never_again = parse_duration(str(es.spec.get("refreshInterval") or "1h"), "refreshInterval") == 0
    except UsageError:
        never_again = False
    if never_again and synced_before:
        return "refreshInterval 0: ESO synced it once and will not again (recreate it to sync)"
    return ""


def object_path(es: ExternalSecret) -> str:
    return f"/apis/{es.api_version}/namespaces/{es.namespace}/externalsecrets/{es.name}"


WARNING_EVENTS = {"fieldSelector": "involvedObject.kind=ExternalSecret,type=Warning"}


def warning_entry(event: dict) -> tuple[str, str, tuple[str, str]]:
    """(uid of the ExternalSecret, the event's resourceVersion, (timestamp, message)) of a Warning event."""
    stamp = event.get("lastTimestamp") or event.get("eventTime") or ""
    return (str((event.get("involvedObject") or {}).get("uid") or ""),
            str((event.get("metadata") or {}).get("resourceVersion") or ""),
            (stamp, str(event.get("message") or "").strip()))


def warnings(kube, externalsecrets: list[ExternalSecret]) -> dict[str, dict[str, tuple[str, str]]]:
    """uid -> {event resourceVersion: (timestamp, message)} of the Warning events of `externalsecrets`."""
    wanted = {es.uid for es in externalsecrets}
    found: dict[str, dict] = {uid: {} for uid in wanted}
    for ns in sorted({es.namespace for es in externalsecrets}):
        try:
            events = kube.list(f"/api/v1/namespaces/{ns}/events", WARNING_EVENTS)
            for uid, version, event in map(warning_entry, events):
                if uid in wanted:
                    found[uid][version] = event
        except KubeError:
            continue  # RBAC may hide events: a failure then shows as a timeout with ESO's Ready message
    return found


def request(kube, externalsecrets: list[ExternalSecret], before: dict | None = None) -> list[Pending]:
    """Set `force-sync` on each (callers drop those with a skip_reason first). `before`: uid -> the Warning
    events (as warnings() gives them) before the request, if a watch already has them; else listed here."""
    before = warnings(kube, externalsecrets) if before is None else before
    patch = {"metadata": {"annotations": {FORCE_SYNC: f"{time.time():.6f}"}}}

    def one(es):
        kube.request("PATCH", object_path(es), body=patch, content_type="application/merge-patch+json")
        return Pending(es, frozenset(before.get(es.uid, {})))

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, externalsecrets))


class Watched:
    """The live view (live.py) of the ExternalSecrets being refreshed, and a watch on their Warning events:
    each change they bring is judged by `landing`."""

    def __init__(self, kube, externalsecrets: list[ExternalSecret], stop: threading.Event,
                 note=lambda message: None):
        from .live import LiveView

        self.note = note  # hears of a collection polled because RBAC forbids watching it
        # Per namespace, as RBAC often grants (and the old LIST per namespace needed); all at once when many.
        namespaces = sorted({es.namespace for es in externalsecrets})
        namespaces = namespaces if len(namespaces) <= PER_NAMESPACE_MAX else None
        self.view = LiveView()
        self.warnings: dict[str, dict[str, tuple[str, str]]] = {}  # uid -> {event resourceVersion: event}
        apis = sorted({Api(*es.api_version.split("/", 1)) for es in externalsecrets}, key=lambda api: api.api_version)
        self.view.start(kube, apis, namespaces, None, stop, secrets=False)
        for namespace in namespaces or [None]:
            path = f"/api/v1/namespaces/{namespace}/events" if namespace else "/api/v1/events"
            self.view.expected.add(path)
            # Unreadable events (RBAC) only cost the failure message: a failure then shows as a timeout.
            self.view.follow(path, lambda entries, ns=namespace, path=path: self.reset_warnings(entries, ns, path),
                             self.warning_event, self.view.connection_of(path), query=WARNING_EVENTS,
                             transform=warning_entry, stop=stop, on_note=self.view.noted,
                             on_failure=lambda error, ns=namespace, path=path: self.reset_warnings([], ns, path))

    def reset_warnings(self, entries, namespace: str | None, path: str) -> None:
        """The Warning events of `namespace` (None: all), as just listed (`path`). Of one namespace they are
        only added: one listed before and gone now cannot make a failure look newer than the request."""
        with self.view.lock:
            if namespace is None:
                self.warnings = {}
            for uid, version, event in entries:
                self.warnings.setdefault(uid, {})[version] = event
            self.view.ready.add(path)
            self.view.changed(None)

    def warning_event(self, kind: str, entry) -> None:
        uid, version, event = entry
        with self.view.lock:
            if kind == "DELETED":
                self.warnings.get(uid, {}).pop(version, None)
            else:
                self.warnings.setdefault(uid, {})[version] = event
            self.view.changed(None)

    def loaded(self, until: float) -> bool:
        """Wait (until `until`, time.monotonic()) for the first LISTs: what was there before the request."""
        while not self.view.loaded:
            self.arrived(until)
            if time.monotonic() >= until:
                return False
        return True

    def arrived(self, until: float) -> None:
        """Wait (until `until`) for the watches to report; a refused LIST is raised, a note passed on."""
        for event in self.view.arrived(until):
            if event[0] == "failed":
                raise event[1]
            if event[0] == "note":
                self.note(event[1])

    def before(self, externalsecrets: list[ExternalSecret]) -> dict[str, dict[str, tuple[str, str]]]:
        with self.view.lock:
            return {es.uid: dict(self.warnings.get(es.uid, {})) for es in externalsecrets}

    def check(self, pending: list[Pending]) -> list[Landed]:
        from .live import key_of

        with self.view.lock:
            return [landed for landed in (landing(p, self.view.externalsecrets.get(key_of(p.es)),
                                                  self.warnings.get(p.es.uid, {})) for p in pending) if landed]


def landing(p: Pending, now: ExternalSecret | None, warnings: dict[str, tuple[str, str]]) -> Landed | None:
    """Whether the operator has acted on `p` since its request: `now` is the ExternalSecret as it is (None:
    deleted), `warnings` its Warning events (resourceVersion -> (timestamp, message)). None: not yet."""
    if now is None:
        return Landed(p.es, False, "deleted while waiting")
    ready = now.ready
    if ready and ready.status == "True" and str(now.status.get("syncedResourceVersion") or "") != p.before:
        return Landed(now, True)
    if ready and ready.status == "False":
        new = [event for version, event in warnings.items() if version not in p.warnings_before]
        if new:  # a failure since our request, not the one before it
            return Landed(now, False, max(new)[1] or ready.message)
    return None


def wait(watched: Watched, pending: list[Pending], deadline: float, on_landed=lambda landed: None):
    """Until each of `pending` has synced or failed since its request, or `deadline` (time.monotonic())
    passes. Returns (landed, still pending); `on_landed` hears of each as it lands."""
    landed: list[Landed] = []
    while pending:
        for result in watched.check(pending):
            landed.append(result)
            on_landed(result)
        done = {r.key for r in landed}
        pending = [p for p in pending if f"{p.es.namespace}/{p.es.name}" not in done]
        if not pending or time.monotonic() >= deadline:
            break
        watched.arrived(deadline)
    return landed, pending


class Outcome(NamedTuple):
    landed: tuple[Landed, ...]
    pending: tuple[Pending, ...]  # not synced when the time was up
    timeout: float | None  # None: did not wait

    @property
    def synced(self) -> bool:
        return not self.pending and all(landed.synced for landed in self.landed)


def refresh(kube, externalsecrets: list[ExternalSecret], timeout: float | None, log) -> Outcome:
    """force-sync `externalsecrets` and (unless `timeout` is None) wait for each to land, telling `log`
    (output.SyncLog) what is skipped, requested and landed, and what is polled, not watched (RBAC)."""
    todo = []
    for es in externalsecrets:
        reason = skip_reason(es)
        if reason:
            log.skipped(es, reason)
        else:
            todo.append(es)
    if timeout is None or not todo:
        pending = request(kube, todo)
        log.requested(pending, waiting=timeout is not None)
        return Outcome((), (), timeout)
    deadline = time.monotonic() + timeout
    stop = threading.Event()
    try:
        # Watching first: the first LIST is the "before", and no change after the request can be missed.
        watched = Watched(kube, todo, stop, log.polled)
        before = watched.before(todo) if watched.loaded(deadline) else None
        pending = request(kube, todo, before)
        log.requested(pending, waiting=True)
        landed, still = wait(watched, pending, deadline, on_landed=log.landed)
    finally:
        stop.set()
    return Outcome(tuple(landed), tuple(still), timeout)
