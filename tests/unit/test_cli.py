"""The command line: help text, exit codes and the one-line error contract."""

import io

import pytest

from kubectl_jxsecret import __version__, cli
from kubectl_jxsecret.errors import ConfigError, JxSecretError


def run(*args, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    env = cli.Environment(stdout=out, stderr=err, stdin=io.StringIO(stdin), environ={})
    code = cli.main(["kubectl-jxsecret", *args], env)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("args, example", [(["--help"], "kubectl jxsecret verify"),
                                           (["version", "-h"], "kubectl jxsecret version"),
                                           (["help", "version"], "kubectl jxsecret version"),
                                           (["help"], "kubectl jxsecret verify")])
def test_help_speaks_kubectl_jxsecret_and_shows_examples(args, example, capsys):
    assert run(*args)[0] == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: kubectl jxsecret")
    assert "examples:\n" in out
    assert example in out.split("examples:\n", 1)[1]


def test_no_command_prints_help_and_succeeds():
    code, out, _ = run()
    assert code == 0
    assert out.startswith("usage: kubectl jxsecret")
    assert "examples:" in out


@pytest.mark.parametrize("args, code, message", [
    (["bogus"], 2, 'unknown command "bogus" for "kubectl jxsecret"'),
    (["verfy"], 2, 'unknown command "verfy" for "kubectl jxsecret": did you mean "verify"?'),
    (["verify", "--all-namespaces=maybe"], 2, 'invalid value "maybe" for --all-namespaces: want true or false'),
    (["wait", "--timeout", "soon"], 2, 'invalid value "soon" for --timeout'),
    (["version", "-o", "xml"], 2, "invalid choice: 'xml'"),
    (["version", "--no-such-flag"], 2, "unrecognized arguments: --no-such-flag"),
])
def test_usage_errors_exit_2_with_a_hint(args, code, message):
    status, out, err = run(*args)
    assert status == code
    assert out == ""
    first, hint = err.rstrip("\n").split("\n")
    assert first.startswith("error: ") and message in first
    assert hint.startswith("see 'kubectl jxsecret") and hint.endswith("-h' for help")


@pytest.mark.parametrize("fmt, expected", [
    ("table", f"kubectl-jxsecret {__version__} "),
    ("json", f'"version": "{__version__}"'),
    ("yaml", f"version: {__version__}"),
])
def test_version_formats(fmt, expected):
    code, out, err = run("version", "-o", fmt)
    assert code == 0 and err == ""
    assert expected in out


class Boom:
    """A command module stand-in whose run() raises what we tell it."""

    def __init__(self, exc):
        self.exc = exc

    def add_arguments(self, parser):
        pass

    def run(self, args, env):
        raise self.exc


@pytest.mark.parametrize("exc, code, line", [
    (ConfigError('context "x" not found in /k: see kubectl config get-contexts'), 1,
     'error: context "x" not found in /k: see kubectl config get-contexts\n'),
    (JxSecretError("plain failure"), 1, "error: plain failure\n"),
    (KeyboardInterrupt(), 130, "\n"),
    (ValueError("bad\nsecond line"), 1, "error: unexpected ValueError: bad (run with --debug for the traceback)\n"),
])
def test_errors_map_to_exit_codes_and_one_line(monkeypatch, exc, code, line):
    monkeypatch.setattr(cli, "command_module", lambda spec: Boom(exc))
    status, out, err = run("version")
    assert (status, out, err) == (code, "", line)


def test_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setattr(cli, "command_module", lambda spec: Boom(ConfigError("boom")))
    status, out, err = run("version", "--debug")
    assert (status, out) == (1, "")
    assert err.startswith("Traceback (most recent call last):\n") and err.endswith("ConfigError: boom\nerror: boom\n")


def test_colors_only_on_a_tty_without_no_color():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert cli.Environment(stdout=Tty(), environ={}).colors
    assert not cli.Environment(stdout=Tty(), environ={"NO_COLOR": "1"}).colors
    assert cli.Environment(stdout=Tty(), environ={"NO_COLOR": ""}).colors  # no-color.org: set and not empty
    assert not cli.Environment(stdout=Tty(), environ={"TERM": "dumb"}).colors
    assert not cli.Environment(stdout=io.StringIO(), environ={}).colors


def test_vault_portforward_listens_where_jenkins_x_users_expect_vault():
    # jx-secret's tunnel and every Jenkins X guide use 127.0.0.1:8200 (tested without needing the port free).
    from kubectl_jxsecret.cli import build_parser

    assert build_parser().parse_args(["vault", "portforward"]).port == 8200
