"""The subset of Go text/template that Jenkins X secret schemas use, for `populate`.

    {{ extsecret "nexus" "password" }}                      a value from the store, through ExternalSecret nexus
    {{ secret "jx-git-operator.jx-boot" "username" }}       a Secret's key (`ns.name`: split at the first dot)
    {{ auth "name" "userKey" "passwordKey" }}               user:password from a Secret (extauth: from the store)
    {{ .Requirements.cluster.registry }}                    jx-requirements.yml, `spec` (or the whole file)
    {{ extauth "docker" "username" "password" | b64enc }}   pipelines into b64enc, b64dec, quote, squote, trim,
                                                            lower, upper; `{{-` / `-}}` trim spaces; comments
    {{ htpasswdExtSecret "name" "userKey" "passwordKey" }}  user:<bcrypt hash> (htpasswdSecret: from a Secret)

Anything else (if/range/with, unknown functions, sprig beyond the above) is a TemplateError at parse
time, naming it; a missing input (no such key, no such Secret, an empty value) is a TemplateError at
render time: never a silent blank. The htpasswd functions hash with model.bcrypt (cost 10, as jx), with a
new salt each time they are rendered. Pure: lookups go through the `Lookup` the caller gives.
"""

import ast
import base64
import re
import warnings
from dataclasses import dataclass

