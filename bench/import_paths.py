#!/usr/bin/env python3
"""`kubectl jxsecret import` of N store paths into OpenBao through the automatic tunnel, beside a shell
loop of `bao kv put` for the same paths, in one run; and the Vault requests each made.

    .venv/bin/python bench/import_paths.py             # N = 500
    .venv/bin/python bench/import_paths.py --paths 100

On its own testbed (.testbed-bench-import), torn down afterwards: 50 ExternalSecrets (ESO's own store)
reading N/50 paths each. OpenBao's file audit device counts every Vault request by path and operation.
Measured: the first import (every path new), the same import again (every path unchanged), and
`bao kv put` of the same paths, one process per path, straight to OpenBao's address (no tunnel: the
loop's best case). import's clock stops when it has written (its "force-sync requested" line); the
time ESO then takes to sync is reported apart. Prints a Markdown table and writes
bench/results/import-paths.json. A benchmark, not a test: it reports, it does not judge.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from testbed_run import testbed  # bench/ is on sys.path when a bench script runs

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
STATE = REPO / ".testbed-bench-import"
RESULTS = REPO / "bench" / "results" / "import-paths.json"
NAMESPACE = "bench-import"
EXTERNALSECRETS = 50


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class Audit:
    """The testbed's OpenBao audit log: Vault requests by operation and path between two offsets."""

    def __init__(self, path: str):
        self.path = Path(path)

    def offset(self):
        return self.path.stat().st_size

    def count(self, start, accessor) -> Counter:
        """Requests made with the token of `accessor` (ESO's own reads use another token)."""
        found = Counter()
        with open(self.path, "rb") as f:
            f.seek(start)
            for line in f:
                entry = json.loads(line)
                if entry.get("type") == "request" and (entry.get("auth") or {}).get("accessor") == accessor:
                    request = entry["request"]
                    path = request["path"]
                    kind = "data" if "/data/" in path else path
                    found[f"{request['operation']} {kind}"] += 1
        return found


def write_manifests(kube_env, n):
    per = n // EXTERNALSECRETS
    items = [{"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
              "metadata": {"name": f"es-{i}", "namespace": NAMESPACE},
              "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"}, "refreshInterval": "1h",
                       "data": [{"secretKey": f"k{j}", "remoteRef": {"key": f"bench/es-{i}/p{j}", "property": "value"}}
                                for j in range(per)]}}
             for i in range(EXTERNALSECRETS)]
    subprocess.run(["kubectl", "create", "namespace", NAMESPACE], env=kube_env, check=True, capture_output=True)
    subprocess.run(["kubectl", "apply", "-f", "-"], env=kube_env, check=True, capture_output=True,
                   input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}), text=True)
    return [f"bench/es-{i}/p{j}" for i in range(EXTERNALSECRETS) for j in range(per)]


def timed_import(env, file):
    """(seconds to the end of the writes, seconds in all, exit status)."""
    started = time.monotonic()
    proc = subprocess.Popen(["kubectl", "jxsecret", "import", "-n", NAMESPACE, "-f", str(file), "--timeout", "5m"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    written = None
    for line in proc.stdout:
        if written is None and line.startswith("force-sync requested"):
            written = time.monotonic() - started
    proc.wait()
    total = time.monotonic() - started
    return (written if written is not None else total), total, proc.returncode


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", type=int, default=500, help="store paths to import (default: %(default)s)")
    args = parser.parse_args(argv[1:])
    n = args.paths - args.paths % EXTERNALSECRETS
    exports = testbed("up", STATE)
    try:
        audit = Audit(exports["JXSECRET_TESTBED_VAULT_AUDIT_LOG"])
        import hvac

        # A token of the bench's own, so its requests can be told apart from ESO's in the audit log.
        token = hvac.Client(url=exports["VAULT_ADDR"], token=exports["VAULT_TOKEN"]).auth.token.create(
            policies=["root"], ttl="1h")["auth"]
        base = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "KUBECONFIG"))}
        base.update(KUBECONFIG=exports["KUBECONFIG"], PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
                    VAULT_TOKEN=token["client_token"])  # no VAULT_ADDR: the address comes from the cluster
        paths = write_manifests(base, n)
        file = STATE / "values.yaml"
        file.write_text("".join(f"secret/{p}:\n  value: bench-value-{i}\n" for i, p in enumerate(paths)))
        log(f"{n} paths of {EXTERNALSECRETS} ExternalSecrets; import through the plugin's own tunnel")
        results = {"benchmark": "import-paths", "paths": n, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
        for label in ("import (all new)", "import again (all unchanged)"):
            mark = audit.offset()
            written, total, rc = timed_import(base, file)  # tunnelled: no VAULT_ADDR
            results[label] = {"write_s": round(written, 3), "total_s": round(total, 3), "exit": rc,
                              "vault_requests": dict(sorted(audit.count(mark, token["accessor"]).items()))}
            log(f"{label}: {written:.2f} s to write, {total:.2f} s with ESO's sync, exit {rc}")
        bao_env = dict(base, BAO_ADDR=exports["VAULT_ADDR"], BAO_TOKEN=token["client_token"])
        mark, started = audit.offset(), time.monotonic()
        subprocess.run(["bash", "-c", 'while read -r p; do bao kv put -mount=secret "bench-bao/$p" value=x >/dev/null; '
                                      'done'], input="\n".join(paths) + "\n", env=bao_env, check=True, text=True)
        results["bao kv put loop"] = {"write_s": round(time.monotonic() - started, 3),
                                      "vault_requests": dict(sorted(audit.count(mark, token["accessor"]).items()))}
        log(f"bao kv put loop: {results['bao kv put loop']['write_s']:.2f} s")
    finally:
        testbed("down", STATE)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    bao = results["bao kv put loop"]["write_s"]
    print(f"| {n} paths | seconds to write | ratio to the bao loop | Vault requests |")
    print("|---|---|---|---|")
    for label in ("import (all new)", "import again (all unchanged)", "bao kv put loop"):
        r = results[label]
        requests = ", ".join(f"{v} {k}" for k, v in r["vault_requests"].items())
        print(f"| {label} | {r['write_s']:.2f} | {r['write_s'] / bao:.2f} | {requests} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
