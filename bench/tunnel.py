#!/usr/bin/env python3
"""Time from command start to the first successful Vault request through a tunnel:
`kubectl jxsecret vault portforward` beside `kubectl port-forward`, started the same way, in one run.

Runs on its own testbed (.testbed-bench-tunnel), torn down afterwards, and times a pip install of the working
tree (bench/regular_install.py), as verify_scaling.py does. Prints a Markdown table and
writes bench/results/tunnel.json. A benchmark, not a test: it reports, it does not judge.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from regular_install import INSTALL, regular_install

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"  # kubectl
STATE = REPO / ".testbed-bench-tunnel"
RUNS = 7


def testbed(command):
    env = dict(os.environ, JXSECRET_TESTBED_DIR=str(STATE))
    return subprocess.run([sys.executable, str(REPO / "hack" / "testbed"), command], env=env, check=True,
                          capture_output=True, text=True).stdout


def first_answer(address, deadline):
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{address}/v1/sys/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"no answer from {address}")


def time_tunnel(cmd, env, parse_address):
    """Seconds from spawning `cmd` to the first 200 from Vault through the tunnel it opens."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        address = None
        while address is None:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{cmd[:3]} exited before printing an address")
            address = parse_address(line)
        first_answer(address, started + 30)
        return time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait(10)


def ours(line):
    return line.strip().split("=", 1)[1] if line.startswith("export VAULT_ADDR=") else None


def kubectls(line):
    # "Forwarding from 127.0.0.1:40123 -> 8200"
    if line.startswith("Forwarding from 127.0.0.1:"):
        return "http://" + line.split()[2]
    return None


def time_command(cmd, env):
    started = time.monotonic()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.monotonic() - started


def main(argv):
    global STATE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--testbed-dir", type=Path, default=STATE,
                        help="the bench's own testbed (default: %(default)s)")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="also time `vault portforward` from the kubectl_jxsecret in DIR (PYTHONPATH)")
    args = parser.parse_args(argv[1:])
    STATE = args.testbed_dir.resolve()
    print(f"bench: installing this working tree in {INSTALL} (pip, not editable)", file=sys.stderr)
    plugin_bin = regular_install()
    exports = dict(line[len("export "):].split("=", 1) for line in testbed("up").splitlines()
                   if line.startswith("export "))
    home = tempfile.mkdtemp(prefix="jxsecret-bench-home-")  # where vault portforward records its tunnel, as for a user
    try:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("VAULT_", "BAO_", "KUBECONFIG", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "XDG_"))}
        env.update(KUBECONFIG=exports["KUBECONFIG"], HOME=home,
                   PATH=os.pathsep.join([str(plugin_bin), str(VENV_BIN), env["PATH"]]))
        # The floor of any kubectl plugin: kubectl starting up, then exec'ing one that does nothing.
        noop = Path(home, "bin", "kubectl-benchnoop")
        noop.parent.mkdir()
        noop.write_text("#!/bin/sh\nexit 0\n")
        noop.chmod(0o755)
        noop_env = dict(env, PATH=f"{noop.parent}{os.pathsep}{env['PATH']}")
        results = {"ours": [], "ours_direct": [], "kubectl": [], "noop_plugin": [], "wait_tunnelled": [],
                   "wait_direct": []}
        portforward = ["kubectl", "jxsecret", "vault", "portforward", "--port", "0"]
        direct = [str(plugin_bin / "kubectl-jxsecret"), *portforward[2:]]  # without kubectl's plugin dispatch
        if args.baseline:
            results["baseline"] = []
            time_tunnel(portforward, dict(env, PYTHONPATH=str(args.baseline)), ours)  # warm-up: its .pyc files
        time_tunnel(portforward, env, ours)
        for _ in range(RUNS):  # interleaved, so drift hits both alike
            results["ours"].append(time_tunnel(portforward, env, ours))
            results["ours_direct"].append(time_tunnel(direct, env, ours))
            results["noop_plugin"].append(time_command(["kubectl", "benchnoop"], noop_env))
            results["kubectl"].append(time_tunnel(["kubectl", "port-forward", "-n", "jx-vault", "pod/vault-0", ":8200"],
                                                  env, kubectls))
            if args.baseline:
                results["baseline"].append(time_tunnel(portforward, dict(env, PYTHONPATH=str(args.baseline)), ours))
            results["wait_tunnelled"].append(time_command(["kubectl", "jxsecret", "vault", "wait"], env))
            results["wait_direct"].append(time_command(["kubectl", "jxsecret", "vault", "wait"],
                                                       dict(env, VAULT_ADDR=exports["VAULT_ADDR"], VAULT_TOKEN="root")))
    finally:
        testbed("down")
        shutil.rmtree(home, ignore_errors=True)
    median = {k: statistics.median(v) for k, v in results.items()}
    report = {
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "runs": RUNS},
        "median_seconds": median, "all_seconds": results,
        "ratio_ours_to_kubectl": median["ours"] / median["kubectl"],
        "tunnel_overhead_in_vault_wait": median["wait_tunnelled"] - median["wait_direct"],
    }
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "tunnel.json").write_text(json.dumps(report, indent=2))
    print(f"| start to first Vault answer (median of {RUNS}) | seconds |\n|---|---|")
    print(f"| `kubectl jxsecret vault portforward --port 0` | {median['ours']:.3f} |")
    print(f"| `kubectl port-forward pod/vault-0 :8200` | {median['kubectl']:.3f} |")
    print(f"| ratio ours / kubectl | {report['ratio_ours_to_kubectl']:.2f} |")
    print(f"| the plugin alone, `kubectl-jxsecret vault portforward --port 0` | {median['ours_direct']:.3f} |")
    print(f"| a plugin that does nothing, through kubectl (`kubectl benchnoop`) | {median['noop_plugin']:.3f} |")
    if "baseline" in median:
        print(f"| baseline `vault portforward` (--baseline) | {median['baseline']:.3f} |")
        print(f"| ratio baseline / kubectl | {median['baseline'] / median['kubectl']:.2f} |")
    print(f"| `vault wait`, in-cluster address (discovery + automatic tunnel) | {median['wait_tunnelled']:.3f} |")
    print(f"| `vault wait`, direct VAULT_ADDR | {median['wait_direct']:.3f} |")


if __name__ == "__main__":
    main(sys.argv)
