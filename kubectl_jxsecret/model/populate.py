"""Which value each property gets when `populate` (or `rotate`) fills it, and from where.

Per value (store, key, property), from the schema property named like the data[] entry's secretKey:

    template (unless onlyTemplateIfBlank and a value is set) -> the value set now (unless overwrite)
    -> generator -> defaultValue -> a person (`kubectl jxsecret edit`)

Two passes: generators and defaults first, then templates, in order, so a template can read what the
first pass made (and what an earlier template made). A template whose input is not there yet waits, as
a value only a person can set does, and the other values go ahead; a template broken otherwise is a
problem, which stops them all. A value read by several ExternalSecrets is decided once, by the reader
whose schema says most about it. Values stay inside Decisions, never in reprs.
Pure: generating, rendering and the stores' current values come from the caller.
"""

from typing import NamedTuple

from .plan import Destination, Ref
from .generators import Unavailable
from .schema import Property
from .templates import MissingInput, TemplateError

TEMPLATE, GENERATOR, DEFAULT, KEPT, PERSON = "template", "generator", "default", "kept", "person"


class Target(NamedTuple):
    ref: Ref
    prop: Property | None  # the schema's property for ref.secret_key; None without one

    @property
    def name(self) -> str:
        return f"{self.ref.namespace}/{self.ref.name}.{self.ref.secret_key}"

    @property
    def rank(self) -> int:
        """Who decides a shared value: a template, then a generator, then a default, then anyone."""
        p = self.prop
        return 0 if p and p.template else 1 if p and p.generator else 2 if p and p.default_value else 3


class Decision:
    """Where one value comes from. Not a NamedTuple: it holds the value, which a tuple would hand to anything
    that prints or unpacks it."""

    def __init__(self, target: Target, source: str, value: str | None = None, problem: str = "", reason: str = ""):
        self.target, self.source = target, source  # source: TEMPLATE | GENERATOR | DEFAULT | KEPT | PERSON
        self.value = value  # what to write (TEMPLATE, GENERATOR, DEFAULT); never printed
        self.problem = problem  # why it cannot be written: stops the command before any write
        self.reason = reason  # PERSON: why no value can be made

    def __repr__(self):
        return f"Decision({self.describe()})"  # never the value

    @property
    def writes(self) -> bool:
        return self.source in (TEMPLATE, GENERATOR, DEFAULT) and not self.problem

    def describe(self) -> str:
        """`<ns>/<name>.<key>: <where the value comes from>`; never the value."""
        what = {TEMPLATE: "template", DEFAULT: "defaultValue",
                GENERATOR: f"generator {self.target.prop.generator if self.target.prop else ''}",
                KEPT: "set, kept", PERSON: "needs a value"}[self.source]
        return f"{self.target.name}: {what}"


def source_of(prop: Property | None, is_set: bool, overwrite: bool) -> str:
    if prop is not None and prop.template and not (prop.only_template_if_blank and is_set and not overwrite):
        return TEMPLATE
    if is_set and not overwrite:
        return KEPT
    if prop is not None and prop.generator:
        return GENERATOR
    if prop is not None and prop.default_value:
        return DEFAULT
    return KEPT if is_set else PERSON


def decide(targets: list[Target], current: dict[Destination, dict | None], overwrite: bool, generate, render,
           planned: dict) -> list[Decision]:
    """A Decision per value of `targets` (shared values once). `generate(prop) -> str` and
    `render(target) -> str` raise ValueError/TemplateError; `planned` ((destination, property) -> value)
    is filled as values are decided, for `render` to read."""
    by_value: dict[tuple, Target] = {}
    for t in sorted(targets, key=lambda t: t.rank):  # stable: spec order among equals
        by_value.setdefault((t.ref.destination, t.ref.property), t)
    chosen = [t for t in targets if by_value[(t.ref.destination, t.ref.property)] is t]
    decisions = {}
    for second_pass in (False, True):
        for t in chosen:
            is_set = bool((current.get(t.ref.destination) or {}).get(t.ref.property))
            source = source_of(t.prop, is_set, overwrite)
            if (source == TEMPLATE) != second_pass:
                continue
            decisions[id(t)] = d = one(t, source, generate, render)
            if d.writes:
                planned[(t.ref.destination, t.ref.property)] = d.value
    return [decisions[id(t)] for t in chosen]


def one(t: Target, source: str, generate, render) -> Decision:
    if source == PERSON:
        return Decision(t, PERSON, reason="no template, generator or defaultValue in its schema" if t.prop
                        else "no schema property describes it")
    if source == KEPT:
        return Decision(t, KEPT)
    try:
        value = render(t) if source == TEMPLATE else generate(t.prop) if source == GENERATOR else t.prop.default_value
    except Unavailable as e:
        return Decision(t, PERSON, reason=str(e))
    except MissingInput as e:
        return Decision(t, PERSON, reason=f"its template needs an input that is not there: {e}")
    except (TemplateError, ValueError) as e:
        return Decision(t, source, problem=f"{source}: {e}")
    problem = t.prop.problem(value)
    return Decision(t, source, value, problem=f"the {source} value {problem}" if problem else "")


def wanted(decisions: list[Decision]) -> dict[Destination, dict[str, str]]:
    """The values to write, grouped by store path."""
    grouped: dict[Destination, dict[str, str]] = {}
    for d in decisions:
        if d.writes:
            grouped.setdefault(d.target.ref.destination, {})[d.target.ref.property] = d.value
    return grouped
