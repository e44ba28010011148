"""The hygiene guard (tests/hygiene.py) catches each kind of leak: a fake `kubectl` (the plugin's stand-in, a
real child process) puts a canary where the plugin never may, and the guard must name the test and the place."""

import sys
import textwrap
import time

import pytest
from jxsecret_tests_hygiene import Guard  # loaded by conftest.py

FAKE_KUBECTL = textwrap.dedent(f"""\
    #!{sys.executable}
    import base64, os, pathlib, subprocess, sys
    canary, how = os.environ["CANARY"], os.environ["LEAK"]
    if how == "stderr":
        print(f"Traceback: ValueError: bad value {{canary}}", file=sys.stderr)
    elif how == "stdout":
        print(f"password: {{canary}}")
    elif how == "base64":  # a Secret's data, as `-o json` would show it
        print(base64.b64encode(canary.encode()).decode())
    elif how == "argv":  # a child with the value in its argument list, as a tunnel helper might start
        subprocess.run([sys.executable, "-c", "import time; time.sleep(0.3)", canary])
    elif how == "tmp":
        pathlib.Path(os.environ["TMPDIR"], "jxsecret-kubeconfig.yaml").write_text(canary)
    elif how == "file":
        pathlib.Path(os.environ["OUT"]).write_text(canary)
    elif how == "echo-input":  # what the test wrote in a file, shown back
        print(pathlib.Path(os.environ["OUT"]).read_text(), file=sys.stderr)
""")


@pytest.fixture
def fake(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text(FAKE_KUBECTL)
    (bin_dir / "kubectl").chmod(0o755)
    guard = Guard(test="tests/hygiene_test.py::a_test", watched=tmp_path)

    def run(leak, *args, canary=None):
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CANARY": canary or guard.mint(), "LEAK": leak,
               "OUT": str(tmp_path / "out.yaml")}
        return guard.run(["kubectl", "jxsecret", *args], env)

    return guard, run


@pytest.mark.parametrize("leak, args, where", [
    ("stderr", ["verify"], "stderr"),
    ("stdout", ["export", "-f", "secrets.yaml"], "stdout"),
    ("base64", ["verify", "-o", "json"], "stdout"),
    ("argv", ["vault", "portforward"], "argument list of pid "),
    ("tmp", ["verify"], "file left in its TMPDIR: jxsecret-kubeconfig.yaml"),
    ("file", ["export", "-f", "elsewhere.yaml"], "file it wrote: "),
])
def test_the_guard_names_the_test_and_where_a_canary_leaked(fake, leak, args, where):
    guard, run = fake
    with pytest.raises(AssertionError, match="secret hygiene: tests/hygiene_test.py::a_test: canary canary-"):
        run(leak, *args)
    assert [leak.where[:len(where)] for leak in guard.leaks] == [where]
    assert guard.runs == 1


@pytest.mark.parametrize("leak, args", [
    ("stdout", ["export", "-f", "-"]),
    ("file", ["export", "--file", "OUT"]),
])
def test_an_export_the_user_asked_for_is_no_leak(fake, tmp_path, leak, args):
    guard, run = fake
    run(leak, *[str(tmp_path / "out.yaml") if a == "OUT" else a for a in args])
    assert guard.leaks == []


def test_a_canary_the_test_wrote_in_a_file_is_learned_before_the_run(fake, tmp_path):
    guard, run = fake
    (tmp_path / "out.yaml").write_text("secret:\n  app:\n    password: canary-written-by-the-test\n")
    with pytest.raises(AssertionError, match="canary canary-written-by-the-test in stderr"):
        run("echo-input", "import", "-f", str(tmp_path / "out.yaml"), canary="-")
    assert guard.files == 0  # the input was read, not written by the run


def test_the_background_watch_sees_a_plugin_the_test_started_itself(fake):
    """`subprocess.Popen(["kubectl", "jxsecret", "vault", "portforward", ...])` is not run through the guard:
    the session-long watch samples it (and its children) instead, and a leak there fails the session."""
    import os
    import subprocess

    guard, _ = fake
    canary = guard.mint()
    tunnel = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)", "kubectl-jxsecret", canary])
    try:
        for _ in range(100):  # until the interpreter has its argument list
            guard.sample_plugin_processes(os.getpid())
            if guard.leaks:
                break
            time.sleep(0.05)
    finally:
        tunnel.kill()
        tunnel.wait()
    assert [(leak.canary, leak.where) for leak in guard.leaks] == [(canary, f"argument list of pid {tunnel.pid}")]


def test_an_exception_escaping_a_test_with_a_canary_in_its_message_is_a_leak(fake):
    guard, _ = fake
    canary = guard.mint()
    try:
        try:
            raise KeyError(canary)
        except KeyError:
            raise RuntimeError("cannot write the value")  # the canary is in its context
    except RuntimeError as e:
        leaks = guard.check_exception("tests/x.py::t", e)
    assert [(leak.canary, leak.where) for leak in leaks] == [(canary, "message of RuntimeError")]
    assert guard.check_exception("tests/x.py::t", AssertionError(f"{canary} != other")) == []


def test_a_canary_applied_base64_encoded_is_learned(fake):
    guard, run = fake
    guard.learn('{"kind": "Secret", "data": {"password": "Y2FuYXJ5LWI2NC1mcm9tLXRoZS10ZXN0"}}')
    assert guard.canaries == {"canary-b64-from-the-test"}


def test_a_clean_run_is_counted(fake):
    guard, run = fake
    run("none", "verify")
    assert (guard.runs, guard.leaks, len(guard.canaries)) == (1, [], 1)
    assert len(guard.pids) >= 1 and guard.samples >= 1


class Boom:
    """A command module whose run fails with `exc`."""

    def __init__(self, exc):
        self.exc = exc

    def add_arguments(self, parser):
        pass

    def run(self, args, env):
        raise self.exc


@pytest.mark.parametrize("exc", [
    ValueError("401 Unauthorized; request headers: {'X-Vault-Token': 'TOKEN', 'Authorization': 'Bearer TOKEN'}"),
    RuntimeError("kubeconfig dump: users: [{name: u, user: {token: TOKEN}}]"),
    KeyError("VAULT_TOKEN is TOKEN"),
])
def test_debug_tracebacks_redact_tokens(monkeypatch, canary_token, exc):
    import io

    from kubectl_jxsecret import cli

    monkeypatch.setattr(cli, "command_module", lambda spec: Boom(type(exc)(exc.args[0].replace("TOKEN", canary_token))))
    err = io.StringIO()
    env = cli.Environment(stdout=io.StringIO(), stderr=err, environ={"VAULT_TOKEN": canary_token})
    assert cli.main(["kubectl-jxsecret", "version", "--debug"], env) == 1
    assert "Traceback (most recent call last)" in err.getvalue() and "<redacted>" in err.getvalue()
    assert canary_token not in err.getvalue()


@pytest.fixture
def canary_token():
    return Guard().mint()
