"""Shared fixtures. Integration tests run against the real testbed (hack/testbed): it comes up
once per test session (reused if already running) and is never mocked or skipped: if it cannot
start, the tests that need it fail with the step and the log that broke."""

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# Variables from the developer's shell that would point our tools elsewhere.
STRAY = ("KUBECONFIG", "VAULT_", "BAO_", "KUBECTL_", "NO_COLOR")


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
        """Run a command (kubectl, kubectl jxsecret, bao, ...) against the testbed."""
        result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=self.env(**extra_env),
                                input=input, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, cmd))} exited {result.returncode}:\n{result.stderr}")
        return result

    def kubectl(self, *args, **kw):
        return self.run("kubectl", *args, **kw)

    def vault(self):
        import hvac

        return hvac.Client(url=self.vault_addr, token=self.exports["VAULT_TOKEN"])


@pytest.fixture(scope="session")
def testbed():
    result = subprocess.run([sys.executable, str(REPO / "hack" / "testbed"), "up"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"hack/testbed up failed:\n{result.stderr}", pytrace=False)
    exports = {}
    for line in result.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            exports[key] = value
    return Testbed(exports)


@pytest.fixture
def namespace(testbed):
    """A fresh namespace per test. Not deleted: without kube-controller-manager deletion never finishes."""
    name = f"t-{secrets.token_hex(4)}"
    testbed.kubectl("create", "namespace", name)
    return name
