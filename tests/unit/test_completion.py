"""kubectl's plugin completion protocol: candidates, then `:<directive>`, always exit 0."""

import io

import pytest
import yaml

from kubectl_jxsecret import cli, completion


def complete(*words, environ=None):
    out = io.StringIO()
    env = cli.Environment(stdout=out, stderr=io.StringIO(), environ=environ or {})
    assert cli.main(["kubectl_complete-jxsecret", *words], env) == 0
    *lines, directive = out.getvalue().splitlines()
    return lines, directive


def test_commands_with_descriptions():
    lines, directive = complete("")
    assert [line.split("\t")[0] for line in lines] == [
        "verify", "wait", "edit", "refresh", "export", "import", "populate", "rotate", "new", "convert", "replicate",
        "copy", "vault", "version"]
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
