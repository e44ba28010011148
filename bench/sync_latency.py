#!/usr/bin/env python3
"""Time from writing a missing value into OpenBao to `kubectl jxsecret verify` reporting it populated,
with the real External Secrets Operator and with the stand-in, in one run.

    .venv/bin/python bench/sync_latency.py               # both controllers, 5 runs each
    .venv/bin/python bench/sync_latency.py --eso real --runs 3 --no-wait-for-retry

Each run: an ExternalSecret whose value is not in OpenBao yet (ESO reports a SyncError), then the value
is written and
  * force-sync: the `force-sync` annotation is set, as a writing command does (`refresh`);
  * on its own: nothing else, ESO notices on its next retry (its back-off grows to 7 minutes).
The clock runs from the write to the first `verify -f NAME` that exits 0 (verify is run back to back,
so its own run time is part of the figure, as it would be for a user). Runs on its own testbed
(.testbed-bench-sync), torn down afterwards. Prints a Markdown table and writes
bench/results/sync-latency.json. A benchmark, not a test: it reports, it does not judge.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from testbed_run import testbed  # bench/ is on sys.path when a bench script runs

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
STATE = REPO / ".testbed-bench-sync"
RESULTS = REPO / "bench" / "results" / "sync-latency.json"
ON_ITS_OWN_LIMIT = 600.0  # seconds: ESO's back-off can reach 7 minutes


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class Cluster:
    def __init__(self, exports):
        import hvac

        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "KUBECONFIG"))}
        self.env.update(KUBECONFIG=exports["KUBECONFIG"], PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
        self.vault = hvac.Client(url=exports["VAULT_ADDR"], token=exports["VAULT_TOKEN"])

    def kubectl(self, *args, input=None):
        return subprocess.run(["kubectl", *args], env=self.env, input=input, check=True, capture_output=True,
                              text=True).stdout

    def populated(self, namespace, name):
        return subprocess.run(["kubectl", "jxsecret", "verify", "-n", namespace, "-f", name, "-o", "name"],
                              env=self.env, capture_output=True).returncode == 0

    def failing_externalsecret(self, namespace, name, path):
        self.kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"}, "refreshInterval": "1h",
                     "data": [{"secretKey": "token", "remoteRef": {"key": path, "property": "token"}}]}}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = json.loads(self.kubectl("get", "es", name, "-n", namespace, "-o", "json")).get("status") or {}
            if any(c["type"] == "Ready" and c["status"] == "False" for c in status.get("conditions") or []):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{namespace}/{name} never reported its SyncError")

    def seconds_to_populated(self, namespace, name, path, force_sync, limit):
        self.vault.secrets.kv.v2.create_or_update_secret(path, secret={"token": "bench-value"}, mount_point="secret")
        written = time.monotonic()
        if force_sync:
            self.kubectl("annotate", "es", name, "-n", namespace, f"force-sync={time.time()}", "--overwrite")
        while time.monotonic() - written < limit:
            if self.populated(namespace, name):
                return time.monotonic() - written
        return None


def measure(mode, runs, wait_for_retry):
    log(f"testbed with ESO={mode} in {STATE}")
    cluster = Cluster(testbed("up", STATE, JXSECRET_TESTBED_ESO=mode))
    namespace = f"bench-sync-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    cases = [("force-sync", True, runs, 60.0)] + ([("on its own", False, 1, ON_ITS_OWN_LIMIT)] if wait_for_retry else [])
    result = {}
    for label, force_sync, count, limit in cases:
        times = []
        for i in range(count):
            name, path = f"{label.split()[0]}-{i}", f"bench/{namespace}/{label.split()[0]}-{i}"
            cluster.failing_externalsecret(namespace, name, path)
            times.append(cluster.seconds_to_populated(namespace, name, path, force_sync, limit))
            log(f"{mode} {label} #{i}: {times[-1] if times[-1] is None else round(times[-1], 2)} s")
        done = [t for t in times if t is not None]
        result[label] = {"runs_s": [None if t is None else round(t, 3) for t in times],
                         "median_s": round(statistics.median(done), 3) if done else None}
    return result


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eso", choices=["real", "standin", "both"], default="both")
    parser.add_argument("--runs", type=int, default=5, help="force-sync runs per controller (default: %(default)s)")
    parser.add_argument("--no-wait-for-retry", dest="wait_for_retry", action="store_false",
                        help="skip the run that waits for the controller's own retry (minutes with real ESO)")
    args = parser.parse_args(argv[1:])
    modes = ["real", "standin"] if args.eso == "both" else [args.eso]
    results = {"benchmark": "sync-latency", "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "controllers": {}}
    try:
        for mode in modes:
            results["controllers"][mode] = measure(mode, args.runs, args.wait_for_retry)
    finally:
        testbed("down", STATE, JXSECRET_TESTBED_ESO=modes[-1])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print("| controller | value written + force-sync → verify populated (median) | value written, no force-sync |")
    print("|---|---|---|")
    for mode, r in results["controllers"].items():
        own = "not measured" if "on its own" not in r else f"{r['on its own']['median_s'] or f'over {ON_ITS_OWN_LIMIT:.0f}'} s"
        print(f"| {mode} | {r['force-sync']['median_s']} s | {own} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
