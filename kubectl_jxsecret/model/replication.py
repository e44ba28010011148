"""Replication of Secrets to other namespaces, decided without I/O: which namespaces (permanent Jenkins X
Environments), what a copy looks like, and per target what a run does with each name.

A copy is `data` and `type` of its source and nothing else of it: no server-side fields (uid,
resourceVersion, managedFields, ownerReferences, creationTimestamp, last-applied), no labels or
annotations of the source (ESO's own would make the operator look for an owner that is not there).
It carries the replica label and, in annotations, where it came from and a hash of its content. A copy
is *owned* when it has the replica label and names the same source; everything else of the same name is
*foreign* and is left alone unless forced. Values stay inside the steps: what is shown names
namespaces and Secrets, never data.
"""

import copy as _copy
import enum
import hashlib
import json
from typing import NamedTuple

REPLICA_LABEL = "secret.jenkins-x.io/replica"
SOURCE_SELECTOR = "secret.jenkins-x.io/replica-source=true"
SOURCE_ANNOTATION = "secret.jenkins-x.io/replica-of"  # "<namespace>/<name>" of the source
HASH_ANNOTATION = "secret.jenkins-x.io/replica-hash"  # sha256 of the copied type and data
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SERVER_FIELDS = ("uid", "resourceVersion", "managedFields", "ownerReferences", "creationTimestamp", "generation",
                 "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")


class Action(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    SKIP_FOREIGN = "skipped-foreign"
    PRUNE = "prune"

    @property
    def writes(self) -> bool:
        return self in (Action.CREATE, Action.UPDATE, Action.PRUNE)


class Target(NamedTuple):
    """Where copies go: a namespace, on the command's own cluster or through another kubeconfig context."""

    namespace: str
    context: str | None = None  # None: the command's context
    environment: str = ""  # the Jenkins X Environment it came from, if any

    def __str__(self):
        return f"{self.context}:{self.namespace}" if self.context else self.namespace


class Step:
    """What a run does with one name in one target. Not a NamedTuple: it holds the Secret's data (`body`), and
    the write sets what was finally done (`action`, `reason`)."""

    def __init__(self, action: Action, target: Target, name: str, source: str = "", body: dict | None = None,
                 resource_version: str = "", reason: str = ""):
        self.action, self.target, self.name = action, target, name
        self.source = source  # "<namespace>/<name>" of the source ("" for a prune of a source that is gone)
        self.body = body  # the object to write (create/update); never printed
        self.resource_version = resource_version  # of what is there now: the precondition of an update or delete
        self.reason = reason

    def __repr__(self):
        return f"Step({self.action.value} {self.where})"  # never the body

    @property
    def where(self) -> str:
        return f"{self.target}/{self.name}"


def content_hash(secret: dict) -> str:
    """sha256 of a Secret's type and data: equal for equal content, whatever the key order."""
    content = {"type": secret.get("type") or "Opaque", "data": secret.get("data") or {}}
    return "sha256:" + hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def source_ref(secret: dict) -> str:
    meta = secret.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def replica_of(source: dict, namespace: str) -> dict:
    """The copy of `source` for `namespace`: its data and type, the replica label and where it came from."""
    meta = source.get("metadata") or {}
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": meta["name"], "namespace": namespace, "labels": {REPLICA_LABEL: "true"},
                         "annotations": {SOURCE_ANNOTATION: source_ref(source), HASH_ANNOTATION: content_hash(source)}},
            "type": source.get("type") or "Opaque",
            "data": dict(source.get("data") or {})}


def is_replica(secret: dict) -> bool:
    return ((secret.get("metadata") or {}).get("labels") or {}).get(REPLICA_LABEL) == "true"


def replica_source(secret: dict) -> str:
    return ((secret.get("metadata") or {}).get("annotations") or {}).get(SOURCE_ANNOTATION, "")


def up_to_date(held: dict, wanted: dict) -> bool:
    """`held` is already `wanted`: same content, and our label and annotations say so."""
    meta, want = held.get("metadata") or {}, wanted["metadata"]
    return (content_hash(held) == content_hash(wanted)
            and all((meta.get("labels") or {}).get(k) == v for k, v in want["labels"].items())
            and all((meta.get("annotations") or {}).get(k) == v for k, v in want["annotations"].items()))


