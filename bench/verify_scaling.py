#!/usr/bin/env python3
"""Benchmark (not a test): how `kubectl jxsecret verify` scales with the number of ExternalSecrets.

    .venv/bin/python bench/verify_scaling.py            # the whole run, a few minutes
    .venv/bin/python bench/verify_scaling.py --sizes 10,100 --runs 3

Brings up its own testbed in .testbed-bench/ (never the demo's or the tests'), grows the bench
ExternalSecrets cumulatively (10 -> 100 -> 1000 -> 5000, in bench-0..bench-9, half of them with a
complete target Secret), and at each size measures `kubectl jxsecret verify -o json` against
`kubectl get externalsecrets -A -o json`: wall time, peak RSS (wait4 ru_maxrss of the child) and the
API requests each made (from the apiserver's audit log). Also: verify on an empty namespace, and the
start-up of --help / version / completion against a bare `python -c pass`. The plugin measured is a
regular (pip, not editable) install of this working tree, made for the run in bench/results/regular-install/.
The testbed is torn down at the end, also on failure. See bench/README.md for what each number means and
the targets.

Every value written to the cluster is an obviously fake bench value; none is ever printed.
"""

import argparse
import base64
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from regular_install import INSTALL, regular_install

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
PY = VENV_BIN / "python"
TESTBED = REPO / "hack" / "testbed"
TESTBED_DIR = REPO / ".testbed-bench"
RESULTS = REPO / "bench" / "results" / "verify-scaling.json"

SIZES = (10, 100, 1000, 5000)
NAMESPACES = [f"bench-{i}" for i in range(10)]
EMPTY_NS = "bench-empty"
KEYS = ("username", "password")
STORE = "bench"
BENCH_UA = "jxsecret-bench/0"  # our own set-up requests, so they never count as verify's
PLUGIN_UA = "kubectl-jxsecret/"
KUBECTL_UA = "kubectl/"
CONTROLLER_UAS = ("eso/", "eso-standin")  # the real ESO controller, the stand-ins
ES_PATH = "/apis/external-secrets.io/v1/namespaces/{ns}/externalsecrets"
PAGE = 500  # verify's and kubectl's LIST chunk size
TARGETS = {"verify_over_kubectl_at_5000": 1.5, "empty_verify_seconds": 0.6,
           "verify_over_kubectl_up_to_100": 1.5, "verify_seconds_at_10": 0.12}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ testbed

def testbed(command, attempts=1):
    env = dict(os.environ, JXSECRET_TESTBED_DIR=str(TESTBED_DIR))
    for attempt in range(attempts):
        result = subprocess.run([str(PY), str(TESTBED), command], env=env, stdout=subprocess.PIPE, text=True)
        if result.returncode == 0:
            break
        log(f"hack/testbed {command} failed (exit {result.returncode}; its log is above)"
            + (": trying again" if attempt + 1 < attempts else ""))
    else:
        raise SystemExit(f"bench: hack/testbed {command} failed")
    exports = {}
    for line in result.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export "):].partition("=")
            exports[key] = value
    return exports


