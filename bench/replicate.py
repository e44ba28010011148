#!/usr/bin/env python3
"""`kubectl jxsecret replicate` of N labelled Secrets to 3 permanent Environments, beside the same copies
made with a `kubectl get | jq | kubectl apply` loop: API requests and wall time, first run and again.

    .venv/bin/python bench/replicate.py                 # N = 200 (and 20, to show reads do not grow)
    .venv/bin/python bench/replicate.py --sizes 200 --keep

Per size: a fresh source namespace with N Secrets (3 keys each) labelled
secret.jenkins-x.io/replica-source=true and 3 Environments (kind Permanent) naming 3 fresh namespaces.
  * replicate, first run: creates 3N copies;
  * replicate, second run: nothing changed, so no write (checked, the bench stops otherwise);
  * the loop (largest size only), into 3 other fresh namespaces: per Secret and namespace
    `kubectl get secret S -n SRC -o json | jq 'del(server-side fields) | .metadata.namespace=NS' | kubectl apply -f -`,
    then the same loop again (kubectl apply finds nothing to change, but still reads and sends).
Requests are those at stage ResponseComplete in the apiserver's audit log with user agent
`kubectl-jxsecret/` (resp. `kubectl/`), split into reads (get/list) and writes (create/update/patch/delete).
Runs on its own testbed (.testbed-bench-replicate), torn down afterwards unless --keep. Prints a Markdown
table and writes bench/results/replicate.json. A benchmark, not a test.
"""

import argparse
import base64
import collections
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path

from testbed_run import testbed  # bench/ is on sys.path when a bench script runs

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
STATE = REPO / ".testbed-bench-replicate"
RESULTS = REPO / "bench" / "results" / "replicate.json"
WRITES = {"create", "update", "patch", "delete"}
LOOP = """
for s in $SECRETS; do
  for ns in $TARGETS; do
    kubectl get secret "$s" -n "$SRC" -o json \
      | jq --arg ns "$ns" 'del(.metadata.uid, .metadata.resourceVersion, .metadata.creationTimestamp,
                              .metadata.managedFields, .metadata.ownerReferences) | .metadata.namespace = $ns' \
      | kubectl apply -f - >/dev/null || exit 1
  done
done
"""


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class Cluster:
    def __init__(self, exports):
        self.audit = exports["JXSECRET_TESTBED_AUDIT_LOG"]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "KUBECONFIG"))}
        self.env.update(KUBECONFIG=exports["KUBECONFIG"], PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")

    def kubectl(self, *args, input=None):
        return subprocess.run(["kubectl", *args], env=self.env, input=input, check=True, capture_output=True,
                              text=True).stdout

    def apply(self, items):
        self.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))

    def namespaces(self, prefix, n):
        names = [f"{prefix}-{uuid.uuid4().hex[:6]}" for _ in range(n)]
        self.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}} for name in names])
        return names

    def timed(self, command, user_agent, **env):
        mark = os.path.getsize(self.audit)
        start = time.monotonic()
        result = subprocess.run(command, env=dict(self.env, **env), capture_output=True, text=True)
        seconds = time.monotonic() - start
        if result.returncode != 0:
            raise RuntimeError(f"{command[:3]} exited {result.returncode}: {result.stderr[-500:]}")
        time.sleep(0.5)  # the audit backend is batched; let the last entries land
        return seconds, self.requests(mark, user_agent)

    def requests(self, mark, user_agent):
        verbs = collections.Counter()
        with open(self.audit, "rb") as f:
            f.seek(mark)
            for line in f:
                e = json.loads(line)
                if e.get("stage") == "ResponseComplete" and e.get("userAgent", "").startswith(user_agent):
                    verbs[e["verb"]] += 1
        return {"reads": verbs["get"] + verbs["list"], "writes": sum(verbs[v] for v in WRITES), "by_verb": dict(verbs)}


def fill(cluster, n):
    src = cluster.namespaces("bench-src", 1)[0]
    targets = cluster.namespaces("bench-env", 3)
    value = base64.b64encode(b"bench-value-" + b"x" * 40).decode()
    secrets = [{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": f"s-{i:04d}", "namespace": src,
                             "labels": {"secret.jenkins-x.io/replica-source": "true"}},
                "data": {"username": value, "password": value, "token": value}} for i in range(n)]
    environments = [{"apiVersion": "jenkins.io/v1", "kind": "Environment", "metadata": {"name": f"env-{i}", "namespace": src},
                     "spec": {"kind": "Permanent", "namespace": ns, "label": f"env-{i}"}} for i, ns in enumerate(targets)]
    for i in range(0, n, 100):
        cluster.apply(secrets[i:i + 100])
    cluster.apply(environments)
    return src, targets, [s["metadata"]["name"] for s in secrets]


def measure(cluster, n, with_loop):
    src, targets, names = fill(cluster, n)
    log(f"N={n}: {n} Secrets in {src}, Environments -> {', '.join(targets)}")
    command = ["kubectl", "jxsecret", "replicate", "--from", src]
    result = {}
    for label in ("first", "again"):
        seconds, requests = cluster.timed(command, "kubectl-jxsecret/")
        result[f"replicate {label}"] = {"seconds": round(seconds, 2), **requests}
        log(f"N={n} replicate {label}: {seconds:.2f} s, {requests}")
    if result["replicate again"]["writes"] != 0:
        raise RuntimeError(f"the second replicate wrote: {result['replicate again']}")
    copies = sum(len(cluster.kubectl("get", "secrets", "-n", ns, "-o", "name").split()) for ns in targets)
    if copies != 3 * n:
        raise RuntimeError(f"{copies} copies, expected {3 * n}")
    if with_loop:
        loop_targets = cluster.namespaces("bench-loop", 3)
        env = {"SECRETS": " ".join(names), "TARGETS": " ".join(loop_targets), "SRC": src}
        for label in ("first", "again"):
            seconds, requests = cluster.timed(["bash", "-c", LOOP], "kubectl/", **env)
            result[f"kubectl loop {label}"] = {"seconds": round(seconds, 2), **requests}
            log(f"N={n} kubectl loop {label}: {seconds:.2f} s, {requests}")
    return result


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20,200", help="numbers of Secrets (default: %(default)s); the loop runs "
                                                          "at the largest")
    parser.add_argument("--keep", action="store_true", help="leave the bench testbed up")
    args = parser.parse_args(argv[1:])
    sizes = sorted(int(s) for s in args.sizes.split(","))
    results = {"benchmark": "replicate", "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "sizes": {}}
    log(f"testbed in {STATE}")
    cluster = Cluster(testbed("up", STATE))
    try:
        for n in sizes:
            results["sizes"][n] = measure(cluster, n, n == sizes[-1])
    finally:
        if not args.keep:
            testbed("down", STATE)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print("| N Secrets × 3 Environments | run | wall s | requests (reads + writes) |")
    print("|---|---|---|---|")
    for n, r in results["sizes"].items():
        for label, m in r.items():
            print(f"| {n} | {label} | {m['seconds']} | {m['reads'] + m['writes']} ({m['reads']} + {m['writes']}) |")
    big = results["sizes"][sizes[-1]]
    for label in ("first", "again"):
        ours, theirs = big[f"replicate {label}"], big[f"kubectl loop {label}"]
        print(f"\n{label} run at N={sizes[-1]}: time ratio {ours['seconds'] / theirs['seconds']:.3f}, requests ratio "
              f"{(ours['reads'] + ours['writes']) / (theirs['reads'] + theirs['writes']):.3f}", end="")
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
