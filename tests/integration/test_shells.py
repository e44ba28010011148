"""Real bash, zsh and fish sessions (Debian packages, under tmux) complete `kubectl jxsecret` like a person
at a terminal would: TAB after a partial subcommand, and after a partial namespace of the live testbed.
Both ways: through kubectl's own completion (kubectl_complete-jxsecret) and the scripts of
`kubectl-jxsecret completion bash|zsh|fish` for the plugin called directly."""

import shutil
import subprocess
import time

import pytest

pytestmark = pytest.mark.integration

# How each shell starts without the user's files, with a plain prompt, and loads completion.
SHELLS = {
    "bash": (["bash", "--norc", "--noprofile"],
             ["PS1='$ '", "source /usr/share/bash-completion/bash_completion", "source <(kubectl completion bash)",
              "source <(kubectl-jxsecret completion bash)"]),
    "zsh": (["zsh", "-f"],
            ["PROMPT='$ '", "autoload -U compinit && compinit -u", "source <(kubectl completion zsh)",
             "source <(kubectl-jxsecret completion zsh)"]),
    "fish": (["fish", "--no-config"],
             ["function fish_prompt; echo -n '$ '; end", "set -g fish_autosuggestion_enabled 0",
              "kubectl completion fish | source", "kubectl-jxsecret completion fish | source"]),
}


class Session:
    def __init__(self, shell, env, tmp_path):
        self.socket = str(tmp_path / "tmux.sock")  # a server of our own, its socket gone with tmp_path
        self.env = env
        command, setup = SHELLS[shell]
        self.tmux("new-session", "-d", "-x", "160", "-y", "40", "-s", "t", " ".join(command))
        for line in setup:
            self.tmux("send-keys", "-t", "t", "-l", line)
            self.tmux("send-keys", "-t", "t", "Enter")
        self.tmux("send-keys", "-t", "t", "-l", "clear")
        self.tmux("send-keys", "-t", "t", "Enter")
        self.settle()

    def tmux(self, *args):
        return subprocess.run(["tmux", "-f", "/dev/null", "-S", self.socket, *args], env=self.env,
                              capture_output=True, text=True, check=True, timeout=20).stdout

    def screen(self):
        return [line.rstrip() for line in self.tmux("capture-pane", "-p", "-t", "t").splitlines() if line.strip()]

    def settle(self, timeout=20):
        """Wait until the screen stops changing (the shell is idle again)."""
        deadline, last, stable_since = time.monotonic() + timeout, None, time.monotonic()
        while time.monotonic() < deadline:
            now = self.screen()
            if now != last:
                last, stable_since = now, time.monotonic()
            elif time.monotonic() - stable_since > 0.8:
                return now
            time.sleep(0.1)
        return last

    def complete(self, typed, expected, timeout=20):
        """Type `typed`, press TAB, and return the prompt line once it shows `expected` (or when time is up)."""
        self.tmux("send-keys", "-t", "t", "C-u")
        self.tmux("send-keys", "-t", "t", "-l", typed)
        self.tmux("send-keys", "-t", "t", "Tab")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = [line for line in self.screen() if line.startswith("$ ")]
            if lines and lines[-1] == f"$ {expected}":
                break
            time.sleep(0.2)
        return lines[-1] if lines else ""

    def close(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], env=self.env, capture_output=True)


@pytest.fixture(params=list(SHELLS))
def session(request, testbed, tmp_path):
    shell = request.param
    assert shutil.which(SHELLS[shell][0][0]), f"{shell} is not installed: run bash hack/system-packages.sh"
    (tmp_path / ".config").mkdir()
    env = testbed.env(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / ".config"),
                      XDG_DATA_HOME=str(tmp_path / ".local"), TERM="xterm-256color")
    s = Session(shell, env, tmp_path)
    yield s
    s.close()


def test_kubectl_completes_a_subcommand(session):
    assert session.complete("kubectl jxsecret repl", "kubectl jxsecret replicate") == "$ kubectl jxsecret replicate"


def test_kubectl_completes_a_live_namespace(session):
    line = session.complete("kubectl jxsecret verify -n jx-prod", "kubectl jxsecret verify -n jx-production")
    assert line == "$ kubectl jxsecret verify -n jx-production"


def test_the_script_completes_the_plugin_called_directly(session):
    line = session.complete("kubectl-jxsecret vault portf", "kubectl-jxsecret vault portforward")
    assert line == "$ kubectl-jxsecret vault portforward"


def test_the_script_completes_a_live_namespace(session):
    line = session.complete("kubectl-jxsecret wait -n jx-stag", "kubectl-jxsecret wait -n jx-staging")
    assert line == "$ kubectl-jxsecret wait -n jx-staging"


def test_the_script_completes_a_flag_value_after_equals(session):
    line = session.complete("kubectl-jxsecret version --output=js", "kubectl-jxsecret version --output=json")
    assert line == "$ kubectl-jxsecret version --output=json"