def child_env(exports, plugin_bin):
    """What a user's shell would have: the plugin's bin first on PATH (then the repository venv's, for kubectl),
    the bench kubeconfig, no Vault/Bao vars; .pyc files written (the warm-up run writes what is missing)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VAULT_", "BAO_", "JXSECRET_TESTBED_", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"))
           and k not in ("KUBECONFIG", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join([str(plugin_bin), str(VENV_BIN), os.environ.get("PATH", "")])
    env["KUBECONFIG"] = exports["KUBECONFIG"]
    env["NO_COLOR"] = "1"
    return env


class Controllers:
    """The bench testbed's ESO controller (and legacy stand-in), paused (SIGSTOP) while we measure if asked to.

    They are processes our own `testbed up` started; we only stop/continue them by the PIDs the testbed
    recorded, and always continue them before `testbed down`.
    """

    def __init__(self, enabled):
        self.pids = []
        if enabled:
            pids = json.loads((TESTBED_DIR / "state.json").read_text())["pids"]
            self.pids = [pids[name] for name in ("eso", "kes-standin", "eso-standin") if name in pids]

    def pause(self):
        for pid in self.pids:
            os.kill(pid, signal.SIGSTOP)

    def resume(self):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


# ------------------------------------------------------------------------------------ objects

def connect(kubeconfig):
    sys.path.insert(0, str(REPO))
    import kubectl_jxsecret.kube.client as kclient
    from kubectl_jxsecret.kube.kubeconfig import load

    # Our own user agent keeps the set-up requests out of verify's count.
    return kclient.Kube(load(kubeconfig_flag=kubeconfig), request_timeout=60, user_agent=BENCH_UA)


def post(kube, path, body):
    from kubectl_jxsecret.errors import KubeError

    try:
        kube.request("POST", path, body=body)
    except KubeError as e:
        if e.status != 409:  # already there: a re-run on a kept testbed
            raise


def fake(value):
    return base64.b64encode(value.encode()).decode()


def populated(i):
    # A checkerboard over (i % 10, i // 10): exactly half of every multiple of 10, in every namespace.
    return (i % 10 + i // 10) % 2 == 0


def objects(i):
    ns, name = NAMESPACES[i % len(NAMESPACES)], f"es-{i:05d}"
    es = {
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": ns, "labels": {"bench.jxsecret.io/size": "scaling"}},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": STORE},
            "target": {"name": name, "creationPolicy": "Owner"},
            "data": [{"secretKey": k, "remoteRef": {"key": f"bench/{name}", "property": k}} for k in KEYS],
        },
    }
    out = [(ES_PATH.format(ns=ns), es)]
    if populated(i):
        secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                  "metadata": {"name": name, "namespace": ns},
                  "data": {k: fake(f"fake-bench-{k}") for k in KEYS}}
        out.append((f"/api/v1/namespaces/{ns}/secrets", secret))
    return out


def create_base(kube):
    for ns in NAMESPACES + [EMPTY_NS]:
        post(kube, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    post(kube, "/apis/external-secrets.io/v1/clustersecretstores", {
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore", "metadata": {"name": STORE},
        "spec": {
            "controller": "bench",  # a controller class: the stand-in (like ESO) leaves it alone
            "provider": {"vault": {
                "server": "http://vault.jx-vault:8200", "path": "secret", "version": "v2",
                "auth": {"tokenSecretRef": {"name": "vault-unseal-keys", "key": "vault-root",
                                            "namespace": "jx-vault"}}}}}})


def grow(kube, start, stop):
    work = [item for i in range(start, stop) for item in objects(i)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in pool.map(lambda item: post(kube, *item), work):
            pass
    seconds = time.perf_counter() - t0
    log(f"created {stop - start} ExternalSecrets + their Secrets ({len(work)} POSTs) in {seconds:.1f}s")
    return {"posts": len(work), "seconds": round(seconds, 2)}


# ------------------------------------------------------------------------------------ measuring

class Audit:
    """Requests by user agent between two byte offsets of the apiserver's JSON-lines audit log."""

    def __init__(self, path):
        self.path = path

    def offset(self):
        return os.path.getsize(self.path)

    def entries(self, start, end):
        with open(self.path, "rb") as f:
            f.seek(start)
            chunk = f.read(end - start)
        for line in chunk.split(b"\n"):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError:
                continue  # a line cut at an offset: not ours to count

    def count(self, start, end):
        """user-agent prefix -> Counter of "VERB /path" (ResponseComplete only), plus continue pages."""
        found = {prefix: Counter() for prefix in (PLUGIN_UA, KUBECTL_UA, *CONTROLLER_UAS)}
        pages = Counter()
        for e in self.entries(start, end):
            if e.get("stage") != "ResponseComplete":
                continue
            ua = e.get("userAgent") or ""
            for prefix, counter in found.items():
                if ua.startswith(prefix):
                    uri = e.get("requestURI") or ""
                    counter[f"{e.get('verb', '').upper()} {uri.split('?')[0]}"] += 1
                    if "continue=" in uri:
                        pages[prefix] += 1
        return found, pages


