"""The functions and values of secret-schema templates (model.templates runs them), with Go's and sprig's
meaning: Go's truth, `and`/`or` returning an argument, `eq` refusing to compare a number with a string,
sprig's `default DEFAULT VALUE`, `fromJson` numbers as Go's float64 (printed `1e+06` as Go prints them).

An input that is not there (no such Secret, key, store value or map key) is a `Missing`: empty in
conditions and comparisons (so `{{ if secret "x" "k" }}` and `| default "admin"` work as on a Jenkins X
cluster), and the TemplateError naming it wherever its value would be written or handed to a function
that needs it. Messages name fields, functions and types, never a value.
"""

import base64
import json
import math


class TemplateError(ValueError):
    """A template that cannot be used, or an input it needs that is missing. Never holds a secret value."""


class MissingInput(TemplateError):
    """An input the template needs is not there (yet): a Secret, key, ExternalSecret or store value someone
    has to set, or a requirements field. The template itself is fine."""


class Lookup:
    """Where template functions read values. Each returns the value, or raises TemplateError naming
    what is missing (never returns "")."""

    def secret(self, namespace: str, name: str, key: str) -> str:
        raise NotImplementedError

    def extsecret(self, name: str, key: str) -> str:
        raise NotImplementedError


class Missing:
    """An input that is not there; `reason` says which (a TemplateError's message)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return "Missing"


def truth(value) -> bool:
    """Go's: false, 0, nil, "", an empty map or list (and a missing input) are false."""
    if isinstance(value, Missing) or value is None:
        return False
    if isinstance(value, (bool, int, float)):
        return bool(value)
    return len(value) > 0


def needed(value):
    """The value itself; a missing one is its error."""
    if isinstance(value, Missing):
        raise MissingInput(value.reason)
    return value


def text(value, what: str) -> str:
    """The value as Go prints it; `what` names it when it cannot be printed."""
    value = needed(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    raise TemplateError(f"{what} is {'empty' if value is None else 'not a single value'}")


def go_float(f: float) -> str:
    """fmt's %v of a float64: the shortest digits that read back the same, in %e form when the exponent is
    below -4 or at least 6 (so 1000000 is `1e+06`, as Go prints a JSON number)."""
    if math.isnan(f) or math.isinf(f):
        return "NaN" if math.isnan(f) else "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    import decimal  # only for a float that is printed

    sign, digits, exponent = decimal.Decimal(repr(f)).normalize().as_tuple()
    digits = "".join(map(str, digits))
    point = len(digits) + exponent  # where the decimal point goes, counted from the first digit
    x = point - 1
    minus = "-" if sign else ""
    if x < -4 or x >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{minus}{mantissa}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return minus + digits + "0" * (point - len(digits))
    return f"{minus}{digits[:point]}.{digits[point:]}"


def kind_of(value) -> str:
    value = "" if isinstance(value, Missing) else value
    if value is None:
        return "nil"
    for kind, types in (("bool", bool), ("integer", int), ("float", float), ("string", str), ("map", dict)):
        if isinstance(value, types):
            return kind
    return "list"


def a_or_an(kind: str) -> str:
    """`a string`, `an integer`."""
    return ("an " if kind[0] in "aeiou" else "a ") + kind


GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
              "\\": "\\\\", '"': '\\"'}


def go_quote(s: str) -> str:
    """Go's strconv.Quote (sprig's quote): printable characters as they are, the others escaped."""
    def escaped(c: str) -> str:
        if c in GO_ESCAPES:
            return GO_ESCAPES[c]
        if c.isprintable():
            return c
        code = ord(c)
        return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return '"' + "".join(escaped(c) for c in s) + '"'


def _kind(value, name: str) -> str:
    """The kind of a value that can be compared."""
    kind = kind_of(value)
    if kind in ("map", "list"):
        raise TemplateError(f"{name}: cannot compare {a_or_an(kind)}")
    return kind


def _plain(value):
    return "" if isinstance(value, Missing) else value


def eq(first, *others) -> bool:
    """Go's eq: true when `first` equals any of the others, all of one kind (nil equals only nil)."""
    kind = _kind(first, "eq")
    for other in others:
        other_kind = _kind(other, "eq")
        if "nil" in (kind, other_kind):
            if kind == other_kind:
                return True
            continue
        if other_kind != kind:
            raise TemplateError(f"eq: cannot compare {a_or_an(kind)} with {a_or_an(other_kind)}")
        if _plain(first) == _plain(other):
            return True
    return False


def _order(name: str, compare):
    def ordered(a, b) -> bool:
        kinds = {_kind(a, name), _kind(b, name)}
        if len(kinds) != 1 or kinds & {"bool", "nil"}:
            raise TemplateError(f"{name}: cannot order {a_or_an(_kind(a, name))} and {a_or_an(_kind(b, name))}")
        return compare(_plain(a), _plain(b))
    return ordered


def empty(value) -> bool:
    """sprig's empty: what Go's truth calls false."""
    return not truth(value)


