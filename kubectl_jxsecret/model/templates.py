"""The part of Go's text/template that Jenkins X secret schemas are written in, for `populate`.

    {{ extsecret "nexus" "password" }}                      a value from the store, through ExternalSecret nexus
    {{ secret "jx-git-operator.jx-boot" "username" }}       a Secret's key (`ns.name`: split at the first dot)
    {{ auth "name" "userKey" "passwordKey" }}               user:password from a Secret (extauth: from the store)
    {{ htpasswdExtSecret "name" "userKey" "passwordKey" }}  user:<bcrypt hash> (htpasswdSecret: from a Secret)
    {{ .Requirements.cluster.registry }}                    jx-requirements.yml, `spec` (or the whole file)
    {{ secret "x" "url" | default "https://..." | quote }}  pipelines; parentheses; `{{-` / `-}}`; comments
    {{ if and (hasKey .Requirements "repository") (eq .Requirements.repository "none") }}…{{ else if … }}…
        {{ else }}…{{ end }}                                also `with`, and `range $k, $v := …` with variables

The functions are model.template_functions' (Go's and, or, not, eq, ne, lt, le, gt, ge; sprig's default,
empty, hasKey, contains, fromJson, b64enc, b64dec, quote, squote, trim, lower, upper; jx's lookups).
Anything else (define, template, block, break, continue, other functions) is a TemplateError when the
template is parsed, naming it; a missing input where its value is needed is a MissingInput (a
TemplateError) when it is rendered: never a silent blank. Pure: lookups go through the `Lookup` given.
"""

import ast
import re
import warnings
from typing import NamedTuple

from . import template_functions as fn
from .template_functions import FUNCTIONS, Lookup, Missing, MissingInput, TemplateError  # noqa: F401 (the API)

KEYWORDS = ("if", "else", "end", "range", "with", "define", "template", "block", "break", "continue")
SPACE = " \t\r\n"
TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<raw>`[^`]*`)|(?P<var>\$\w*(?:\.[A-Za-z_]\w*)*)'
                   r'|(?P<field>(?:\.[A-Za-z_]\w*)+|\.(?![\w.]))|(?P<declare>:=)|(?P<comma>,)'
                   r'|(?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.]))|(?P<ident>[A-Za-z_]\w*)'
                   r'|(?P<pipe>\|)|(?P<open>\()|(?P<close>\))|(?P<other>\S+))')
LITERALS = {"true": True, "false": False, "nil": None}
ACTION_END = re.compile(r'}}|"|`|/\*')  # the end, or what may hide a `}}`: a string or a comment
SKIPPED = {'"': re.compile(r'"(?:[^"\\\n]|\\.)*"'), "`": re.compile(r"`[^`]*`"), "/*": re.compile(r"/\*.*?\*/", re.S)}


# ------------------------------------------------------------------------------------------ the parse tree

class Pipeline(NamedTuple):
    variables: tuple  # names declared by `$x :=` (two in `range $k, $v :=`)
    commands: tuple  # each a tuple of operands; the value of one is the last argument of the next
    source: str  # the action's text, for messages


class Branches(NamedTuple):
    keyword: str  # if | with | range
    arms: tuple  # ((Pipeline, nodes), ...): `if`, then each `else if`
    otherwise: tuple  # the nodes of `else`


# Operands: ("value", v) a literal; ("field", "$name" or ".", keys); ("call", name); ("group", Pipeline).

def parse_template(text: str) -> list:
    """Text pieces (str), Pipelines (actions that print) and Branches. Raises TemplateError."""
    try:
        return _Parser(_pieces(text)).nodes(())[0]
    except RecursionError:
        raise TemplateError("nested too deeply") from None