# Peak RSS: a child's ru_maxrss starts at the RSS of the process that forked it (fork copies the page
# tables; vfork/posix_spawn share the parent's mm, and exec keeps the old mm's high-water mark). Forked
# from this bench process (~50 MiB after importing the kubernetes client) every number would read
# >= 50 MiB. So each command is started by this tiny launcher (python -S, ~9 MiB, below any measured
# command but `true`), which forks, execs, and reports wall time and wait4's ru_maxrss of that child.
LAUNCHER = r"""
import os, sys, time
out, err, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.dup2(os.open(out, os.O_WRONLY | os.O_TRUNC), 1)
        os.dup2(os.open(err, os.O_WRONLY | os.O_TRUNC), 2)
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
print(wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def run_once(argv, env, audit=None):
    """{wall seconds, peak RSS KiB of the command, exit code, stdout, stderr, requests or None}."""
    start = audit.offset() if audit else 0
    with tempfile.TemporaryDirectory(prefix="jxsecret-bench-") as tmp:
        out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
        out.touch(0o600)
        err.touch(0o600)
        t0 = time.perf_counter()
        launched = subprocess.run([str(PY), "-S", "-c", LAUNCHER, str(out), str(err), *argv], env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if launched.returncode != 0:
            raise RuntimeError(f"launcher failed: {launched.stderr.strip()[-500:]}")
        wall, maxrss, rc = launched.stdout.split()
        stdout, stderr = out.read_bytes(), err.read_text(errors="replace")
    requests = None
    if audit:
        # Blocking audit mode: the entry is written as the response goes out; a moment covers the last one.
        time.sleep(0.3)
        requests = audit.count(start, audit.offset()) + (time.perf_counter() - t0,)
    return {"wall": float(wall), "maxrss_kib": int(maxrss), "rc": int(rc),
            "stdout": stdout, "stderr": stderr, "requests": requests}


def summary(runs):
    walls = [r["wall"] for r in runs]
    rss = [r["maxrss_kib"] for r in runs]
    return {"runs_s": [round(w, 4) for w in walls], "best_s": round(min(walls), 4),
            "median_s": round(statistics.median(walls), 4), "maxrss_kib_median": int(statistics.median(rss)),
            "maxrss_kib_max": max(rss)}


def request_summary(run, prefix):
    found, pages, window = run["requests"]
    counter = found[prefix]
    return {"total": sum(counter.values()), "continue_pages": pages[prefix],
            "by_endpoint": dict(sorted(counter.items())),
            "controller_requests_per_s": round(controller_requests(found) / window, 1)}


def measure(argv, env, audit, runs, check=None):
    run_once(argv, env)  # warm-up: page cache, .pyc, apiserver watch cache; not counted
    results = []
    for _ in range(runs):
        r = run_once(argv, env, audit)
        if check:
            check(r)
        results.append(r)
    return results


def check_exit(allowed):
    def check(r):
        assert r["rc"] in allowed, f"exit {r['rc']}: {r['stderr'].strip()[-500:]}"
    return check


def check_verify(n):
    def check(r):
        check_exit((0, 3))(r)  # 3: the unpopulated half, as intended
        rows = [row for row in json.loads(r["stdout"]) if row["namespace"] in NAMESPACES]
        assert len(rows) == n, f"verify shows {len(rows)} bench ExternalSecrets, expected {n}"
        good = sum(1 for row in rows if row["populated"] is True)
        assert good == n // 2, f"verify shows {good} populated, expected {n // 2}"
        assert r["rc"] == (3 if n else 0), f"verify exit {r['rc']} with {n - good} not populated"
    return check


def check_kubectl(n):
    def check(r):
        check_exit((0,))(r)
        items = [i for i in json.loads(r["stdout"])["items"] if i["metadata"]["namespace"] in NAMESPACES]
        assert len(items) == n, f"kubectl get shows {len(items)} bench ExternalSecrets, expected {n}"
    return check


def measure_size(n, env, audit, runs, plugin_bin, baseline=None):
    """`baseline`: a source tree whose kubectl_jxsecret is measured too (PYTHONPATH), e.g. the last commit's."""
    verify_argv = ["kubectl", "jxsecret", "verify", "-o", "json"]
    kubectl_argv = ["kubectl", "get", "externalsecrets.external-secrets.io", "-A", "-o", "json"]
    direct_argv = [str(plugin_bin / "kubectl-jxsecret"), "verify", "-o", "json"]
    empty_argv = ["kubectl", "jxsecret", "verify", "-n", EMPTY_NS]
    # What people type: both print a table (ours once imported tabulate: ~30 ms that -o json never showed).
    table_argvs = (["kubectl", "jxsecret", "verify"], ["kubectl", "get", "externalsecrets.external-secrets.io", "-A"])
    # Interleave verify and kubectl so background noise hits both alike.
    base_env = dict(env, PYTHONPATH=str(baseline)) if baseline else None
    run_once(verify_argv, env)
    run_once(kubectl_argv, env)
    for argv in table_argvs:
        run_once(argv, env)
    if baseline:
        run_once(verify_argv, base_env)
    verify, kubectl, before, verify_table, kubectl_table = [], [], [], [], []
    for _ in range(runs):
        verify_table.append(run_once(table_argvs[0], env))
        check_exit((3,))(verify_table[-1])  # half of the bench's ExternalSecrets are not populated
        kubectl_table.append(run_once(table_argvs[1], env))
        check_exit((0,))(kubectl_table[-1])
        verify.append(run_once(verify_argv, env, audit))
        check_verify(n)(verify[-1])
        kubectl.append(run_once(kubectl_argv, env, audit))
        check_kubectl(n)(kubectl[-1])
        if baseline:
            before.append(run_once(verify_argv, base_env, audit))
            check_verify(n)(before[-1])
    direct = measure(direct_argv, env, None, runs, check_verify(n))
    empty = measure(empty_argv, env, audit, runs, check_exit((0,)))
    v, k = summary(verify), summary(kubectl)
    verify_requests = [request_summary(r, PLUGIN_UA) for r in verify]
    return {
        "n": n,
        "verify": v,
        "verify_direct": summary(direct),  # the console script without kubectl's plugin dispatch
        "kubectl_get": k,
        "ratio_median": round(v["median_s"] / k["median_s"], 2),
        "ratio_best": round(v["best_s"] / k["best_s"], 2),
        "verify_table": summary(verify_table),
        "kubectl_get_table": summary(kubectl_table),
        "table_ratio_median": round(summary(verify_table)["median_s"] / summary(kubectl_table)["median_s"], 2),
        "requests": {
            "verify": verify_requests[-1],
            "verify_totals_all_runs": [q["total"] for q in verify_requests],
            "verify_kubectl_ua": sum(request_summary(r, KUBECTL_UA)["total"] for r in verify),  # expect 0
            "kubectl_get": request_summary(kubectl[-1], KUBECTL_UA),
        },
        "empty_namespace_verify": summary(empty) | {"requests": request_summary(empty[-1], PLUGIN_UA)},
        "loadavg_1m": round(os.getloadavg()[0], 2),
    } | ({"baseline_verify": summary(before) | {"requests": request_summary(before[-1], PLUGIN_UA)["total"],
                                                 "ratio_median": round(summary(before)["median_s"] / k["median_s"], 2)}}
         if baseline else {})


