"""What `edit` asks for: each store value once, in the words the Jenkins X schema gives it.

The same value (store, `remoteRef.key`, `remoteRef.property`) may be read by several ExternalSecrets, or
by several entries of one: it is asked once, worded by the ExternalSecret whose schema describes the most
properties (as jx secret edit does). Values never come here: only whether the store holds one.
"""

import json
from dataclasses import dataclass

from .externalsecret import ExternalSecret, _dict, _list
from .plan import Destination, Ref


@dataclass(frozen=True)
class Question:
    destination: Destination
    property: str
    name: str  # "<namespace>/<externalsecret>.<secretKey>": how notes and pickers call it
    message: str  # the schema's question, else `name`
    help: str = ""  # the schema's help, if any
    is_set: bool = False  # the store holds a non-empty value for it now
    readers: tuple[str, ...] = ()  # "<namespace>/<name>" of each ExternalSecret that reads it

    @property
    def status(self) -> str:
        return "set" if self.is_set else "not set"


def schema_properties(es: ExternalSecret) -> dict[str, dict]:
    """The properties of the schema annotation (`secret.jenkins-x.io/schema-object`) by name, which is the
    Secret key (`data[].secretKey`). {} without an annotation, or when it is not a JSON object."""
    try:
        schema = json.loads(es.schema_annotation or "{}")
    except ValueError:
        return {}
    found = {}
    for prop in _list(_dict(schema).get("properties")):
        prop = _dict(prop)
        if prop.get("name"):
            found.setdefault(str(prop["name"]), prop)
    return found


def questions(found: list[tuple[ExternalSecret, list[Ref]]], current: dict[Destination, dict | None],
              only_missing: bool) -> list[Question]:
    """One question per value the refs of `found` read, in their order (ExternalSecret, then spec).

    `current` is what each store path holds now; `only_missing` leaves out what already has a value.
    """
    readers: dict[tuple[Destination, str], list[tuple[ExternalSecret, Ref]]] = {}
    for es, refs in found:
        for ref in refs:
            readers.setdefault((ref.destination, ref.property), []).append((es, ref))
    asked = []
    for (destination, prop), reading in readers.items():
        is_set = bool((current.get(destination) or {}).get(prop))
        if only_missing and is_set:
            continue
        # The richest schema words it (a stable sort keeps the first of equals first).
        ranked = sorted(reading, key=lambda pair: -len(schema_properties(pair[0])))
        es, ref = ranked[0]
        name = f"{ref.namespace}/{ref.name}.{ref.secret_key}"
        message, help_text = name, ""
        for es, ref in ranked:
            described = schema_properties(es).get(ref.secret_key) or {}
            if described.get("question"):
                message, help_text = str(described["question"]), str(described.get("help") or "")
                break
        asked.append(Question(destination, prop, name, message, help_text, is_set,
                              tuple(dict.fromkeys(r.external_secret for _, r in reading))))
    return asked


def wanted(answers: dict[Question, str]) -> dict[Destination, dict[str, str]]:
    """The answers grouped by store path: one merged write each."""
    grouped: dict[Destination, dict[str, str]] = {}
    for question, value in answers.items():
        grouped.setdefault(question.destination, {})[question.property] = value
    return grouped