def _pieces(text: str) -> list:
    """("text", str) and ("action", body) in order, trim markers applied, comments left out."""
    pieces, pos, trim_next = [], 0, False
    while True:
        start = text.find("{{", pos)
        before = text[pos:] if start < 0 else text[pos:start]
        pieces.append(("text", before.lstrip(SPACE) if trim_next else before))
        if start < 0:
            return [p for p in pieces if p != ("text", "")]
        i = start + 2
        if text.startswith("-", i) and text[i + 1:i + 2] and text[i + 1] in SPACE:
            pieces[-1] = ("text", pieces[-1][1].rstrip(SPACE))
            i += 2
        end = _action_end(text, i)
        trim_next = end > i and text[end - 1] == "-" and text[end - 2:end - 1] in tuple(SPACE)
        body = text[i:end - 1 if trim_next else end].strip(SPACE)
        pos = end + 2
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise TemplateError("comment ends before closing delimiter")
            continue
        pieces.append(("action", body))


def _action_end(text: str, i: int) -> int:
    """Where the `}}` that closes the action starting at `i` is; quoted `}}` do not count."""
    while True:
        m = ACTION_END.search(text, i)
        if m is None:
            raise TemplateError("unclosed action: '{{' without '}}'")
        if m.group() == "}}":
            return m.start()
        quoted = SKIPPED[m.group()].match(text, m.start())
        if quoted is None:
            raise TemplateError("unclosed action: '{{' without '}}'" if m.group() != '"' else "unterminated string")
        i = quoted.end()


class _Parser:
    def __init__(self, pieces: list):
        self.pieces, self.at = pieces, 0
        self.scopes = [{"$"}]

    def nodes(self, stops: tuple) -> tuple[list, tuple | None]:
        """Nodes up to an action whose keyword is in `stops` (returned with its other tokens) or the end."""
        found = []
        while self.at < len(self.pieces):
            kind, body = self.pieces[self.at]
            self.at += 1
            if kind == "text":
                found.append(body)
                continue
            words = _tokens(body)
            keyword = words[0][1] if words and words[0][0] == "ident" and words[0][1] in KEYWORDS else ""
            if keyword in ("else", "end"):
                if keyword not in stops:
                    raise TemplateError(f"unexpected {{{{ {keyword} }}}}")
                return found, (keyword, words[1:])
            if keyword in ("if", "with", "range"):
                found.append(self.branches(keyword, words[1:], body))
            elif keyword:
                raise TemplateError(f"{keyword!r} is not supported (supported: if, else, with, range, end)")
            else:
                found.append(self.pipeline(words, body))
        if stops:
            raise TemplateError(f"{{{{ {stops[-1]} }}}} missing: a block is not closed")
        return found, None

    def branches(self, keyword: str, words: list, body: str) -> Branches:
        arms, otherwise = [], ()
        while True:
            self.scopes.append(set())
            condition = self.pipeline(words, body, two=keyword == "range")
            inner, (stop, rest) = self.nodes(("else", "end"))
            arms.append((condition, tuple(inner)))
            self.scopes.pop()
            if stop == "end":
                break
            if rest and rest[0] == ("ident", keyword) and keyword != "range":  # `else if`, `else with`
                words = rest[1:]
                continue
            if rest:
                raise TemplateError(f"unexpected {_shown(rest)} after else")
            self.scopes.append(set())
            inner, _ = self.nodes(("end",))
            self.scopes.pop()
            otherwise = tuple(inner)
            break
        return Branches(keyword, tuple(arms), otherwise)

    def pipeline(self, words: list, body: str, two: bool = False) -> Pipeline:
        declared, used = _declaration(words, two)
        words = words[used:]
        if not words:
            raise TemplateError(f"nothing to declare in {{{{ {body} }}}}" if declared else
                                "empty action {{ }}" if not body else f"empty action {{{{ {body} }}}}")
        commands, current, depth, group = [], [], 0, []
        for word in words + [("pipe", "|")]:
            kind, value = word
            if depth:  # inside ( ... ): collected, parsed as a pipeline of its own
                depth += {"open": 1, "close": -1}.get(kind, 0)
                if depth:
                    group.append(word)
                else:
                    current.append(("group", self.pipeline(group, body)))
                continue
            if kind == "open":
                depth, group = 1, []
            elif kind == "close":
                raise TemplateError(f"unexpected ) in {{{{ {body} }}}}")
            elif kind == "pipe":
                if not current:
                    raise TemplateError(f"empty command in pipeline {{{{ {body} }}}}")
                commands.append(self.command(current, body, piped=bool(commands)))
                current = []
            else:
                current.append(self.operand(word, body, first=not current))
        if depth:
            raise TemplateError(f"unclosed ( in {{{{ {body} }}}}")
        self.scopes[-1].update(declared)
        return Pipeline(tuple(declared), tuple(commands), body)

    def command(self, operands: list, body: str, piped: bool) -> tuple:
        head = operands[0]
        if head[0] != "call":
            if len(operands) > 1 or piped:
                raise TemplateError(f"unsupported syntax in {{{{ {body} }}}}")
            return tuple(operands)
        fewest, most = fn.arity(head[1])
        given = len(operands) - 1 + piped
        if given < fewest or (most is not None and given > most):
            wanted = str(fewest) if fewest == most else f"{fewest} to {most}" if most else f"at least {fewest}"
            raise TemplateError(f"{head[1]} takes {wanted} argument{'s' if wanted != '1' else ''}, got {given}")
        return tuple(operands)

    def operand(self, word: tuple, body: str, first: bool) -> tuple:
        kind, value = word
        if kind == "ident":
            if value in LITERALS:
                return ("value", LITERALS[value])
            if value in KEYWORDS:
                raise TemplateError(f"{value!r} is not supported here, in {{{{ {body} }}}}")
            if value not in FUNCTIONS:
                raise TemplateError(f"unknown function {value!r} (supported: {', '.join(FUNCTIONS)})")
            if not first:
                raise TemplateError(f"{value}: a function as an argument needs parentheses, in {{{{ {body} }}}}")
            return ("call", value)
        if kind in ("str", "raw"):
            return ("value", _string(value) if kind == "str" else value[1:-1])
        if kind == "number":
            return ("value", float(value) if any(c in value for c in ".eE") else int(value))
        if kind == "field":
            return ("field", ".", tuple(k for k in value.split(".") if k))
        if kind == "var":
            name, *keys = value.split(".")
            if not any(name in scope for scope in self.scopes):
                raise TemplateError(f"undefined variable {name} in {{{{ {body} }}}}")
            return ("field", name, tuple(keys))
        raise TemplateError(f"unsupported syntax {value!r} in {{{{ {body} }}}}")


