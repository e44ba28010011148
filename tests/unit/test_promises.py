"""The help text, the README and the krew manifest promise only what exists: every `kubectl jxsecret ...`
command line they show is accepted by the one parser definition (command, subcommand, every flag and
choice). tests/integration/test_krew.py runs the manifest's own commands through a krew-installed copy."""

import re
import shlex
from pathlib import Path

import pytest
import yaml

from kubectl_jxsecret import cli

REPO = Path(__file__).resolve().parents[2]
# Code only: at the start of a line (as in code blocks and help examples, maybe after `$ ` or `eval "$(`), or
# in an inline code span; prose that mentions a command is not a promise of its exact words.
COMMAND = re.compile(r"(?:^[ \t]*(?:\$ |eval \"\$\()?|`)kubectl[ -]jxsecret((?: [^\s`|&;)#\"']+| '[^']*')*)", re.M)


def command_lines(text):
    """The argument lists of every `kubectl jxsecret ...` (or kubectl-jxsecret) shown in text, up to a pipe,
    `&&`, `)`, a quote or a comment; prose placeholders (…, <TAB>, [COMMAND]) are not commands."""
    out = []
    for match in COMMAND.finditer(text):
        args = shlex.split(match.group(1))
        if any(a in ("…", "...", "<TAB>") or a.startswith(("[", "<")) for a in args):
            continue
        out.append(args)
    return out


def help_texts():
    parser = cli.build_parser()
    yield "root", parser.format_help()
    for path, sub in walk(parser, ()):
        yield " ".join(path), sub.format_help()


def walk(parser, path):
    for action in parser._actions:
        if hasattr(action, "_choices_actions"):
            for choice in action._choices_actions:
                child = action.choices[choice.dest]
                yield (*path, choice.dest), child
                yield from walk(child, (*path, choice.dest))


def readme_blocks():
    return (REPO / "README.md").read_text()


MANIFEST = (REPO / "krew-manifest.yaml").read_text()
SOURCES = [("README.md", readme_blocks()), ("krew-manifest.yaml", MANIFEST),
           *[(f"help of {name}", text) for name, text in help_texts()]]
CASES = [(source, args) for source, text in SOURCES for args in command_lines(text)]


def test_every_source_names_commands():
    sources = {source for source, _ in CASES}
    assert "README.md" in sources and "krew-manifest.yaml" in sources and "help of root" in sources
    assert len(CASES) > 100


@pytest.mark.parametrize("source, args", CASES, ids=[f"{s}: {' '.join(a)}" for s, a in CASES])
def test_every_command_shown_exists(source, args):
    if args in ([], ["help"]) or args[0] == "help":
        return  # the root help and `help [COMMAND]`
    word = cli.first_word(args)
    assert cli.command_named(word) is not None, f"{source}: no command {word!r}"
    parser = cli.build_parser(only=word)
    try:
        parser.parse_args(cli.kubectl_booleans(parser, args))
    except SystemExit as e:  # -h
        assert e.code == 0
    except cli.UsageError as e:
        pytest.fail(f"{source}: kubectl jxsecret {' '.join(args)}: {e}")


def test_the_manifest_names_the_completion_install_and_the_vault_tunnel():
    spec = yaml.safe_load(MANIFEST)["spec"]
    assert ["completion", "install"] in command_lines(spec["caveats"])
    assert ["vault", "portforward"] in command_lines(spec["caveats"])


def flags_of(parser) -> set:
    found = {o for a in parser._actions for o in a.option_strings}
    for _, sub in walk(parser, ()):
        found |= {o for a in sub._actions for o in a.option_strings}
    return found


ALL_FLAGS = flags_of(cli.build_parser())
FLAG = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)(\*?)")  # `--vault-*` names a family


def flags_named(text, code_spans_only):
    """(command or None, flag) for every flag named outside a full command line: in a code span on its own
    (`--pod-timeout`, `-n/--namespace`) or after a command word (`convert --populate`); in help, anywhere."""
    if not code_spans_only:
        yield from ((None, m.group(1) + m.group(2)) for m in FLAG.finditer(text))
        return
    for span in re.findall(r"`([^`\n]+)`", text):
        words = span.split()
        command = words[0] if len(words) > 1 and cli.command_named(words[0]) else None
        for word in (words[1:2] if command else words[:1]):
            for part in word.split("/"):
                m = FLAG.fullmatch(part.split("=")[0])
                if m:
                    yield command, m.group(1) + m.group(2)


def exists(command, flag) -> bool:
    known = flags_of(cli.build_parser(only=command)) if command else ALL_FLAGS
    return any(k.startswith(flag[:-1]) for k in known) if flag.endswith("*") else flag in known


FLAG_CASES = sorted({(source, command, flag) for source, text in SOURCES
                     for command, flag in flags_named(text, code_spans_only=not source.startswith("help"))},
                    key=str)


def test_flags_are_found_where_they_are_named():
    assert len({(s, f) for s, _, f in FLAG_CASES if s == "README.md"}) > 50
    assert ("README.md", None, "--pod-timeout") in FLAG_CASES
    assert ("README.md", "convert", "--populate") in FLAG_CASES


@pytest.mark.parametrize("source, command, flag", FLAG_CASES, ids=[f"{s}: {c or ''} {f}" for s, c, f in FLAG_CASES])
def test_every_flag_named_exists(source, command, flag):
    assert exists(command, flag), f"{source} names {flag}{f' of {command}' if command else ''}, which no parser has"


def test_every_make_target_named_exists():
    targets = set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), re.M))
    named = set(re.findall(r"`make ([\w-]+)", readme_blocks() + (REPO / "docs" / "testbed.md").read_text()))
    assert named and named <= targets, f"no such make target: {sorted(named - targets)}"
