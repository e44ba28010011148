"""Shared fixtures. Integration tests run against the real testbed (hack/testbed): it comes up
once per test session (reused if already running) and is never mocked or skipped: if it cannot
start, the tests that need it fail with the step and the log that broke.

The testbed runs the real External Secrets Operator. Only where a developer asked for the stand-in
(JXSECRET_TESTBED_ESO=standin) are the tests marked `real_eso` skipped; in CI that choice fails every
integration test instead."""

import importlib.util
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# Variables from the developer's shell that would point our tools elsewhere (or hide missing flushes).
STRAY = ("KUBECONFIG", "VAULT_", "BAO_", "KUBECTL_", "NO_COLOR", "PYTHONUNBUFFERED")
TESTBED = [sys.executable, str(REPO / "hack" / "testbed")]
STANDIN_ASKED = os.environ.get("JXSECRET_TESTBED_ESO") == "standin"


def _beside(name):
    """A helper module next to this file (--import-mode=importlib puts no test directory on sys.path)."""
    spec = importlib.util.spec_from_file_location(f"jxsecret_tests_{name}", Path(__file__).with_name(f"{name}.py"))
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hygiene = _beside("hygiene")


def pytest_configure(config):
    config.pluginmanager.register(hygiene, "jxsecret-hygiene")


def pytest_report_header(config):
    running = subprocess.run([*TESTBED, "status"], capture_output=True, text=True)
    if running.returncode == 0:
        return f"testbed: {running.stdout.splitlines()[-1]}"
    return f"testbed: not up yet; ESO: {'the stand-in' if STANDIN_ASKED else 'the real controller'} once it is"


def pytest_collection_modifyitems(config, items):
    if STANDIN_ASKED and not os.environ.get("CI"):
        skip = pytest.mark.skip(reason="behaviour of the real ESO controller; JXSECRET_TESTBED_ESO=standin asked for "
                                       "the stand-in")
        for item in items:
            if "real_eso" in item.keywords:
                item.add_marker(skip)


@dataclass
class Testbed:
    exports: dict

    @property
    def kubeconfig(self):
        return self.exports["KUBECONFIG"]

    @property
    def limited_kubeconfig(self):
        return self.exports["JXSECRET_TESTBED_LIMITED_KUBECONFIG"]

    @property
    def eso(self):
        """"real" (the External Secrets Operator controller) or "standin" (hack/eso_standin.py)."""
        return self.exports["JXSECRET_TESTBED_ESO"]

    @property
    def vault_addr(self):
        return self.exports["VAULT_ADDR"]

    @property
    def audit_log(self):
        return self.exports["JXSECRET_TESTBED_AUDIT_LOG"]

    def env(self, **extra):
        """A clean process environment: the testbed's exports, our venv first on PATH."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(STRAY)}
        env.update(self.exports)
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra)
        return env

    def run(self, *cmd, check=True, input=None, **extra_env):
        """Run a command (kubectl, kubectl jxsecret, bao, ...) against the testbed. The hygiene guard learns the
        canaries in what a test passes to its own commands, and checks every `kubectl jxsecret` run."""
        result = hygiene.GUARD.run(cmd, self.env(**extra_env), input=input, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, cmd))} exited {result.returncode}:\n{result.stderr}")
        return result

    def kubectl(self, *args, **kw):
        return self.run("kubectl", *args, **kw)

    def apply(self, *objects):
        """kubectl apply of plain dicts."""
        self.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))

    def get(self, *args):
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def jxsecret(self, *args, check=False, kubeconfig=None, **extra_env):
        """`kubectl jxsecret ...` through real kubectl plugin dispatch."""
        env = {"KUBECONFIG": kubeconfig} if kubeconfig else {}
        return self.run("kubectl", "jxsecret", *args, check=check, **env, **extra_env)

    def ready(self, namespace, name, resource="externalsecrets.external-secrets.io"):
        """The Ready condition's status once the operator has written one, else None."""
        status = self.get(resource, name, "-n", namespace).get("status") or {}
        if "status" in status:  # legacy KES
            return "True" if status["status"] == "SUCCESS" else "False"
        ready = [c for c in status.get("conditions") or [] if c["type"] == "Ready"]
        return ready[0]["status"] if ready else None

    @staticmethod
    def wait_until(check, timeout=30, interval=0.2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"condition not met within {timeout}s")

    def audit_mark(self):
        """A position in the API audit log; `requests_since` counts what came after it."""
        return os.path.getsize(self.audit_log)

    def requests_since(self, mark, user_agent_prefix="kubectl-jxsecret/"):
        with open(self.audit_log, "rb") as f:
            f.seek(mark)
            events = [json.loads(line) for line in f if line.strip()]
        return [(e["verb"], e["requestURI"]) for e in events
                if e.get("userAgent", "").startswith(user_agent_prefix) and e.get("stage") == "ResponseComplete"]

    def vault(self):
        """An hvac client on the testbed's OpenBao; the hygiene guard learns the canaries it writes."""
        import hvac
        import requests

        class Session(requests.Session):
            def request(self, method, url, **kwargs):
                hygiene.GUARD.learn_payload(kwargs.get("json"))
                return super().request(method, url, **kwargs)

        return hvac.Client(url=self.vault_addr, token=self.exports["VAULT_TOKEN"], session=Session())

    def seed_canaries(self):
        """A canary in OpenBao and one in a Secret for the whole session: a command that ever prints what it
        should not (a dump of a store path or of Secrets) shows one of them."""
        self.kubectl("create", "namespace", "hygiene-canaries", check=False)
        self.apply({"apiVersion": "v1", "kind": "Secret", "stringData": {"password": hygiene.GUARD.mint()},
                    "metadata": {"name": "canary", "namespace": "hygiene-canaries"}})
        self.vault().secrets.kv.v2.create_or_update_secret("hygiene/canary", secret={"password": hygiene.GUARD.mint()},
                                                           mount_point="secret")


