"""model.block_yaml against PyYAML on generated documents: whatever the fast reader accepts, it reads exactly as
yaml.safe_load does (types too), and what PyYAML refuses it never accepts; the kubeconfigs kubectl writes it
always accepts, so the fast path is the common one."""

import re

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kubectl_jxsecret.model import block_yaml

LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])


def same(a, b) -> bool:
    """Equal, and of the same types all the way down, keys in the same order: what repr shows (True == 1 and
    {"a": 1, "b": 2} == {"b": 2, "a": 1} in Python; a kubeconfig's values are str, int, bool, None, lists, maps)."""
    return repr(a) == repr(b)


# ------------------------------------------------------------------------------------------ as kubectl writes them

# Strings as kubeconfigs hold them (names, URLs, paths, base64, flags), which kubectl writes plain unless they
# would read as something else; and any other printable text, which this layout always quotes.
REALISTIC = r"[a-zA-Z/][a-zA-Z0-9._/:=+-]{0,30}|--[a-z][a-z-]{0,15}"
LOOKALIKES = st.sampled_from(["true", "False", "yes", "off", "null", "~", "12", "-3", "0123", "1.5", "0x1f",
                              "2026-11-29", "-", "<<", "=", "", " ", "a: b", "x # y", "x:", "it's", 'say "x"',
                              "back\\slash", "#hash", "&anchor", "*alias", "!tag", "[list]", "{map}", "%", "@", "`"])
STRINGS = st.one_of(st.from_regex(REALISTIC, fullmatch=True), LOOKALIKES,
                    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=20))
SCALARS = st.one_of(STRINGS, st.booleans(), st.none(), st.integers(-10**6, 10**20))
KEYS = st.one_of(st.sampled_from(["name", "cluster", "user", "server", "exec", "args", "env", "token", "namespace",
                                  "client-key-data", "insecure-skip-tls-verify"]), STRINGS)
DOCUMENTS = st.dictionaries(KEYS, st.recursive(
    SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=15), max_size=5)
SPELLINGS = {None: ["null", "~", ""], True: ["true", "True", "yes"], False: ["false", "off"]}


def scalar(value, draw) -> str:
    """`value` as kubectl (go-yaml) writes it: realistic strings plain where that reads back the same, others
    quoted; None, booleans and integers in any of their YAML 1.1 spellings."""
    if value is None or isinstance(value, bool):
        return draw(st.sampled_from(SPELLINGS[value]))
    if isinstance(value, int):
        return str(value)
    plain = re.fullmatch(REALISTIC, value) and not value.endswith(":") and _reads_as(value) == value
    style = draw(st.sampled_from(["plain", "single", "double"] if plain else ["single", "double"]))
    if style == "plain":
        return value
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _reads_as(text):
    try:
        return yaml.safe_load(f"k: {text}\n")["k"]
    except yaml.YAMLError:
        return None


def render(value, draw, indent=0) -> list[str]:
    """Lines of `value` (a mapping or sequence) in kubectl's layout: sequences at their key's indentation."""
    pad, lines = " " * indent, []
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{pad}{scalar(key, draw)}:"
            if isinstance(item, (dict, list)) and item:
                lines.append(head)
                lines += render(item, draw, indent + (0 if isinstance(item, list) else 2))
            else:
                lines.append(f"{head} {inline(item, draw)}".rstrip())
    else:
        for item in value:
            if isinstance(item, (dict, list)) and item:
                first, *rest = render(item, draw, indent + 2)
                lines.append(f"{pad}- {first.lstrip()}")
                lines += rest
            else:
                lines.append(f"{pad}- {inline(item, draw)}".rstrip())
    return lines


def inline(value, draw) -> str:
    if value == {} and isinstance(value, dict):
        return "{}"
    if value == [] and isinstance(value, list):
        return "[]"
    return scalar(value, draw)


