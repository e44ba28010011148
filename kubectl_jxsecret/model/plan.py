"""Where each value of an ExternalSecret lives in its store, and what a write would change there.

Every writing command (edit, import, populate, rotate) speaks this language: a `Ref` is one value an
ExternalSecret reads (store, `remoteRef.key`, `remoteRef.property`); refs that share a store and key
are one `Destination`, written once with everything merged. A `Plan` compares what a command wants
to write with what the store holds, per property: new, changed or unchanged. Values stay inside the
plan: what is shown of it (`--dry-run`, summaries) names stores, keys and properties, never values.
"""

import enum
from typing import NamedTuple

from .externalsecret import ExternalSecret, _dict, _list


class StoreRef(NamedTuple):
    kind: str  # SecretStore | ClusterSecretStore
    name: str
    namespace: str = ""  # a SecretStore's namespace (the ExternalSecret's); "" for a ClusterSecretStore

    def __str__(self):
        return f"{self.kind}/{self.name}" + (f" (namespace {self.namespace})" if self.namespace else "")


class Destination(NamedTuple):
    """One path of one store: the unit of a write."""

    store: StoreRef
    key: str  # remoteRef.key, as the ExternalSecret says it

    def __str__(self):
        return f"{self.store} {self.key}"


class Ref(NamedTuple):
    """One value an ExternalSecret reads: `property` of `destination`, landing in Secret key `secret_key`."""

    namespace: str
    name: str  # the ExternalSecret
    destination: Destination
    property: str
    secret_key: str

    @property
    def external_secret(self) -> str:
        return f"{self.namespace}/{self.name}"


class Unwritable(NamedTuple):
    """A part of an ExternalSecret no command can fill property by property, and why."""

    namespace: str
    name: str
    reason: str


def store_of(es: ExternalSecret, entry_ref: dict | None = None) -> StoreRef | None:
    ref = _dict(entry_ref) or _dict(es.spec.get("secretStoreRef"))
    if not ref.get("name"):
        return None
    kind = str(ref.get("kind") or "SecretStore")
    return StoreRef(kind, str(ref["name"]), es.namespace if kind == "SecretStore" else "")


def refs_of(es: ExternalSecret) -> tuple[list[Ref], list[Unwritable]]:
    """The store values behind `es`'s `data[]`, and what cannot be written property by property:
    a legacy object (no store), a `remoteRef` without `property` (the whole secret as one JSON value),
    `dataFrom` (the properties are whatever the store path holds; `import` writes those) and generators."""
    if es.legacy:
        return [], [Unwritable(es.namespace, es.name, "legacy kubernetes-client.io ExternalSecret: it names no store")]
    refs, unwritable = [], []
    for i, entry in enumerate(_list(es.spec.get("data"))):
        entry = _dict(entry)
        remote = _dict(entry.get("remoteRef"))
        store = store_of(es, entry.get("sourceRef") and _dict(entry["sourceRef"]).get("storeRef"))
        where = f"spec.data[{i}]"
        if store is None:
            unwritable.append(Unwritable(es.namespace, es.name, f"{where} names no store"))
        elif not remote.get("key") or not entry.get("secretKey"):
            unwritable.append(Unwritable(es.namespace, es.name, f"{where} has no remoteRef.key or secretKey"))
        elif not remote.get("property"):
            unwritable.append(Unwritable(es.namespace, es.name,
                                         f"{where} reads the whole secret at {remote['key']} (no property)"))
        else:
            refs.append(Ref(es.namespace, es.name, Destination(store, str(remote["key"])), str(remote["property"]),
                            str(entry["secretKey"])))
    for i, entry in enumerate(_list(es.spec.get("dataFrom"))):
        entry = _dict(entry)
        what = ("extract", "find", "sourceRef")
        kind = next((k for k in what if entry.get(k)), "an unknown source")
        unwritable.append(Unwritable(es.namespace, es.name, f"spec.dataFrom[{i}] ({kind}): its properties are "
                                                            "whatever the store holds; write them with import"))
    return refs, unwritable


def destinations_of(es: ExternalSecret) -> list[Destination]:
    """Every store path `es` reads, `dataFrom.extract` keys included (for export), in spec order."""
    found = [r.destination for r in refs_of(es)[0]]
    for entry in _list(es.spec.get("dataFrom")):
        extract = _dict(_dict(entry).get("extract"))
        store = store_of(es, _dict(_dict(entry).get("sourceRef")).get("storeRef"))
        if extract.get("key") and store:
            found.append(Destination(store, str(extract["key"])))
    return list(dict.fromkeys(found))


class Change(str, enum.Enum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


class PathPlan:
    """What one write to `destination` does: the merged values, and per property the kind of change.
    Not a NamedTuple: a tuple would hand its values to anything that prints or unpacks it."""

    def __init__(self, destination: Destination, values: dict[str, str], changes: dict[str, Change]):
        self.destination, self.values, self.changes = destination, values, changes

    def __repr__(self):
        return f"PathPlan({summary(self)})"  # never a value

    @property
    def needs_write(self) -> bool:
        return any(c is not Change.UNCHANGED for c in self.changes.values())


def plan(wanted: dict[Destination, dict[str, str]], current: dict[Destination, dict[str, str] | None]) -> list[PathPlan]:
    """Compare `wanted` values with what each store path holds now (`current`; None = nothing there)."""
    plans = []
    for destination in sorted(wanted):
        held = current.get(destination) or {}
        values = wanted[destination]
        changes = {p: (Change.UNCHANGED if held.get(p) == v else Change.CHANGED if held.get(p) else Change.NEW)
                   for p, v in sorted(values.items())}
        plans.append(PathPlan(destination, dict(values), changes))
    return plans


def summary(p: PathPlan) -> str:
    """`<store> <key>: <property> (<change>), ...`: what a `--dry-run` and a report show; never a value."""
    return f"{p.destination}: " + ", ".join(f"{name} ({change.value})" for name, change in p.changes.items())
