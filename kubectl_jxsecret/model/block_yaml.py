"""A reader for the plain block YAML kubectl writes (kubeconfigs), so that reading one does not cost
PyYAML's import (~10 ms, a sixth of a small verify).

It reads a small subset and nothing else: block mappings and sequences (a sequence may sit at its key's
indentation, as kubectl writes them), one-line plain scalars, one-line single- and double-quoted scalars
(one-character escapes), `{}` and `[]`, comments and blank lines, in printable ASCII. Whatever lies outside
(anchors, tags, flow collections, block or multi-line scalars, document markers, tabs, numbers other than
decimal integers, ...) raises Unsupported, and the caller reads the text with PyYAML: correctness never
depends on this reader. What it accepts, it reads exactly as yaml.safe_load does: plain scalars are resolved
with PyYAML's YAML 1.1 rules (`true`, `yes`, `off` are booleans, `~` and `null` are None, `12` is an int),
which tests/property/test_block_yaml_properties.py checks on generated documents.
"""

import re


class Unsupported(Exception):
    """The text is not in the subset: read it with PyYAML."""


# PyYAML's implicit resolvers of plain scalars (yaml/resolver.py), as far as this reader needs them: which
# words are booleans and nulls, and which scalars could be numbers or timestamps (all left to PyYAML but
# decimal integers). Every other plain scalar is a string.
_BOOLS = {word: value for words, value in (("yes Yes YES true True TRUE on On ON", True),
                                           ("no No NO false False FALSE off Off OFF", False))
          for word in words.split()}
_NULLS = {"", "~", "null", "Null", "NULL"}
_NUMBER_START = re.compile(r"[-+]?[0-9.]")  # how every float, int and timestamp of PyYAML's patterns starts
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")  # the one number form read here: int() reads it as PyYAML does
_NUMBER_LIKE = re.compile(r"[-+0-9._:a-fA-FxinINTtZ ]*")  # only characters those resolvers' patterns have
_MERGE_OR_VALUE = {"<<", "="}  # tags SafeLoader merges or rejects

# A plain scalar cannot start with an indicator; `-` may start one when a non-space follows (`--region`).
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_KEY_END = re.compile(r":(?: |$)")
_OUTSIDE = re.compile(r"[^\n\x20-\x7e]")  # tabs, CR, control characters, anything not ASCII
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", "e": "\x1b",
            " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}
_MAX_KEY = 1000  # PyYAML refuses a key longer than 1024 characters (a "simple key")
_MAX_DEPTH = 50  # deeper documents are left to PyYAML (and its RecursionError)


def load(text: str):
    """The document in `text` as yaml.safe_load reads it, or Unsupported."""
    if _OUTSIDE.search(text):
        raise Unsupported("characters outside printable ASCII")
    lines = []  # (indentation, content without it or trailing spaces)
    for line in text.split("\n"):
        content = line.lstrip(" ")
        if not content or content.startswith("#"):
            continue
        if line.startswith(("---", "...", "%")):
            raise Unsupported("document markers or directives")
        lines.append((len(line) - len(content), content.rstrip(" ")))
    if not lines:
        return None  # an empty document, or comments only
    if lines[0][0] != 0:
        raise Unsupported("an indented document")
    reader = _Reader(lines)
    document = reader.node(0, 0)
    if reader.next < len(lines):
        raise Unsupported(f"line {reader.next + 1} of the content does not fit the document's structure")
    return document


def _sequence_entry(content: str) -> bool:
    return content == "-" or content.startswith("- ")