def controller_requests(found):
    return sum(sum(found[ua].values()) for ua in CONTROLLER_UAS)


def controller_rate(audit, seconds=5.0):
    """Requests/s the testbed's controllers make on their own (background load on the apiserver)."""
    start = audit.offset()
    time.sleep(seconds)
    found, _ = audit.count(start, audit.offset())
    return round(controller_requests(found) / seconds, 1)


def measure_startup(env, runs, plugin_bin):
    cases = {
        "true (RSS floor of the launcher)": ["true"],
        "python -c pass": [str(plugin_bin / "python"), "-c", "pass"],
        "kubectl-jxsecret --help": [str(plugin_bin / "kubectl-jxsecret"), "--help"],
        "kubectl-jxsecret version": [str(plugin_bin / "kubectl-jxsecret"), "version"],
        'kubectl_complete-jxsecret ""': [str(plugin_bin / "kubectl_complete-jxsecret"), ""],
        "kubectl jxsecret version": ["kubectl", "jxsecret", "version"],  # + kubectl's plugin dispatch
    }
    results = {name: summary(measure(argv, env, None, runs, check_exit((0,)))) for name, argv in cases.items()}
    base = results["python -c pass"]["median_s"]
    for r in results.values():
        r["over_python_median_s"] = round(r["median_s"] - base, 4)
    return results


# ------------------------------------------------------------------------------------ report

def machine():
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    kubectl = subprocess.run([str(VENV_BIN / "kubectl"), "version", "--client", "-o", "json"],
                             capture_output=True, text=True).stdout
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "mem_total_mib": os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20,
            "kubectl": (json.loads(kubectl or "{}").get("clientVersion") or {}).get("gitVersion", ""),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}


def mib(kib):
    return f"{kib / 1024:.0f}"


