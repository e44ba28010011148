"""The one engine: ExternalSecrets + their Secrets (+ Warning events) -> verdicts. Shared by verify
and wait, and by every command that first needs to know what is populated.

Requests, whatever the number of ExternalSecrets: one discovery (`GET /apis`), one paginated
LIST of ExternalSecrets per served API, and the Secrets: across all namespaces, one cluster-wide
LIST when the cluster holds few Secrets (its first page says so) or the ExternalSecrets span many
namespaces, else one LIST per namespace that has ExternalSecrets (in parallel); one Events LIST
per namespace with sync errors. Never one GET per ExternalSecret. Secret values are only
looked at as "empty or not".
"""

from typing import NamedTuple

from .errors import JxSecretError, KubeError
from .model.externalsecret import ESO_GROUP, KES_GROUP, Api, ExternalSecret, pick_apis
from .model.status import State, Verdict, evaluate, secret_summary

# Above this many namespaces one cluster-wide Secret LIST is cheaper than one LIST per namespace.
PER_NAMESPACE_MAX = 16
# The first page of a cluster-wide Secret LIST: small enough to waste little on a big cluster.
PROBE_PAGE = 100


class Selection(NamedTuple):
    """Which ExternalSecrets a command looks at."""

    namespace: str | None = None  # None = all namespaces
    selector: str | None = None  # label selector, applied by the API server
    name_filter: tuple[str, ...] = ()  # substrings of the name, any of them (-f, repeatable); () = all
    mandatory_only: bool = False  # only those the Jenkins X schema marks mandatory
    only: frozenset | None = None  # only these (namespace, name) pairs, e.g. those a command wrote for
    names: tuple[str, ...] = ()  # exact names (verify NAME...), as `kubectl get` takes them

    @classmethod
    def from_args(cls, args, mandatory_only=False) -> "Selection":
        """From the kube flags (-n, -A) and the selection flags (flags.add_selection_flags)."""
        return cls(None if args.all_namespaces else args.namespace, args.selector, tuple(args.filter or ()),
                   mandatory_only, names=tuple(getattr(args, "names", ())))

    def describe(self) -> str:
        """Where it looked, for "nothing matched" messages: `in namespace jx with name containing "x"`."""
        parts = [f"in namespace {self.namespace}" if self.namespace else "in any namespace"]
        if self.selector:
            parts.append(f"with labels {self.selector}")
        if self.name_filter:
            parts.append("with name containing " + " or ".join(f'"{text}"' for text in self.name_filter))
        if self.names:
            parts.append("named " + " or ".join(f'"{name}"' for name in self.names))
        if self.mandatory_only:
            parts.append("marked mandatory")
        return " ".join(parts)

    def wants(self, es: ExternalSecret) -> bool:
        return ((not self.name_filter or any(text in es.name for text in self.name_filter))
                and (es.mandatory or not self.mandatory_only) and (not self.names or es.name in self.names)
                and (self.only is None or (es.namespace, es.name) in self.only))


class Report:
    def __init__(self, verdicts: list[Verdict] | None = None):
        self.verdicts = verdicts or []
        self.forbidden: dict[str, list[str]] = {}  # resource -> namespaces RBAC hides

    def deny(self, resource: str, namespace: str) -> None:
        self.forbidden.setdefault(resource, []).append(namespace)

    @property
    def warnings(self) -> list[str]:
        """One line per resource, however many namespaces: what could not be checked."""
        lines = []
        for resource, namespaces in self.forbidden.items():
            if len(namespaces) == 1:
                lines.append(f"cannot list {resource} in namespace {namespaces[0]}: forbidden")
            else:
                shown = ", ".join(namespaces[:10]) + (", …" if len(namespaces) > 10 else "")
                lines.append(f"cannot list {resource} in {len(namespaces)} namespaces ({shown}): forbidden")
        return lines

    @property
    def not_populated(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.populated]


def discover(kube) -> list[Api]:
    apis = pick_apis(kube.served_resources((ESO_GROUP, KES_GROUP)))
    if not apis:
        raise KubeError(f'no ExternalSecret API in context "{kube.context}": the External Secrets Operator '
                        "CRDs (external-secrets.io) are not installed on this cluster")
    return apis