@st.composite
def kubectl_documents(draw):
    document = draw(DOCUMENTS)
    lines = render(document, draw)
    # Comments and blank lines anywhere, as people leave them.
    for _ in range(draw(st.integers(0, 3))):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", "# a comment", "    # indented"])))
    return "\n".join(lines) + "\n"


@given(text=kubectl_documents())
@example(text="users:\n- name: u\n  user:\n    exec:\n      args:\n      - --region\n      env: null\n")
def test_what_kubectl_writes_is_read_fast_and_as_pyyaml_reads_it(cases, text):
    cases["block yaml, kubectl layout"] += 1
    fast = block_yaml.load(text)  # never Unsupported: the kubeconfigs people have take the fast path
    for loader in LOADERS:
        assert same(fast, yaml.load(text, Loader=loader)), (loader, text)


# ------------------------------------------------------------------------------------------ anything else

INDENTS = st.sampled_from(["", "", "  ", "    ", " ", "   ", "      "])
TRICKY = st.sampled_from(["yes", "No", "ON", "~", "null", "NULL", "nul", "0", "00", "012", "0x1F", "0b1", "1_000",
                          "1.5", ".5", "-1", "+1", "1e3", "1:30", "190:20:30", "2001-12-14",
                          "2001-12-14 21:59:43.10 -5",
                          ".inf", "-.Inf", ".NaN", "<<", "=", "-", "--region", "-v", "a:b", "a #b", "a#b", "x:",
                          "http://x:80/#f", "'q'", "'it''s'", "'a' b", "'open", '"d\\n"', '"\\x41"', '"\\u00e9"',
                          '"\\q"', '"end\\"', "{}", "[]", "{} # c", "{a: 1}", "[1, 2]", "x # c", "tRue", "y", "n",
                          "&a x", "*a", "!!str x", "!x y", "|", ">-", "? x", "%x", "@x", "`x", "a: b", "café", "\t",
                          "a\tb", "\u2028", "\ufeff", "\\", "- x", "-x", "--", "- - x", "#", " ", ""])
ATOMS = st.one_of(TRICKY, st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=8))
LINES = st.one_of(
    st.tuples(INDENTS, ATOMS, ATOMS).map(lambda t: f"{t[0]}{t[1]}: {t[2]}"),
    st.tuples(INDENTS, ATOMS).map(lambda t: f"{t[0]}{t[1]}:"),
    st.tuples(INDENTS, ATOMS).map(lambda t: f"{t[0]}- {t[1]}"),
    st.tuples(INDENTS, ATOMS, ATOMS).map(lambda t: f"{t[0]}- {t[1]}: {t[2]}"),
    st.tuples(INDENTS, ATOMS).map(lambda t: f"{t[0]}{t[1]}"),
    st.sampled_from(["-", "---", "...", "# c", "", "  ", "a:", "  b: 1", "- c"]),
)
DOCUMENTS_OF_LINES = st.lists(LINES, min_size=1, max_size=8).map(lambda lines: "\n".join(lines) + "\n")


@settings(max_examples=600)
@given(text=st.one_of(DOCUMENTS_OF_LINES, kubectl_documents().map(lambda t: t.replace("\n", "\n ", 1)),
                      DOCUMENTS.map(lambda d: yaml.safe_dump(d, default_flow_style=False))))
@example(text="a: b\n  c: d\n")
@example(text="- x\n  y\n")
@example(text="a: 'x'#c\n")
@example(text="k" * 1030 + ": v\n")
def test_whatever_is_read_fast_is_read_as_pyyaml_reads_it(cases, text):
    cases["block yaml, generated lines"] += 1
    try:
        fast = block_yaml.load(text)
    except block_yaml.Unsupported:
        return  # PyYAML reads it instead
    for loader in LOADERS:
        try:
            expected = yaml.load(text, Loader=loader)
        except yaml.YAMLError as e:
            raise AssertionError(f"the fast reader accepted what {loader.__name__} refuses: {e}\n{text}") from None
        assert same(fast, expected), (loader, text)