LOOKUPS = {"secret": 2, "extsecret": 2, "auth": 3, "extauth": 3, "htpasswdSecret": 3, "htpasswdExtSecret": 3}
FILTERS = {
    "b64enc": lambda s: base64.b64encode(s.encode()).decode(),
    "b64dec": lambda s: _b64decode(s),
    "quote": lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"',
    "squote": lambda s: f"'{s}'",
    "trim": str.strip,
    "lower": str.lower,
    "upper": str.upper,
}
FUNCTIONS = tuple(LOOKUPS) + tuple(FILTERS)
KEYWORDS = ("if", "else", "end", "range", "with", "define", "template", "block", "break", "continue")

ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<raw>`[^`]*`)|(?P<field>(?:\.[A-Za-z_][\w-]*)+)'
                   r'|(?P<ident>[A-Za-z_]\w*)|(?P<pipe>\|)|(?P<other>\S+))')


class TemplateError(ValueError):
    """A template that cannot be used, or an input it needs that is missing. Never holds a secret value."""


class Lookup:
    """Where template functions read values. Each returns the value, or raises TemplateError naming
    what is missing (never returns "")."""

    def secret(self, namespace: str, name: str, key: str) -> str:
        raise NotImplementedError

    def extsecret(self, name: str, key: str) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Command:
    name: str  # a function, or "" for a field or a literal
    args: tuple  # ("str", text) | ("field", (keys...))


def parse_template(text: str) -> list:
    """Text pieces (str) and actions (a list of Commands: a pipeline)."""
    parts, pos = [], 0
    for m in ACTION.finditer(text):
        before = text[pos:m.start()]
        parts.append(before.rstrip() if m.group(1) else before)
        pos = m.end()
        if m.group(3):
            text_after = text[pos:]
            pos += len(text_after) - len(text_after.lstrip())
        body = m.group(2).strip()
        if body.startswith("/*") and body.endswith("*/"):
            continue
        parts.append(_pipeline(body))
    if "{{" in text[pos:]:
        raise TemplateError("unclosed action: '{{' without '}}'")
    parts.append(text[pos:])
    return [p for p in parts if p != ""]


def _pipeline(body: str) -> list:
    if not body:
        raise TemplateError("empty action {{ }}")
    commands, current = [], []
    for m in TOKEN.finditer(body):
        if m.group("pipe"):
            commands.append(current)
            current = []
        elif m.group("str"):
            current.append(("str", _string(m.group("str"))))
        elif m.group("raw"):
            current.append(("str", m.group("raw")[1:-1]))
        elif m.group("field"):
            current.append(("field", tuple(m.group("field").split(".")[1:])))
        elif m.group("ident"):
            current.append(("ident", m.group("ident")))
        elif m.group("other"):
            raise TemplateError(f"unsupported syntax {m.group('other')!r} in {{{{ {body} }}}}")
    commands.append(current)
    pipeline = []
    for i, words in enumerate(commands):
        if not words:
            raise TemplateError(f"empty command in pipeline {{{{ {body} }}}}")
        kind, value = words[0]
        if kind == "ident":
            if value in KEYWORDS:
                raise TemplateError(f"{value!r} is not supported (only values, functions and pipelines)")
            if value not in FUNCTIONS:
                raise TemplateError(f"unknown function {value!r} (supported: {', '.join(FUNCTIONS)})")
            args = tuple(words[1:])
            if any(k == "ident" for k, _ in args):
                raise TemplateError(f"{value}: arguments must be strings or .fields, in {{{{ {body} }}}}")
            wanted = LOOKUPS.get(value, 1)
            given = len(args) + (1 if i > 0 else 0)
            if given != wanted:
                raise TemplateError(f"{value} takes {wanted} argument{'s' if wanted > 1 else ''}, got {given}")
            pipeline.append(Command(value, args))
        elif i > 0 or len(words) > 1:
            raise TemplateError(f"unsupported syntax in {{{{ {body} }}}}")
        else:
            pipeline.append(Command("", (words[0],)))
    return pipeline


def _string(literal: str) -> str:
    """A double-quoted Go string. An unknown escape (`\\q`, which Python only warns about) or one Python cannot
    read (`\\N`, a lone `\\x`) is the template's error, as in Go."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return ast.literal_eval(literal)
        except (SyntaxError, ValueError, Warning):
            raise TemplateError(f"invalid string {literal}") from None


def _b64decode(value: str) -> str:
    # binascii's and the UTF-8 decoder's messages quote bytes of the value: name the problem only.
    try:
        return base64.b64decode(value.encode()).decode()
    except ValueError:
        raise TemplateError("b64dec: the value is not base64 of UTF-8 text") from None


def render(text: str, lookup: Lookup, data: dict) -> str:
    """The template with every action replaced by its value. Raises TemplateError."""
    out = []
    for part in parse_template(text):
        out.append(part if isinstance(part, str) else _run(part, lookup, data))
    return "".join(out)


def _run(pipeline: list, lookup: Lookup, data: dict) -> str:
    value = None
    for command in pipeline:
        args = [_arg(a, data) for a in command.args] + ([value] if value is not None else [])
        if not command.name:
            value = args[0]
        elif command.name in FILTERS:
            value = FILTERS[command.name](args[0])
        else:
            value = _lookup(command.name, args, lookup)
    return value


def _arg(arg: tuple, data: dict) -> str:
    kind, value = arg
    if kind == "str":
        return value
    node = data
    for i, key in enumerate(value):
        if not isinstance(node, dict) or key not in node:
            raise TemplateError(f"no value for .{'.'.join(value[:i + 1])}")
        node = node[key]
    if isinstance(node, (dict, list)) or node is None:
        raise TemplateError(f".{'.'.join(value)} is {'empty' if node is None else 'not a single value'}")
    return str(node).lower() if isinstance(node, bool) else str(node)


def split_secret_name(name: str) -> tuple[str, str]:
    """`ns.name` -> (ns, name), split at the first dot as jx does; ("", name) without a dot."""
    namespace, dot, rest = name.partition(".")
    return (namespace, rest) if dot else ("", name)


def _lookup(name: str, args: list, lookup: Lookup) -> str:
    def read(key_name, key):
        if name.startswith(("ext", "htpasswdExt")):
            return lookup.extsecret(key_name, key)
        namespace, secret = split_secret_name(key_name)
        return lookup.secret(namespace, secret, key)

    if name in ("secret", "extsecret"):
        return read(args[0], args[1])
    user = read(args[0], args[1])
    if ":" in user:
        raise TemplateError(f"{name}: the user name in {args[0]} {args[1]} contains ':'")
    password = read(args[0], args[2])
    if name.startswith("htpasswd"):
        from .bcrypt import hash_password

        return f"{user}:{hash_password(password)}"
    return f"{user}:{password}"