def select(kube, apis: list[Api], selection: Selection, report: Report) -> list[ExternalSecret]:
    """The selected ExternalSecrets of every API, by namespace and name; what RBAC hides is noted in `report`."""
    externalsecrets = []
    for api in apis:
        externalsecrets += list_externalsecrets(kube, api, selection.namespace, selection.selector, report)
    return sorted((es for es in externalsecrets if selection.wants(es)), key=lambda e: (e.namespace, e.name, e.api_version))


def select_some(kube, selection: Selection, doing: str) -> tuple[list[ExternalSecret], Report]:
    """What a command works on: the selected ExternalSecrets, and a Report of what RBAC hid. None at all
    is a mistake in the selection: an error that says where it looked."""
    report = Report()
    externalsecrets = select(kube, discover(kube), selection, report)
    if not externalsecrets:
        raise JxSecretError(f"no matching ExternalSecrets found {selection.describe()}: nothing to {doing}")
    return externalsecrets, report


def collect(kube, apis: list[Api], selection: Selection) -> Report:
    """Evaluate every selected ExternalSecret."""
    report = Report()
    # Filter before looking at Secrets: what is filtered out is neither fetched nor shown.
    externalsecrets = select(kube, apis, selection, report)
    report.verdicts = judge(kube, externalsecrets, selection.namespace is None, report)
    return report


def judge(kube, externalsecrets: list[ExternalSecret], cluster_wide: bool, report: Report) -> list[Verdict]:
    """The verdict of each of `externalsecrets` (same order), from their Secrets and Warning events."""
    secrets, unreadable = list_secrets(kube, sorted({es.namespace for es in externalsecrets}),
                                       cluster_wide=cluster_wide, report=report)
    verdicts = [evaluate(es, secrets.get((es.namespace, es.target_name)), unreadable.get(es.namespace, ""))
                for es in externalsecrets]
    return with_details(kube, externalsecrets, verdicts)


def with_details(kube, externalsecrets: list[ExternalSecret], verdicts: list[Verdict]) -> list[Verdict]:
    """`verdicts` (of `externalsecrets`, same order), those that cannot sync with their latest Warning event:
    for all of verify's at once, or for the few a watch (live.py) has just seen change."""
    details = warning_events(kube, [es for es, v in zip(externalsecrets, verdicts) if v.state is State.SYNC_ERROR])
    return [v._replace(detail=details[es.uid]) if es.uid in details else v for es, v in zip(externalsecrets, verdicts)]


def warning_events(kube, failing: list[ExternalSecret]) -> dict[str, str]:
    """uid -> message of the latest Warning event, for ExternalSecrets the operator cannot sync.

    ESO's Ready message is generic ("could not get secret data from provider"); the event names the
    key and the cause. One LIST per namespace with failures; unreadable events are simply left out.
    """
    wanted = {es.uid for es in failing}
    latest: dict[str, tuple[str, str]] = {}
    for ns in sorted({es.namespace for es in failing}):
        try:
            keep_latest(latest, kube.list(f"/api/v1/namespaces/{ns}/events",
                                          {"fieldSelector": "involvedObject.kind=ExternalSecret,type=Warning"}), wanted)
        except KubeError:
            continue  # events are a bonus: RBAC may hide them
    return {uid: message for uid, (_, message) in latest.items()}


def keep_latest(latest: dict[str, tuple[str, str]], events, wanted: set[str]) -> None:
    """Record in `latest` (uid -> (timestamp, message)) each event about a `wanted` object that is not
    older than the one recorded. Event by event, so a page that fails later keeps what came before."""
    for ev in events:
        uid = (ev.get("involvedObject") or {}).get("uid")
        stamp = ev.get("lastTimestamp") or ev.get("eventTime") or ""
        if uid in wanted and stamp >= latest.get(uid, ("", ""))[0]:
            latest[uid] = (stamp, str(ev.get("message") or "").strip())