def markdown(result):
    lines = ["| N | verify median (best) s | verify RSS MiB | kubectl get median (best) s | kubectl RSS MiB "
             "| verify/kubectl | plugin alone s, RSS MiB | verify requests (pages) | kubectl requests (pages) "
             "| verify -n empty s | verify (table) s | kubectl get (table) s | table ratio |",
             "|---:|---|---:|---|---:|---:|---|---|---|---:|---:|---:|---:|"]
    if any("baseline_verify" in s for s in result["sizes"]):
        lines[0] += " baseline verify median (best) s, /kubectl, requests |"
        lines[1] += "---|"
    for s in result["sizes"]:
        v, k, q = s["verify"], s["kubectl_get"], s["requests"]
        lines.append(
            f"| {s['n']} | {v['median_s']:.3f} ({v['best_s']:.3f}) | {mib(v['maxrss_kib_median'])} "
            f"| {k['median_s']:.3f} ({k['best_s']:.3f}) | {mib(k['maxrss_kib_median'])} | {s['ratio_median']:.2f} "
            f"| {s['verify_direct']['median_s']:.3f}, {mib(s['verify_direct']['maxrss_kib_median'])} "
            f"| {q['verify']['total']} ({q['verify']['continue_pages']}) "
            f"| {q['kubectl_get']['total']} ({q['kubectl_get']['continue_pages']}) "
            f"| {s['empty_namespace_verify']['median_s']:.2f} "
            f"| {s['verify_table']['median_s']:.3f} | {s['kubectl_get_table']['median_s']:.3f} "
            f"| {s['table_ratio_median']:.2f} |"
            + (f" {s['baseline_verify']['median_s']:.2f} ({s['baseline_verify']['best_s']:.2f}), "
               f"{s['baseline_verify']['ratio_median']:.2f}, {s['baseline_verify']['requests']} |"
               if "baseline_verify" in s else ""))
    last = result["sizes"][-1] if result["sizes"] else None
    if last:
        lines += ["", f"verify requests at N={last['n']} (verb path, query dropped):"]
        lines += [f"- {count} × `{ep}`" for ep, count in last["requests"]["verify"]["by_endpoint"].items()]
        lines += [f"kubectl get at N={last['n']}:"]
        lines += [f"- {count} × `{ep}`" for ep, count in last["requests"]["kubectl_get"]["by_endpoint"].items()]
    lines += ["", "| start-up | median (best) s | over `python -c pass` s | RSS MiB |", "|---|---|---:|---:|"]
    for name, r in result["startup"].items():
        lines.append(f"| `{name}` | {r['median_s']:.3f} ({r['best_s']:.3f}) | {r['over_python_median_s']:+.3f} "
                     f"| {mib(r['maxrss_kib_median'])} |")
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for t in result["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |")
    return "\n".join(lines)


def targets(result):
    out = []
    sizes = result["sizes"]
    if sizes:
        # LIST pages grow with N by design (500 per page, as kubectl's); everything else must not.
        base = [s["requests"]["verify"]["total"] - s["requests"]["verify"]["continue_pages"] for s in sizes]
        # Discovery, a LIST per ExternalSecret API (2), the Secrets: one cluster-wide page, then (on a cluster
        # with more Secrets) one LIST per namespace. Never one request per ExternalSecret.
        bound = 1 + 2 + 1 + len(NAMESPACES)
        out.append({"target": f"verify requests bounded whatever N (besides LIST continue pages, 1 per 500): "
                              f"≤ {bound}",
                    "measured": f"{base} without continue pages; totals "
                                f"{[s['requests']['verify']['total'] for s in sizes]}",
                    "met": max(base) <= bound})
        small = [s for s in sizes if s["n"] <= 100]
        if small:
            limit = TARGETS["verify_over_kubectl_up_to_100"]
            out.append({"target": f"N ≤ 100: verify ≤ {limit}× kubectl get (median; -o json, and tables)",
                        "measured": ", ".join(f"N={s['n']}: {s['ratio_median']}×, table {s['table_ratio_median']}×"
                                              for s in small),
                        "met": all(max(s["ratio_median"], s["table_ratio_median"]) <= limit for s in small)})
        ten = next((s for s in sizes if s["n"] == 10), None)
        if ten:
            out.append({"target": f"N = 10 (10 namespaces): verify ≤ {TARGETS['verify_seconds_at_10']} s (median)",
                        "measured": f"{ten['verify']['median_s']:.3f} s",
                        "met": ten["verify"]["median_s"] <= TARGETS["verify_seconds_at_10"]})
        big = next((s for s in sizes if s["n"] == 5000), None)
        if big:
            out.append({"target": f"N=5000: verify ≤ {TARGETS['verify_over_kubectl_at_5000']}× kubectl get (median)",
                        "measured": f"{big['ratio_median']}×",
                        "met": big["ratio_median"] <= TARGETS["verify_over_kubectl_at_5000"]})
    if result.get("empty_cluster"):
        e = result["empty_cluster"]
        for key, label in (("all_namespaces", "empty cluster `kubectl jxsecret verify`"),
                           ("empty_namespace", f"`kubectl jxsecret verify -n {EMPTY_NS}`")):
            out.append({"target": f"{label} < {TARGETS['empty_verify_seconds']} s (median)",
                        "measured": f"{e[key]['median_s']:.3f} s",
                        "met": e[key]["median_s"] < TARGETS["empty_verify_seconds"]})
    return out