class _Reader:
    def __init__(self, lines):
        self.lines = lines
        self.next = 0  # index of the next line to read

    def node(self, indent: int, depth: int):
        """The block mapping or sequence whose first line is the next one, indented by `indent`."""
        if depth > _MAX_DEPTH:
            raise Unsupported("nested too deeply")
        if _sequence_entry(self.lines[self.next][1]):
            return self.sequence(indent, depth)
        return self.mapping(indent, depth)

    def mapping(self, indent: int, depth: int) -> dict:
        result = {}
        while self.next < len(self.lines):
            at, content = self.lines[self.next]
            if at < indent:
                break
            if at > indent:
                raise Unsupported("a line indented deeper than its mapping (a multi-line scalar?)")
            entry = _entry(content)
            if entry is None:
                raise Unsupported("a line that is not `key: value` in a mapping")
            self.next += 1
            key, rest = entry
            result[key] = self.value(rest, indent, depth, sequence_may_align=True)
        return result

    def sequence(self, indent: int, depth: int) -> list:
        result = []
        while self.next < len(self.lines):
            at, content = self.lines[self.next]
            if at < indent or (at == indent and not _sequence_entry(content)):
                break  # the end of the sequence (the next key of the mapping it belongs to, if any)
            if at > indent:
                raise Unsupported("a line indented deeper than its sequence (a multi-line scalar?)")
            rest = _drop_comment(content[1:].lstrip(" "))
            if rest and (_sequence_entry(rest) or _entry(rest) is not None):
                # `- key: value` or `- - item`: a mapping or sequence whose next lines line up with `rest`.
                column = indent + len(content) - len(content[1:].lstrip(" "))
                self.lines[self.next] = (column, rest)
                result.append(self.node(column, depth + 1))
                continue
            self.next += 1
            result.append(self.value(rest, indent, depth, sequence_may_align=False))
        return result

    def value(self, rest: str, indent: int, depth: int, sequence_may_align: bool):
        """The value after `key:` or `-` (`rest`: what follows on the line) of an entry indented by `indent`."""
        if rest:
            return _scalar(rest)
        if self.next < len(self.lines):
            at, content = self.lines[self.next]
            if at > indent:
                return self.node(at, depth + 1)
            if at == indent and sequence_may_align and _sequence_entry(content):
                return self.sequence(at, depth + 1)
        return None  # `key:` with nothing under it


def _entry(content: str) -> tuple[object, str] | None:
    """(key, the rest of the line) of a `key: value` line, None for a line that is not one."""
    if content[0] in "'\"":
        key, end = _quoted(content)
        after = content[end:].lstrip(" ")
        if not (after == ":" or after.startswith(": ")):
            return None
        if end > _MAX_KEY:
            raise Unsupported("a very long key")
        return key, _drop_comment(after[1:].lstrip(" "))
    colon = _KEY_END.search(content)
    if colon is None or 0 <= content.find(" #") < colon.start():
        return None
    if colon.start() > _MAX_KEY:
        raise Unsupported("a very long key")
    return _plain(content[:colon.start()].rstrip(" ")), _drop_comment(content[colon.end():].lstrip(" "))


def _drop_comment(rest: str) -> str:
    """`rest` after `key:` or `-`, already stripped on the left: "" when only a comment is left."""
    return "" if rest.startswith("#") else rest


def _scalar(text: str):
    if text[0] in "'\"":
        value, end = _quoted(text)
        after = text[end:]  # lines end without spaces: nothing, or a space and a comment
        if after and not (after.startswith(" ") and after.lstrip(" ").startswith("#")):
            raise Unsupported("text after a quoted scalar")
        return value
    for empty, value in (("{}", {}), ("[]", [])):
        if text == empty or text.startswith(empty + " #"):
            return value
    comment = text.find(" #")
    if comment >= 0:
        text = text[:comment].rstrip(" ")
    if ": " in text or text.endswith(":"):
        raise Unsupported("a mapping where a scalar belongs")
    return _plain(text)


def _plain(text: str):
    """A plain scalar, resolved as PyYAML's SafeLoader does."""
    if not text:
        raise Unsupported("an empty key")  # a value is never empty here: `key:` alone is read as a block
    first = text[0]
    if first in _INDICATORS and not (first == "-" and len(text) > 1 and text[1] != " "):
        raise Unsupported(f"a plain scalar starting with {first!r}")
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _NULLS:
        return None
    if text in _MERGE_OR_VALUE:
        raise Unsupported("a merge key or value tag")
    if _NUMBER_START.match(text) and _NUMBER_LIKE.fullmatch(text):
        if _DECIMAL.fullmatch(text):
            return int(text)
        raise Unsupported("a number (other than a decimal integer) or a timestamp")
    return text


def _quoted(text: str) -> tuple[str, int]:
    """A quoted scalar at the start of `text`, closed on the same line: (its value, the index after it)."""
    quote, parts, i = text[0], [], 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            if quote == "'" and text[i + 1:i + 2] == "'":  # '' is one quote
                parts.append("'")
                i += 2
                continue
            return "".join(parts), i + 1
        if ch == "\\" and quote == '"':
            escaped = _ESCAPES.get(text[i + 1:i + 2])
            if escaped is None:
                raise Unsupported("an escape other than one character")
            parts.append(escaped)
            i += 2
            continue
        parts.append(ch)
        i += 1
    raise Unsupported("a quoted scalar that goes on to the next line")