def _tokens(body: str) -> list:
    return [(m.lastgroup, m.group(m.lastgroup)) for m in TOKEN.finditer(body) if m.lastgroup]


def _declaration(words: list, two: bool) -> tuple[list, int]:
    """The variables `$x :=` (or `$k, $v :=` in range) at the start of `words`: (names, how many words)."""
    shape = [k for k, _ in words[:4]]
    if two and shape == ["var", "comma", "var", "declare"]:
        return [words[0][1], words[2][1]], 4
    if shape[:2] == ["var", "declare"]:
        return [words[0][1]], 2
    return [], 0


def _shown(words: list) -> str:
    return " ".join(v for _, v in words)


def _string(literal: str) -> str:
    """A double-quoted Go string. An unknown escape (`\\q`, which Python only warns about) or one Python cannot
    read (`\\N`, a lone `\\x`) is the template's error, as in Go."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return ast.literal_eval(literal)
        except (SyntaxError, ValueError, Warning):
            raise TemplateError(f"invalid string {literal}") from None


# ------------------------------------------------------------------------------------------ rendering

def render(text: str, lookup: Lookup, data: dict) -> str:
    """The template with every action replaced by its value. Raises TemplateError."""
    out: list[str] = []
    try:
        _Run(lookup, data).nodes(parse_template(text), [{"$": data}], out)
    except RecursionError:
        raise TemplateError("nested too deeply") from None
    return "".join(out)


class _Run:
    def __init__(self, lookup: Lookup, data: dict):
        self.lookup, self.data = lookup, data

    def nodes(self, nodes, scopes: list, out: list) -> None:
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, Pipeline):
                value = self.pipeline(node, scopes)
                if not node.variables:
                    out.append(fn.text(value, _named(node)))
            elif node.keyword == "range":
                self.range(node, scopes, out)
            else:
                self.branches(node, scopes, out)

    def branches(self, node: Branches, scopes: list, out: list) -> None:
        for condition, inner in node.arms:
            scope = {}
            value = self.pipeline(condition, scopes + [scope])
            if fn.truth(value):
                if node.keyword == "with":
                    scope["."] = value
                self.nodes(inner, scopes + [scope], out)
                return
        self.nodes(node.otherwise, scopes + [{}], out)

    def range(self, node: Branches, scopes: list, out: list) -> None:
        [(pipeline, inner)] = node.arms
        scope: dict = {}
        items = self.pipeline(pipeline, scopes + [scope], declare=False)
        if isinstance(items, dict):
            pairs = [(k, items[k]) for k in sorted(items, key=str)]  # Go ranges over a map in key order
        elif isinstance(items, list):
            pairs = list(enumerate(items))
        elif isinstance(items, Missing) or items is None:
            pairs = []
        else:
            raise TemplateError(f"range: cannot iterate over {fn.a_or_an(fn.kind_of(items))}, in "
                                f"{{{{ {pipeline.source} }}}}")
        for key, item in pairs:
            names = pipeline.variables
            scope = {".": item, **({names[0]: key, names[1]: item} if len(names) == 2 else
                                   {names[0]: item} if names else {})}
            self.nodes(inner, scopes + [scope], out)
        if not pairs:
            self.nodes(node.otherwise, scopes + [{}], out)

    def pipeline(self, pipeline: Pipeline, scopes: list, declare: bool = True):
        value, piped = None, False
        for command in pipeline.commands:
            value = self.command(command, scopes, [value] if piped else [])
            piped = True
        if declare and pipeline.variables:
            scopes[-1][pipeline.variables[0]] = value
        return value

    def command(self, operands: tuple, scopes: list, piped: list):
        kind = operands[0][0]
        if kind != "call":
            return self.operand(operands[0], scopes)
        name, args = operands[0][1], operands[1:]
        if name in ("and", "or"):  # Go: evaluated left to right, stopping at the one that decides
            value = None
            for arg in list(args) + [("piped",)] * len(piped):
                value = piped[0] if arg == ("piped",) else self.operand(arg, scopes)
                if fn.truth(value) != (name == "and"):
                    break
            return value
        return fn.call(name, [self.operand(a, scopes) for a in args] + piped, self.lookup)

    def operand(self, operand: tuple, scopes: list):
        kind = operand[0]
        if kind == "value":
            return operand[1]
        if kind == "group":
            return self.pipeline(operand[1], scopes)
        _, root, keys = operand
        node = next((s[root] for s in reversed(scopes) if root in s), self.data if root == "." else None)
        for i, key in enumerate(keys):
            if isinstance(node, Missing):
                return node
            if not isinstance(node, dict):
                raise TemplateError(f"{_path(root, keys[:i]) or '.'} is {'empty' if node is None else 'not a map'}: "
                                    f"no field {key}")
            node = node.get(key, Missing(f"no value for {_path(root, keys[:i + 1])}"))
        return node


def _path(root: str, keys: tuple) -> str:
    return (root if root != "." else "") + "".join("." + k for k in keys)


def _named(pipeline: Pipeline) -> str:
    """How a printed value is named in a message: its field, or the action."""
    last = pipeline.commands[-1]
    if len(last) == 1 and last[0][0] == "field":
        return _path(last[0][1], last[0][2]) or "."
    return f"{{{{ {pipeline.source} }}}}"
