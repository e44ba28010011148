"""Replication in a GitOps checkout (`replicate --dir CONFIG_ROOT`), decided without I/O.

The ExternalSecret and Secret files of `config-root/namespaces/<from>/` that match are copied to
`config-root/namespaces/<target>/<same relative path>`, so the boot job applies them there: the same
object with the target namespace, server-side fields and status stripped, the replica-source label
dropped (a copy is not a source) and the replica label plus the source annotation added. Ownership,
no-op and prune follow the live rules (model/replication.py): a file that is not a replica is left alone
unless forced, a file that already reads the same is not written, and `--prune` deletes replica files of
this source namespace whose source is gone or no longer selected.
"""

import copy
import re

import yaml

from .replication import LAST_APPLIED, REPLICA_LABEL, SERVER_FIELDS, SOURCE_ANNOTATION, Action, Step, Target

KINDS = ("ExternalSecret", "Secret")
SOURCE_LABEL = "secret.jenkins-x.io/replica-source"
REPLICA_ANNOTATION = "secret.jenkins-x.io/replica"  # what jx secret replicate set; jx boot's populate looks for it

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_EXISTS = re.compile(rf"^(!?)\s*({_KEY})$")
_EQUALS = re.compile(rf"^({_KEY})\s*(==|=|!=)\s*([-A-Za-z0-9_.]*)$")
_SET = re.compile(rf"^({_KEY})\s+(in|notin)\s+\(([^()]*)\)$")


def parse_selector(text: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """A label selector as kubectl takes it (`a=b,c!=d,e in (f,g),!h,i`) -> (key, op, values) requirements.
    Raises ValueError."""
    parts, depth, part = [], 0, ""
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(part)
            part = ""
        else:
            part += ch
    parts.append(part)
    if depth != 0:
        raise ValueError(f'invalid label selector "{text}": unbalanced parentheses')
    return [_requirement(p.strip(), text) for p in parts if p.strip()]


def _requirement(part: str, text: str):
    if m := _SET.match(part):
        return m[1], m[2], tuple(v.strip() for v in m[3].split(",") if v.strip())
    if m := _EQUALS.match(part):
        return m[1], "!=" if m[2] == "!=" else "=", (m[3],)
    if m := _EXISTS.match(part):
        return m[2], "!" if m[1] else "exists", ()
    raise ValueError(f'invalid label selector "{text}": cannot read "{part}"')


def matches(labels: dict, requirements) -> bool:
    """Every requirement holds for `labels`."""
    return all(_holds(labels, key, op, values) for key, op, values in requirements)


def _holds(labels: dict, key: str, op: str, values: tuple[str, ...]) -> bool:
    have, value = key in labels, str(labels.get(key, ""))
    if op == "=":
        return have and value == values[0]
    if op in ("!=", "notin"):
        return not have or value not in values
    if op == "in":
        return have and value in values
    return have if op == "exists" else not have


def is_source(doc, requirements, names) -> bool:
    if not isinstance(doc, dict) or doc.get("kind") not in KINDS:
        return False
    meta = doc.get("metadata") or {}
    if names and meta.get("name") not in names:
        return False
    return matches(meta.get("labels") or {}, requirements or ())


def replica_document(doc: dict, namespace: str, source: str) -> dict:
    """The copy of one source document for `namespace`."""
    out = copy.deepcopy(doc)
    out.pop("status", None)
    meta = out.setdefault("metadata", {})
    for name in SERVER_FIELDS:
        meta.pop(name, None)
    meta["namespace"] = namespace
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != SOURCE_LABEL}
    meta["labels"] = {**labels, REPLICA_LABEL: "true"}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    meta["annotations"] = {**annotations, REPLICA_ANNOTATION: "true", SOURCE_ANNOTATION: source}
    return out


def render(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def parsed(text: str | None):
    try:
        docs = [d for d in yaml.safe_load_all(text or "") if d is not None]
    except yaml.YAMLError:
        return None
    return docs[0] if len(docs) == 1 else None


def is_replica_doc(doc) -> bool:
    return isinstance(doc, dict) and ((doc.get("metadata") or {}).get("labels") or {}).get(REPLICA_LABEL) == "true"


def source_of(doc) -> str:
    if not isinstance(doc, dict):
        return ""
    return ((doc.get("metadata") or {}).get("annotations") or {}).get(SOURCE_ANNOTATION, "")


def plan_files(target: Target, sources: dict[str, dict], held: dict[str, str], from_namespace: str,
               force: bool = False, prune: bool = False) -> list[Step]:
    """Steps for one target folder. `sources`: relative path -> source document; `held`: relative path ->
    text of each file the target folder has. A Step's name is the relative path and its body the text."""
    steps = []
    for path, doc in sorted(sources.items()):
        ref = f"{from_namespace}/{(doc.get('metadata') or {}).get('name', '')}"
        text = render(replica_document(doc, target.namespace, ref))
        there = held.get(path)
        if there is None:
            steps.append(Step(Action.CREATE, target, path, ref, {"text": text}))
            continue
        old = parsed(there)
        owned = is_replica_doc(old) and source_of(old) == ref
        if not owned and not force:
            why = (f"a replica of {source_of(old)} is there" if is_replica_doc(old)
                   else "a file not made by replication is there")
            steps.append(Step(Action.SKIP_FOREIGN, target, path, ref, reason=f"{why} (--force to overwrite)"))
        elif owned and there == text:
            steps.append(Step(Action.UNCHANGED, target, path, ref))
        else:
            steps.append(Step(Action.UPDATE, target, path, ref, {"text": text},
                              reason="" if owned else "forced over a file not made by this replication"))
    if prune:
        for path, there in sorted(held.items()):
            old = parsed(there)
            origin = source_of(old)
            if path not in sources and is_replica_doc(old) and origin.partition("/")[0] == from_namespace:
                steps.append(Step(Action.PRUNE, target, path, origin,
                                  reason=f"source {origin} is gone or no longer selected"))
    return sorted(steps, key=lambda s: s.name)
