"""What `edit` asks for: each store value once, in the words the Jenkins X schema gives it.

The same value (store, `remoteRef.key`, `remoteRef.property`) may be read by several ExternalSecrets, or
by several entries of one: it is asked once, worded by the ExternalSecret whose schema describes the most
properties (as jx secret edit does). Values never come here: only whether the store holds one (a schema's
defaultValue is offered for a value the store lacks, and `noMask` shows what is typed).
"""

from typing import NamedTuple

from .externalsecret import ExternalSecret
from .plan import Destination, Ref
from .schema import Property, annotation_schema


class Question(NamedTuple):
    destination: Destination
    property: str
    name: str  # "<namespace>/<externalsecret>.<secretKey>": how notes and pickers call it
    message: str  # the schema's question, else `name`
    help: str = ""  # the schema's help, if any
    is_set: bool = False  # the store holds a non-empty value for it now
    readers: tuple[str, ...] = ()  # "<namespace>/<name>" of each ExternalSecret that reads it
    rule: Property | None = None  # the schema property that words it: minLength, maxLength, pattern

    @property
    def default(self) -> str:
        """What Enter alone gives a value the store lacks: the schema's defaultValue ("" = none)."""
        return self.rule.default_value if self.rule and not self.is_set else ""

    @property
    def mask(self) -> bool:
        """Hide what is typed, unless the schema says noMask (or mask: false)."""
        return self.rule.mask if self.rule else True

    def problem(self, value: str) -> str:
        """Why the schema refuses `value` ("" when it does not); never repeats the value."""
        return self.rule.problem(value) if self.rule else ""

    @property
    def status(self) -> str:
        return "set" if self.is_set else "not set"


def questions(found: list[tuple[ExternalSecret, list[Ref]]], current: dict[Destination, dict | None],
              only_missing: bool, schema_of=annotation_schema) -> list[Question]:
    """One question per value the refs of `found` read, in their order (ExternalSecret, then spec).

    `current` is what each store path holds now; `only_missing` leaves out what already has a value;
    `schema_of(es)` gives an ExternalSecret's schema object (or None).
    """
    schemas = {id(es): schema_of(es) for es, _ in found}

    def properties(es) -> tuple[Property, ...]:
        return schemas[id(es)].properties if schemas[id(es)] else ()

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
        ranked = sorted(reading, key=lambda pair: -len(properties(pair[0])))
        es, ref = ranked[0]
        name = f"{ref.namespace}/{ref.name}.{ref.secret_key}"
        message, help_text, rule = name, "", None
        for es, ref in ranked:
            described = schemas[id(es)].property(ref.secret_key) if schemas[id(es)] else None
            if described is not None:
                rule = rule or described
                if described.question:
                    message, help_text, rule = described.question, described.help, described
                    break
        asked.append(Question(destination, prop, name, message, help_text, is_set,
                              tuple(dict.fromkeys(r.external_secret for _, r in reading)), rule))
    return asked


def wanted(answers: dict[Question, str]) -> dict[Destination, dict[str, str]]:
    """The answers grouped by store path: one merged write each."""
    grouped: dict[Destination, dict[str, str]] = {}
    for question, value in answers.items():
        grouped.setdefault(question.destination, {})[question.property] = value
    return grouped
