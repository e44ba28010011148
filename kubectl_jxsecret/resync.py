"""Ask the operator to sync ExternalSecrets now, and wait until it has: the end of every write.

ESO re-syncs an ExternalSecret when an annotation changes (its `syncedResourceVersion` hashes the
labels and annotations), so setting `force-sync=<time>` is the documented trigger. Whether it has
synced *since the request* is read from the objects, not guessed from Ready: a success writes a new
`syncedResourceVersion`; a failure leaves it as it was and records a Warning event that was not there
before the request (a new one, or an old one updated: ESO aggregates repeats, so its resourceVersion
changes). Timestamps are not enough: they have one-second resolution.
Requests: an Events LIST per namespace, one PATCH per ExternalSecret (in parallel), then per poll one
LIST per namespace still waiting, and an Events LIST where one reports a failure.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .errors import KubeError, UsageError
from .model.duration import parse_duration
from .model.externalsecret import ExternalSecret

FORCE_SYNC = "force-sync"


@dataclass(frozen=True)
class Pending:
    es: ExternalSecret  # as it was before the request
    warnings_before: frozenset  # resourceVersions of its Warning events before the request

    @property
    def before(self) -> str:
        return str(self.es.status.get("syncedResourceVersion") or "")


@dataclass(frozen=True)
class Landed:
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


def warnings(kube, externalsecrets: list[ExternalSecret]) -> dict[str, dict[str, tuple[str, str]]]:
    """uid -> {event resourceVersion: (timestamp, message)} of the Warning events of `externalsecrets`."""
    wanted = {es.uid for es in externalsecrets}
    found: dict[str, dict] = {uid: {} for uid in wanted}
    for ns in sorted({es.namespace for es in externalsecrets}):
        try:
            events = kube.list(f"/api/v1/namespaces/{ns}/events",
                               {"fieldSelector": "involvedObject.kind=ExternalSecret,type=Warning"})
            for ev in events:
                uid = (ev.get("involvedObject") or {}).get("uid")
                if uid in wanted:
                    stamp = ev.get("lastTimestamp") or ev.get("eventTime") or ""
                    found[uid][ev["metadata"].get("resourceVersion", "")] = (stamp, str(ev.get("message") or "").strip())
        except KubeError:
            continue  # RBAC may hide events: a failure then shows as a timeout with ESO's Ready message
    return found


def request(kube, externalsecrets: list[ExternalSecret]) -> list[Pending]:
    """Set `force-sync` on each (callers drop those with a skip_reason first)."""
    before = warnings(kube, externalsecrets)
    patch = {"metadata": {"annotations": {FORCE_SYNC: f"{time.time():.6f}"}}}

    def one(es):
        kube.request("PATCH", object_path(es), body=patch, content_type="application/merge-patch+json")
        return Pending(es, frozenset(before.get(es.uid, {})))

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, externalsecrets))


def wait(kube, pending: list[Pending], timeout: float, poll: float = 0.5, on_landed=lambda landed: None):
    """Until each of `pending` has synced or failed since its request, or `timeout` seconds pass.
    Returns (landed, still pending); `on_landed` hears of each as it lands."""
    deadline = time.monotonic() + timeout
    landed: list[Landed] = []
    while pending:
        for result in check(kube, pending):
            landed.append(result)
            on_landed(result)
        done = {r.key for r in landed}
        pending = [p for p in pending if f"{p.es.namespace}/{p.es.name}" not in done]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(min(poll, max(deadline - time.monotonic(), 0)))
    return landed, pending


def check(kube, pending: list[Pending]) -> list[Landed]:
    """Those of `pending` the operator has acted on since their request."""
    current = {}
    for api_version, namespace in sorted({(p.es.api_version, p.es.namespace) for p in pending}):
        for raw in kube.list(f"/apis/{api_version}/namespaces/{namespace}/externalsecrets"):
            current[(namespace, raw["metadata"]["name"])] = ExternalSecret(raw)
    results, failing = [], []
    for p in pending:
        now = current.get((p.es.namespace, p.es.name))
        if now is None:
            results.append(Landed(p.es, False, "deleted while waiting"))
            continue
        ready = now.ready
        if ready and ready.status == "True" and str(now.status.get("syncedResourceVersion") or "") != p.before:
            results.append(Landed(now, True))
        elif ready and ready.status == "False":
            failing.append((p, now))
    if failing:
        events = warnings(kube, [now for _, now in failing])
        for p, now in failing:
            new = [event for version, event in events[now.uid].items() if version not in p.warnings_before]
            if new:  # a failure since our request, not the one before it
                results.append(Landed(now, False, max(new)[1] or now.ready.message))
    return results


@dataclass(frozen=True)
class Outcome:
    landed: tuple[Landed, ...]
    pending: tuple[Pending, ...]  # not synced when the time was up
    timeout: float | None  # None: did not wait

    @property
    def synced(self) -> bool:
        return not self.pending and all(landed.synced for landed in self.landed)


def refresh(kube, externalsecrets: list[ExternalSecret], timeout: float | None, log) -> Outcome:
    """force-sync `externalsecrets` and (unless `timeout` is None) wait for each to land, telling `log`
    (output.SyncLog) what is skipped, requested and landed."""
    todo = []
    for es in externalsecrets:
        reason = skip_reason(es)
        if reason:
            log.skipped(es, reason)
        else:
            todo.append(es)
    pending = request(kube, todo)
    log.requested(pending, waiting=timeout is not None)
    if timeout is None:
        return Outcome((), (), None)
    landed, still = wait(kube, pending, timeout, on_landed=log.landed)
    return Outcome(tuple(landed), tuple(still), timeout)
