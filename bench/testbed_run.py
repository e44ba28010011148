"""`hack/testbed up|down` for a benchmark's own testbed directory, and the exports `up` prints."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def testbed(command: str, state: Path, **env) -> dict[str, str]:
    """Run `hack/testbed COMMAND` on the testbed in `state` (extra environment in `env`); its exports."""
    environ = dict(os.environ, JXSECRET_TESTBED_DIR=str(state), **env)
    out = subprocess.run([sys.executable, str(REPO / "hack" / "testbed"), command], env=environ, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return dict(line[len("export "):].split("=", 1) for line in out.splitlines() if line.startswith("export "))