def updated(held: dict, wanted: dict) -> dict:
    """What an update writes: `wanted`, keeping the labels and annotations others put on the copy, with the
    resourceVersion of `held` as the precondition (a concurrent change is a 409, never overwritten)."""
    meta = held.get("metadata") or {}
    body = _copy.deepcopy(wanted)
    body["metadata"]["labels"] = {**(meta.get("labels") or {}), **wanted["metadata"]["labels"]}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    body["metadata"]["annotations"] = {**annotations, **wanted["metadata"]["annotations"]}
    body["metadata"]["resourceVersion"] = meta.get("resourceVersion", "")
    return body


def plan_target(target: Target, sources: list[dict], held: dict[str, dict], from_namespace: str,
                force: bool = False, prune: bool = False) -> list[Step]:
    """The steps for one target. `held`: name -> what the target has now under that name (full objects for
    replicas; foreign Secrets need only their metadata). Sorted by name."""
    steps = []
    selected = set()
    for source in sources:
        name = source["metadata"]["name"]
        selected.add(name)
        wanted = replica_of(source, target.namespace)
        ref = source_ref(source)
        there = held.get(name)
        if there is None:
            steps.append(Step(Action.CREATE, target, name, ref, wanted))
            continue
        version = (there.get("metadata") or {}).get("resourceVersion", "")
        owned = is_replica(there) and replica_source(there) == ref
        if not owned and not force:
            why = (f"a replica of {replica_source(there) or 'another Secret'} is there" if is_replica(there)
                   else "a Secret not made by replication is there")
            steps.append(Step(Action.SKIP_FOREIGN, target, name, ref, resource_version=version,
                              reason=f"{why} (--force to overwrite)"))
        elif owned and up_to_date(there, wanted):
            steps.append(Step(Action.UNCHANGED, target, name, ref, resource_version=version))
        else:
            reason = "" if owned else "forced over a Secret not made by this replication"
            steps.append(Step(Action.UPDATE, target, name, ref, updated(there, wanted), version, reason))
    if prune:
        for name, there in held.items():
            origin = replica_source(there)
            if (name not in selected and is_replica(there) and origin.partition("/")[0] == from_namespace):
                steps.append(Step(Action.PRUNE, target, name, origin,
                                  resource_version=(there.get("metadata") or {}).get("resourceVersion", ""),
                                  reason=f"source {origin} is gone or no longer selected"))
    return sorted(steps, key=lambda s: s.name)


# ------------------------------------------------------------------------------------------ targets

class Environment(NamedTuple):
    name: str
    namespace: str
    kind: str
    remote: bool

    @classmethod
    def from_object(cls, obj: dict) -> "Environment":
        spec = obj.get("spec") or {}
        return cls(str((obj.get("metadata") or {}).get("name", "")), str(spec.get("namespace") or ""),
                   str(spec.get("kind") or ""), bool(spec.get("remoteCluster")))


def environment_targets(environments: list[Environment], context_for: dict[str, str], exclude: set[str],
                        source_namespace: str) -> tuple[list[Target], list[str]]:
    """The namespaces of Permanent Environments, and notes on those left out. A remote-cluster Environment
    is skipped unless `context_for` names a kubeconfig context for it; `context_for` applies to any
    Environment. Raises ValueError for a `context_for` name that is not a Permanent Environment."""
    targets, notes = [], []
    permanent = {e.name: e for e in environments if e.kind == "Permanent"}
    unknown = sorted(set(context_for) - set(permanent))
    if unknown:
        raise ValueError(f"--context-for {unknown[0]}: no Permanent Environment {unknown[0]}")
    for env in sorted(permanent.values(), key=lambda e: e.name):
        context = context_for.get(env.name)
        if not env.namespace:
            notes.append(f"Environment {env.name} names no namespace: skipped")
        elif env.namespace in exclude:
            continue
        elif env.remote and context is None:
            notes.append(f"Environment {env.name} is on a remote cluster: skipped (reach it with "
                         f"--context-for {env.name}=CONTEXT)")
        elif env.namespace == source_namespace and context is None:
            notes.append(f"Environment {env.name} is the source namespace {env.namespace}: skipped")
        else:
            targets.append(Target(env.namespace, context, env.name))
    return targets, notes


def parse_context_for(values: list[str]) -> dict[str, str]:
    """`--context-for ENV=CONTEXT` (repeatable) -> {ENV: CONTEXT}. Raises ValueError."""
    found = {}
    for value in values:
        env, eq, context = value.partition("=")
        if not eq or not env or not context:
            raise ValueError(f"--context-for {value}: expected ENVIRONMENT=CONTEXT")
        found[env] = context
    return found

