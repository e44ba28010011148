"""Property tests (hypothesis) of every parser of user input: each generated case ends in a result or in the
parser's one documented error, never another exception. Examples are not stored (database=None: nothing is
written to the repository) and the cases tried per parser are counted for the session's summary."""

import contextlib
import io
import os
import re
import shutil
import signal
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

from kubectl_jxsecret import cli

# Hypothesis keeps caches (constants found in the code under test) beside the tests: under .pytest_cache
# (ignored by git) rather than a new .hypothesis/ in the repository.
set_hypothesis_home_dir(Path(__file__).resolve().parents[2] / ".pytest_cache" / "hypothesis")
settings.register_profile("jxsecret", max_examples=200, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("jxsecret")

CASES: Counter = Counter()


@pytest.fixture(scope="session")
def cases() -> Counter:
    """parser -> generated cases run; a test adds one per example it checks."""
    return CASES


def pytest_terminal_summary(terminalreporter):
    if CASES:
        figures = ", ".join(f"{parser} {count}" for parser, count in sorted(CASES.items()))
        terminalreporter.write_line(f"property cases per parser: {figures} ({sum(CASES.values())} in all)")


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    """Runs the command line in-process on generated input: an empty working directory, HOME and TMPDIR of
    its own, no kubeconfig and no Vault variables (nothing reaches a cluster), and a watchdog, so that every
    case ends and what it wrote can be seen."""
    return Sandbox(tmp_path_factory.mktemp("sandbox"))


# README "Exit codes": the codes a run may end with. 130 needs a Ctrl-C, which no generated case sends.
DOCUMENTED = {0, 1, 2, 3}
HINT = re.compile(r"see 'kubectl jxsecret[^'\n]*-h' for help")
WATCHDOG_SECONDS = 20


class Hung(BaseException):
    """A case that did not end: not an Exception, so main()'s error ladder cannot swallow it."""


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    written: list  # files or directories the run left in the sandbox

    def check(self):
        """Success, or one `error: ...` line (usage errors: and the help hint) with a documented code."""
        assert self.code in DOCUMENTED, f"exit {self.code} is not in README's Exit codes\n{self.stderr}"
        assert "Traceback" not in self.stderr, self.stderr
        if self.code in (0, 3):
            return
        lines = self.stderr.splitlines()
        errors = [line for line in lines if line.startswith("error: ")]
        assert len(errors) == 1, f"want one error line, got:\n{self.stderr}"
        assert not errors[0].startswith("error: unexpected "), errors[0]  # main()'s catch-all: a bug of ours
        if self.code == 2:
            assert lines[-2:] == [errors[0], lines[-1]] and HINT.fullmatch(lines[-1]), self.stderr
        else:
            assert lines[-1] == errors[0], self.stderr
        assert self.written == [], f"a rejected run wrote {self.written}"


class Sandbox:
    def __init__(self, root: Path):
        self.root = root
        self.cwd, self.home, self.tmp = root / "cwd", root / "home", root / "tmp"

    def run(self, args: list, stdin: str = "", files: dict | None = None) -> Outcome:
        """`kubectl jxsecret ARGS` in-process; `files` (name -> text) are put in the working directory first
        and are not counted as written."""
        for d in (self.cwd, self.home, self.tmp):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
        for name, text in (files or {}).items():
            (self.cwd / name).write_text(text, encoding="utf-8")
        environ = {"HOME": str(self.home), "TMPDIR": str(self.tmp), "PATH": os.environ.get("PATH", ""),
                   "KUBECONFIG": str(self.home / "no-such-kubeconfig")}
        out, err = io.StringIO(), io.StringIO()
        env = cli.Environment(stdout=out, stderr=err, stdin=io.StringIO(stdin), environ=environ)
        before = self._listing(set(files or ()))
        with contextlib.chdir(self.cwd), mock.patch.dict(os.environ, environ, clear=True), \
                mock.patch.object(tempfile, "tempdir", str(self.tmp)), _watchdog(args):
            code = cli.main(["kubectl-jxsecret", *args], env)
        written = sorted(set(self._listing(set(files or ()))) - set(before))
        return Outcome(int(code), out.getvalue(), err.getvalue(), written)

    def _listing(self, given: set) -> list:
        found = []
        for d in (self.cwd, self.home, self.tmp):
            found += [str(p.relative_to(self.root)) for p in d.rglob("*")
                      if not (p.parent == self.cwd and p.name in given)]
        return found


@contextlib.contextmanager
def _watchdog(args):
    def hung(signum, frame):
        raise Hung(f"kubectl jxsecret {args} still running after {WATCHDOG_SECONDS}s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(WATCHDOG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