# ------------------------------------------------------------------------------------ main

def main(argv):
    global TESTBED_DIR
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="cumulative sizes (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per command (default: %(default)s)")
    parser.add_argument("--no-pause-controllers", dest="pause_controllers", action="store_false",
                        help="leave the bench testbed's ESO controller running while measuring (default: "
                             "SIGSTOP it, so that its own requests do not compete with verify's; see README)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="leave the bench testbed up (for profiling)")
    parser.add_argument("--testbed-dir", type=Path, default=TESTBED_DIR,
                        help="the bench's own testbed state directory (default: %(default)s)")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="also measure verify from the kubectl_jxsecret in DIR (PYTHONPATH), e.g. "
                             "`git archive HEAD kubectl_jxsecret | tar -x -C DIR`: before and after in one run")
    args = parser.parse_args(argv[1:])
    TESTBED_DIR = args.testbed_dir.resolve()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    assert all(s % 10 == 0 for s in sizes), "sizes must be multiples of 10 (half populated in each namespace)"

    result = {"benchmark": "verify-scaling", "started": datetime.datetime.now(datetime.timezone.utc).isoformat(),
              "machine": machine(), "runs": args.runs, "pause_controllers": args.pause_controllers,
              "sizes": [], "created": {}}
    log(f"installing this working tree in {INSTALL} (pip, not editable)")
    plugin_bin = regular_install()
    log(f"bringing up the bench testbed in {TESTBED_DIR}")
    controllers = None
    try:
        exports = testbed("up", attempts=2)  # a busy 2-core machine: up can time out
        env = child_env(exports, plugin_bin)
        audit = Audit(exports["JXSECRET_TESTBED_AUDIT_LOG"])
        controllers = Controllers(args.pause_controllers)
        kube = connect(exports["KUBECONFIG"])
        create_base(kube)

        controllers.pause()
        result["startup"] = measure_startup(env, max(args.runs, 5), plugin_bin)
        log("empty cluster")
        empty_all = measure(["kubectl", "jxsecret", "verify"], env, audit, args.runs, check_exit((0,)))
        empty_ns = measure(["kubectl", "jxsecret", "verify", "-n", EMPTY_NS], env, audit, args.runs, check_exit((0,)))
        result["empty_cluster"] = {
            "all_namespaces": summary(empty_all) | {"requests": request_summary(empty_all[-1], PLUGIN_UA)},
            "empty_namespace": summary(empty_ns) | {"requests": request_summary(empty_ns[-1], PLUGIN_UA)},
        }
        controllers.resume()

        have = 0
        for n in sizes:
            result["created"][n] = grow(kube, have, n)
            have = n
            time.sleep(2)  # let the controller's watch take in the burst before timing
            background = controller_rate(audit)
            log(f"measuring N={n} (the ESO controller makes {background:.0f} requests/s meanwhile"
                f"{', paused while measuring' if args.pause_controllers else ''})")
            controllers.pause()
            result["sizes"].append(measure_size(n, env, audit, args.runs, plugin_bin, args.baseline)
                                   | {"controller_requests_per_s": background})
            controllers.resume()
            s = result["sizes"][-1]
            log(f"N={n}: verify {s['verify']['median_s']:.2f}s, kubectl get {s['kubectl_get']['median_s']:.2f}s, "
                f"ratio {s['ratio_median']}, verify requests {s['requests']['verify']['total']}")
    finally:
        if controllers:
            controllers.resume()
        if args.keep:
            log(f"testbed kept: JXSECRET_TESTBED_DIR={TESTBED_DIR} {PY} {TESTBED} down")
        else:
            log("tearing down the bench testbed")
            testbed("down")

    result["targets"] = targets(result)
    result["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    log(f"wrote {args.out}")
    return 0 if all(t["met"] for t in result["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