def list_externalsecrets(kube, api: Api, namespace, selector, report) -> list[ExternalSecret]:
    query = {"labelSelector": selector}
    try:
        return [ExternalSecret(stamp(raw, api)) for raw in kube.list(api.path(namespace), query)]
    except KubeError as e:
        if e.status != 403 or namespace is not None:
            raise
    # Cluster-wide LIST forbidden: fall back to the namespaces we may read, and say which we may not.
    try:
        namespaces = [n["metadata"]["name"] for n in kube.list("/api/v1/namespaces")]
    except KubeError:
        raise KubeError(f"forbidden: cannot list {api.plural}.{api.group} in all namespaces, nor the namespaces "
                        "themselves: pass -n NAMESPACE", 403) from None
    found = []
    for ns in namespaces:
        try:
            found += [ExternalSecret(stamp(raw, api)) for raw in kube.list(api.path(ns), query)]
        except KubeError as e:
            if e.status != 403:
                raise
            report.deny(f"{api.plural}.{api.group}", ns)
    return found


def stamp(raw: dict, api: Api) -> dict:
    # Items of a LIST carry no apiVersion/kind of their own in every server version; set them.
    raw.setdefault("apiVersion", api.api_version)
    raw.setdefault("kind", "ExternalSecret")
    return raw


def list_secrets(kube, namespaces, cluster_wide, report):
    """((namespace, name) -> key summary, namespace -> why its Secrets could not be read)."""
    unreadable = {}
    if cluster_wide and namespaces:
        try:
            found = cluster_wide_secrets(kube, set(namespaces))
            if found is not None:
                return found, unreadable
        except KubeError as e:
            if e.status != 403:
                raise  # forbidden cluster-wide: per namespace below tells which ones we may read

    def one(ns):
        try:
            return ns, summarise(kube.list(f"/api/v1/namespaces/{ns}/secrets"))
        except KubeError as e:
            if e.status != 403:
                raise
            return ns, None

    summaries = {}
    for ns, found in parallel(one, namespaces):
        if found is None:
            unreadable[ns] = f"cannot list Secrets in namespace {ns}: forbidden"
            report.deny("Secrets", ns)
        else:
            summaries.update(found)
    return summaries, unreadable


def cluster_wide_secrets(kube, wanted: set[str]):
    """Key summaries of the Secrets in `wanted` namespaces from cluster-wide LIST pages, or None when the first
    page shows a cluster with more Secrets than PROBE_PAGE and the wanted namespaces are few: a LIST per
    namespace then reads less. A small cluster is one request, where a LIST per namespace costs ~1 ms each."""
    first = kube.get("/api/v1/secrets", {"limit": PROBE_PAGE})
    items = first.get("items") or []
    token = (first.get("metadata") or {}).get("continue")
    if token and len(wanted) <= PER_NAMESPACE_MAX:
        return None
    summaries = summarise(items, wanted)
    if token:
        summaries.update(summarise(kube.list("/api/v1/secrets", {"continue": token}), wanted))
    return summaries


def parallel(work, items, workers: int = 8) -> list:
    """[work(item) for item in items], up to `workers` at a time; the first exception is raised.
    Threads of our own: concurrent.futures would import logging (~5 ms) on every verify."""
    import threading

    results, errors, pending = [None] * len(items), [], list(enumerate(items))

    def worker():
        while pending and not errors:
            try:
                i, item = pending.pop()
            except IndexError:
                return
            try:
                results[i] = work(item)
            except BaseException as e:  # handed to the caller's thread
                errors.append(e)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(workers, len(items)) - 1)]
    for thread in threads:
        thread.start()
    worker()  # this thread works too: one namespace needs no thread at all
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def summarise(secrets, wanted: set[str] | None = None) -> dict[tuple[str, str], dict[str, bool]]:
    """(namespace, name) -> key summary of the Secrets in `wanted` namespaces (None = all).

    Key names and emptiness only, page by page: values are never held on to.
    """
    summaries = {}
    for s in secrets:
        meta = s.get("metadata") or {}
        if wanted is None or meta.get("namespace") in wanted:
            summaries[(meta.get("namespace"), meta.get("name"))] = secret_summary(s)
    return summaries
