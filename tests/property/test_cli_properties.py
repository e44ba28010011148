"""The command line on generated arguments and files, in-process (no cluster): each run ends in success or in
one `error:` line with a documented exit code, never a traceback, and a rejected run writes nothing."""

import argparse

import yaml

from hypothesis import given
from hypothesis import strategies as st

from kubectl_jxsecret import cli

WORDS = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
LIKELY = st.sampled_from(["5s", "0", "-1", "1h30m", "jx", "-", "ClusterSecretStore/vault", "SecretStore/x", "a=b",
                          "true", "false", "table", "json", "yaml", "wide", ".", "/", "app=web", "8200", "99999"])
VALUES = st.one_of(WORDS, LIKELY)


def _flags_of(parser: argparse.ArgumentParser) -> list:
    """(option, takes a value, choices) of a parser's own flags; --debug (a traceback by design) left out."""
    return [(action.option_strings[-1], action.nargs != 0, action.choices) for action in parser._actions
            if action.option_strings and "--debug" not in action.option_strings]


def _subparsers(parser) -> dict:
    return next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {})


TREE = cli.build_parser()
COMMANDS = {name: p for name, p in _subparsers(TREE).items()}


@st.composite
def argv(draw):
    name = draw(st.one_of(st.sampled_from(sorted(COMMANDS)), WORDS))
    words = [name]
    parser = COMMANDS.get(name)
    nested = _subparsers(parser) if parser else {}
    if nested:
        sub = draw(st.one_of(st.sampled_from(sorted(nested)), WORDS))
        words.append(sub)
        parser = nested.get(sub, parser)
    flags = _flags_of(parser) if parser else []
    for _ in range(draw(st.integers(0, 5))):
        if flags and draw(st.booleans()):
            option, takes_value, choices = draw(st.sampled_from(flags))
            if takes_value:
                value = draw(st.one_of(st.sampled_from(list(choices)), VALUES) if choices else VALUES)
                words += draw(st.sampled_from([[option, value], [f"{option}={value}"]]))
            else:
                words += [draw(st.sampled_from([option, f"{option}=true", f"{option}=false", f"{option}=maybe"]))]
        else:
            words.append(draw(VALUES))
    return words


@given(args=argv())
def test_any_command_line_ends_in_success_or_one_error_line(sandbox, cases, args):
    cases["command line"] += 1
    sandbox.run(args).check()


DURATIONS = st.one_of(
    WORDS,
    st.lists(st.tuples(st.one_of(st.integers(0, 10**6).map(str),
                                 st.from_regex(r"\d{1,400}(\.\d{0,3})?", fullmatch=True)),
                       st.sampled_from(["", "h", "m", "s", "ms", "us", "d", " "])), min_size=1, max_size=4)
    .map(lambda parts: "".join(n + u for n, u in parts)),
)


@given(duration=DURATIONS)
def test_durations_on_the_command_line(sandbox, cases, duration):
    cases["durations (command line)"] += 1
    sandbox.run(["new", "app", "--store", "ClusterSecretStore/vault", "--data", "k", "--validate", "local",
                 "--refresh-interval", duration]).check()


YAML_TEXT = st.one_of(
    WORDS,
    st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), WORDS),
                 lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(WORDS, inner, max_size=3)),
                 max_leaves=10).map(lambda data: yaml.safe_dump(data, allow_unicode=True)),
    st.sampled_from(["a: &x {b: *x}\n", "? []\n", "[" * 5000, "secret:\n  app:\n    password: s3cr3t\n"]),
)


@given(text=YAML_TEXT)
def test_import_files_on_the_command_line(sandbox, cases, text):
    """Read from stdin, checked whole before the cluster is asked: a file that passes meets the missing
    kubeconfig instead."""
    cases["import file (command line)"] += 1
    outcome = sandbox.run(["import", "-f", "-"], stdin=text)
    outcome.check()


@given(text=YAML_TEXT.map(lambda body: f"apiVersion: secret.jenkins-x.io/v1alpha1\nkind: Schema\n{body}"))
def test_schema_files_on_the_command_line(sandbox, cases, text):
    cases["schema file (command line)"] += 1
    sandbox.run(["new", "app", "--store", "ClusterSecretStore/vault", "--validate", "local", "--schema", "s.yaml"],
                files={"s.yaml": text}).check()