@pytest.fixture(scope="session")
def testbed(tmp_path_factory):
    result = subprocess.run([*TESTBED, "up"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"hack/testbed up failed:\n{result.stderr}", pytrace=False)
    exports = {}
    for line in result.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            exports[key] = value
    testbed = Testbed(exports)
    if os.environ.get("CI") and testbed.eso != "real":
        pytest.fail("CI runs the real External Secrets Operator, but this testbed runs the stand-in "
                    "(unset JXSECRET_TESTBED_ESO)", pytrace=False)
    hygiene.GUARD.watched = tmp_path_factory.getbasetemp()  # every test's tmp_path is below it
    testbed.seed_canaries()
    hygiene.GUARD.watch_processes()
    return testbed


@pytest.fixture
def canary():
    """A new canary value, known to the hygiene guard: it must never come out of the plugin."""
    return hygiene.GUARD.mint()


@pytest.fixture
def namespace(testbed):
    """A fresh namespace per test. Not deleted: without kube-controller-manager deletion never finishes."""
    name = f"t-{secrets.token_hex(4)}"
    testbed.kubectl("create", "namespace", name)
    return name


class Terminal:
    """A terminal for prompts run in-process: keys go in through prompt_toolkit's pipe input (questionary
    reads it as it would a keyboard); what the prompts draw, escape sequences and all, is kept in `screen`."""

    def __init__(self, pipe, screen):
        self.pipe, self.screen = pipe, screen
        self.stdin = Keyboard()  # for cli.Environment(stdin=...)

    def type(self, *keys):
        """Queue keys, then close the input: a prompt asked after the last key ends with EOFError
        instead of waiting for ever."""
        self.pipe.send_text("".join(keys))
        self.pipe.close()

    @property
    def shown(self) -> str:
        """The screen as text: escape sequences removed, each redraw on its own line."""
        import re

        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[>=]", "", self.screen.getvalue())
        return text.replace("\r", "\n")


class Keyboard:
    """stdin of a person at a terminal, for cli.Environment: prompts read prompt_toolkit's input."""

    def isatty(self):
        return True


@pytest.fixture
def terminal():
    import io

    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.data_structures import Size
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output.vt100 import Vt100_Output

    screen = io.StringIO()
    output = Vt100_Output(screen, lambda: Size(rows=50, columns=200), term="xterm")
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=output):
        yield Terminal(pipe, screen)
