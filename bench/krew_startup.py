#!/usr/bin/env python3
"""Start-up of the krew-installed copy (the PyInstaller archive of `make dist`) beside the pip-installed one:
`kubectl jxsecret --help` and a static completion (`kubectl __complete jxsecret ""`), each run as a user's
shell runs it, through real kubectl; plus the archive's size. No cluster needed.

Both builds are cached (hack/build-dist.sh, hack/build-krew.sh). krew installs into a temporary KREW_ROOT.
Prints a Markdown table and writes bench/results/krew_startup.json. A benchmark, not a test: the target
(krew/pip <= 1.5x) is reported, not asserted.
"""

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RUNS = 15
CASES = {"--help": ["kubectl", "jxsecret", "--help"],
         "static completion": ["kubectl", "__complete", "jxsecret", ""]}


def build(script):
    out = subprocess.run(["bash", str(REPO / "hack" / script)], check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHON": sys.executable}).stdout
    return out.strip().splitlines()[-1] if out.strip() else ""


def seconds(cmd, env):
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main():
    build("build-dist.sh")
    krew_bin = Path(build("build-krew.sh"))
    version = next(line for line in (REPO / "dist" / "krew-manifest.yaml").read_text().splitlines()
                   if line.strip().startswith("version:")).split()[-1]
    archive = next((REPO / "dist").glob(f"kubectl-jxsecret_{version}_*.tar.gz"))
    with tarfile.open(archive) as tar:
        unpacked = sum(m.size for m in tar.getmembers() if m.isfile())
    with tempfile.TemporaryDirectory() as tmp:
        root, tools = Path(tmp) / "krew", Path(tmp) / "tools"
        tools.mkdir()
        (tools / "kubectl").symlink_to(VENV_BIN / "kubectl")
        (tools / "kubectl-krew").symlink_to(krew_bin / "kubectl-krew")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "KUBECTL_"))}
        base.update(KREW_ROOT=str(root), KREW_NO_UPGRADE_CHECK="1", HOME=tmp)
        envs = {"pip": {**base, "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin"},
                "krew": {**base, "PATH": f"{root / 'bin'}:{tools}:/usr/local/bin:/usr/bin:/bin"}}
        subprocess.run(["kubectl", "krew", "install", f"--manifest={REPO / 'dist' / 'krew-manifest.yaml'}",
                        f"--archive={archive}"], env=envs["krew"], check=True, capture_output=True)
        subprocess.run(["kubectl", "jxsecret", "completion", "install"], env=envs["krew"], check=True,
                       capture_output=True)
        times = {(case, copy): [] for case in CASES for copy in envs}
        for _ in range(2):  # warm up: page cache, .pyc
            for case, cmd in CASES.items():
                for copy, env in envs.items():
                    seconds(cmd, env)
        for _ in range(RUNS):  # interleaved, so background noise hits both alike
            for case, cmd in CASES.items():
                for copy, env in envs.items():
                    times[(case, copy)].append(seconds(cmd, env))
    rows = []
    for case in CASES:
        pip, krew = (statistics.median(times[(case, c)]) for c in ("pip", "krew"))
        rows.append({"case": case, "pip_median_s": round(pip, 4), "krew_median_s": round(krew, 4),
                     "pip_best_s": round(min(times[(case, "pip")]), 4),
                     "krew_best_s": round(min(times[(case, "krew")]), 4), "ratio": round(krew / pip, 2)})
    result = {"runs": RUNS, "archive": archive.name, "archive_bytes": archive.stat().st_size,
              "unpacked_bytes": unpacked, "rows": rows}
    print(f"| through kubectl ({RUNS} runs) | pip median (best) s | krew median (best) s | krew/pip (target <= 1.5) |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| `{' '.join(CASES[r['case']])}` | {r['pip_median_s']:.3f} ({r['pip_best_s']:.3f}) | "
              f"{r['krew_median_s']:.3f} ({r['krew_best_s']:.3f}) | {r['ratio']:.2f} |")
    print(f"\narchive {archive.name}: {archive.stat().st_size / 1e6:.1f} MB, unpacked {unpacked / 1e6:.1f} MB")
    out = REPO / "bench" / "results" / "krew_startup.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