def default(fallback, *given):
    """sprig's `default DEFAULT VALUE` (the VALUE usually piped in): VALUE unless it is empty."""
    return given[0] if given and truth(given[0]) else fallback


def has_key(mapping, key) -> bool:
    if isinstance(mapping, Missing) or mapping is None:
        return False
    if not isinstance(mapping, dict):
        raise TemplateError(f"hasKey: expected a map, got {a_or_an(kind_of(mapping))}")
    return _string(key, "hasKey") in mapping


def contains(part, whole) -> bool:
    """sprig's `contains SUBSTRING STRING`."""
    return _string(_plain(part), "contains") in _string(_plain(whole), "contains")


def from_json(value):
    """sprig's fromJson; numbers are float64 in Go. Malformed JSON is an error here (sprig gives nil)."""
    document = text(value, "fromJson's argument")  # a missing one is a MissingInput, not malformed JSON
    try:
        return json.loads(document, parse_int=float)
    except (ValueError, RecursionError):
        raise TemplateError("fromJson: the value is not valid JSON") from None


def _string(value, name: str) -> str:
    value = needed(value)
    if not isinstance(value, str):
        raise TemplateError(f"{name}: expected a string, got {a_or_an(kind_of(value))}")
    return value


def _b64decode(value: str) -> str:
    # binascii's and the UTF-8 decoder's messages quote bytes of the value: name the problem only.
    try:
        return base64.b64decode(value.encode()).decode()
    except ValueError:
        raise TemplateError("b64dec: the value is not base64 of UTF-8 text") from None


def _strings(function):
    """A function of one string (sprig's filters): a number or bool is taken as Go prints it."""
    return lambda value: function(text(value, "its argument"))


STRING_FUNCTIONS = {
    "b64enc": _strings(lambda s: base64.b64encode(s.encode()).decode()),
    "b64dec": _strings(_b64decode),
    "quote": _strings(lambda s: go_quote(s)),
    "squote": _strings(lambda s: f"'{s}'"),
    "trim": _strings(str.strip),
    "lower": _strings(str.lower),
    "upper": _strings(str.upper),
}
LOGIC = {  # name -> (fewest arguments, most (None: any), function); and/or are run by the caller (short-circuit)
    "and": (1, None, None), "or": (1, None, None), "not": (1, 1, lambda v: not truth(v)),
    "eq": (2, None, eq), "ne": (2, 2, lambda a, b: not eq(a, b)),
    "lt": (2, 2, _order("lt", lambda a, b: a < b)), "le": (2, 2, _order("le", lambda a, b: a <= b)),
    "gt": (2, 2, _order("gt", lambda a, b: a > b)), "ge": (2, 2, _order("ge", lambda a, b: a >= b)),
    "default": (1, 2, default), "empty": (1, 1, empty), "hasKey": (2, 2, has_key), "contains": (2, 2, contains),
    "fromJson": (1, 1, from_json),
}
LOOKUPS = {"secret": 2, "extsecret": 2, "auth": 3, "extauth": 3, "htpasswdSecret": 3, "htpasswdExtSecret": 3}
FUNCTIONS = tuple(LOOKUPS) + tuple(STRING_FUNCTIONS) + tuple(LOGIC)


def arity(name: str) -> tuple[int, int | None]:
    if name in LOOKUPS:
        return LOOKUPS[name], LOOKUPS[name]
    if name in STRING_FUNCTIONS:
        return 1, 1
    return LOGIC[name][:2]


def call(name: str, args: list, lookup: Lookup):
    """Function `name` (not and/or) on evaluated `args` (their count already checked)."""
    if name in STRING_FUNCTIONS:
        return STRING_FUNCTIONS[name](args[0])
    if name in LOGIC:
        return LOGIC[name][2](*args)
    return _lookup(name, [_string(a, name) for a in args], lookup)


def split_secret_name(name: str) -> tuple[str, str]:
    """`ns.name` -> (ns, name), split at the first dot as jx does; ("", name) without a dot."""
    namespace, dot, rest = name.partition(".")
    return (namespace, rest) if dot else ("", name)


def _lookup(name: str, args: list[str], lookup: Lookup):
    def read(key_name, key):
        namespace, secret = split_secret_name(key_name)
        try:
            if name.startswith(("ext", "htpasswdExt")):
                return lookup.extsecret(key_name, key)
            return lookup.secret(namespace, secret, key)
        except TemplateError as e:  # jx reads it as "": empty in a condition, an error where it is written
            return Missing(str(e))

    if name in ("secret", "extsecret"):
        return read(args[0], args[1])
    user = needed(read(args[0], args[1]))
    if ":" in user:
        raise TemplateError(f"{name}: the user name in {args[0]} {args[1]} contains ':'")
    password = needed(read(args[0], args[2]))
    if name.startswith("htpasswd"):
        from .bcrypt import hash_password

        return f"{user}:{hash_password(password)}"
    return f"{user}:{password}"
