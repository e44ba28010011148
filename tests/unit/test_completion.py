"""kubectl's plugin completion protocol: candidates, then `:<directive>`, always exit 0."""

import argparse
import io
from pathlib import Path

import pytest
import yaml

from kubectl_jxsecret import cli, completion
from kubectl_jxsecret.commands import completion as completion_command

REPO = Path(__file__).resolve().parents[2]


def complete(*words, environ=None):
    out = io.StringIO()
    env = cli.Environment(stdout=out, stderr=io.StringIO(), environ=environ or {})
    assert cli.main(["kubectl_complete-jxsecret", *words], env) == 0
    *lines, directive = out.getvalue().splitlines()
    return lines, directive


def test_commands_with_descriptions():
    lines, directive = complete("")
    assert [line.split("\t")[0] for line in lines] == [
        "verify", "wait", "edit", "refresh", "ui", "export", "import", "populate", "rotate", "new", "convert", "replicate",
        "copy", "vault", "completion", "version"]
    assert "version\tprint the plugin version" in lines
    assert directive == ":4"


def test_nested_commands_and_their_flags():
    lines, _ = complete("vault", "")
    assert [line.split("\t")[0] for line in lines] == ["portforward", "env", "wait"]
    lines, _ = complete("vault", "portforward", "--po")
    assert [line.split("\t")[0] for line in lines] == ["--port", "--pod", "--pod-timeout"]
    lines, _ = complete("get", "-o", "w")  # an alias still leads to its command
    assert lines == ["wide"]


def test_prefix_filters_commands():
    lines, _ = complete("zzz")
    assert lines == []


@pytest.mark.parametrize("words, expected", [
    (["version", "-o", ""], ["table", "json", "yaml"]),
    (["version", "-o", "j"], ["json"]),
    (["version", "--output=y"], ["--output=yaml"]),
])
def test_option_values(words, expected):
    lines, directive = complete(*words)
    assert lines == expected
    assert directive == ":4"


def test_flags_of_the_subcommand_hide_suppressed_ones():
    lines, _ = complete("version", "--")
    names = [line.split("\t")[0] for line in lines]
    assert "--output" in names and "--help" in names
    assert "--debug" not in names  # hidden duplicate of the root flag


def test_context_values_come_from_the_kubeconfig(tmp_path):
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump({
        "clusters": [{"name": "c", "cluster": {"server": "https://x"}}],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "prod", "context": {"cluster": "c", "user": "u"}},
                     {"name": "staging", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "prod"}))
    lines, _ = complete("verify", "--context", "st", environ={"KUBECONFIG": str(path)})
    assert lines == ["staging"]
    lines, _ = complete("verify", "--context=", environ={"KUBECONFIG": str(path)})
    assert lines == ["--context=prod", "--context=staging"]


def test_internal_failure_still_exits_0_with_the_error_directive(monkeypatch):
    def explode(parser, words, environ):
        raise RuntimeError("boom")

    monkeypatch.setattr(completion, "complete", explode)
    lines, directive = complete("")
    assert (lines, directive) == ([], ":1")


@pytest.mark.parametrize("words", [("convert", ""), ("convert", "a.yaml", "sec"),
                                   ("convert", "x", "--config-root", "")])
def test_convert_paths_and_config_root_complete_as_files(words):
    assert complete(*words) == ([], ":0")


def parser_tree(parser, path=()):
    """(words to reach it, parser) for every (sub)command parser of the one parser definition."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield from parser_tree(action.choices[choice.dest], (*path, choice.dest))


TREE = list(parser_tree(cli.build_parser()))


@pytest.mark.parametrize("path, parser", TREE, ids=[" ".join(p) or "(root)" for p, _ in TREE])
def test_completion_offers_every_subcommand_and_option(path, parser):
    offered_flags = {line.split("\t")[0] for line in complete(*path, "-")[0]}
    for action in parser._actions:
        if action.option_strings and action.help != argparse.SUPPRESS:
            assert offered_flags & set(action.option_strings), f"{' '.join(path)}: {action.option_strings}"
        if isinstance(action, argparse._SubParsersAction):
            offered = [line.split("\t")[0] for line in complete(*path, "")[0]]
            assert offered == [choice.dest for choice in action._choices_actions]


def test_the_tree_has_every_command():
    assert {p[0] for p, _ in TREE if len(p) == 1} == {cmd.name for cmd in cli.COMMANDS}
    assert ("completion", "install") in [p for p, _ in TREE]


def test_completion_install_writes_the_same_wrapper_as_completions_dir():
    assert (REPO / "completions" / "kubectl_complete-jxsecret").read_text() == completion_command.WRAPPER


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_call_the_plugin_directly(shell):
    out = io.StringIO()
    assert cli.main(["kubectl-jxsecret", "completion", shell], cli.Environment(stdout=out, environ={})) == 0
    assert out.getvalue() == completion_command.SCRIPTS[shell]
    assert "kubectl-jxsecret __complete" in out.getvalue()


def test_completion_install_is_idempotent_and_says_what_it_did(tmp_path):
    def install():
        out, err = io.StringIO(), io.StringIO()
        rc = cli.main(["kubectl-jxsecret", "completion", "install", "--dir", str(tmp_path)],
                      cli.Environment(stdout=out, stderr=err, environ={}))
        return rc, out.getvalue(), err.getvalue()

    target = tmp_path / "kubectl_complete-jxsecret"
    rc, out, err = install()
    assert (rc, err) == (0, "")
    assert out.startswith(f"installed {target}: ")
    assert target.read_text() == completion_command.WRAPPER and target.stat().st_mode & 0o777 == 0o755
    assert install() == (0, f"{target} is already installed: nothing to do\n", "")


def test_completion_install_leaves_a_foreign_file_alone(tmp_path):
    target = tmp_path / "kubectl_complete-jxsecret"
    target.write_text("#!/bin/sh\necho mine\n")
    err = io.StringIO()
    rc = cli.main(["kubectl-jxsecret", "completion", "install", "--dir", str(tmp_path)],
                  cli.Environment(stdout=io.StringIO(), stderr=err, environ={}))
    assert rc == 1
    assert err.getvalue() == f"error: {target} exists and is not ours: remove it, or pass --dir DIR\n"
    assert target.read_text() == "#!/bin/sh\necho mine\n"


def test_completion_install_without_the_plugin_on_path(tmp_path):
    err = io.StringIO()
    rc = cli.main(["kubectl-jxsecret", "completion", "install"],
                  cli.Environment(stdout=io.StringIO(), stderr=err, environ={"PATH": str(tmp_path)}))
    assert rc == 1
    assert err.getvalue() == ("error: kubectl-jxsecret is not on PATH, so kubectl cannot find it either: "
                              "pass --dir DIR (a directory on PATH)\n")
