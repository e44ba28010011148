#!/usr/bin/env python3
"""Benchmark (not a test): `kubectl jxsecret ui` live latency, memory at scale, idle API requests.

    .venv/bin/python bench/ui.py                      # everything, a few minutes
    .venv/bin/python bench/ui.py --size 1000 --idle 60

On its own testbed in .testbed-uibench/ (torn down at the end, also on failure):

1. latency: ExternalSecrets (ClusterSecretStore vault, the real ESO) that fail, shown in headless
   Chromium; per round a value is written to OpenBao and a force-sync requested; the page records
   (MutationObserver, Date.now()) when the row turns Populated. ESO's sync is the later of its Secret
   write and its Ready status write, from the apiserver audit log (microsecond stageTimestamp).
2. memory: `--size` ExternalSecrets of store `bench` (controller class `bench`: ESO leaves them alone,
   bench/verify_scaling.py's objects, half with their Secret); the ui's VmRSS once every row is
   loaded, then with a page open on them (VmHWM is the peak).
3. idle requests: with a page open and nothing changing, the API requests the ui makes per minute over
   `--idle` seconds (audit log, our user agent, one per audit ID begun in the window).

Results: bench/results/ui.json (git-ignored), and a summary on stdout.
"""

import argparse
import datetime
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import verify_scaling as vs  # noqa: E402 - the bench objects and testbed helpers

vs.TESTBED_DIR = vs.REPO / ".testbed-uibench"
RESULTS = HERE / "results" / "ui.json"
LATENCY_NS = "ui-latency"
ESO_UA = "eso/"


def stamp(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


STARTED = []  # ui processes this bench started: stopped at the end whatever happens


def start_ui(env, *args):
    process = subprocess.Popen(["kubectl", "jxsecret", "ui", "--no-browser", *args], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    STARTED.append(process)
    banner = "".join(process.stdout.readline() for _ in range(3))
    url = re.search(r"http://\S+", banner).group(0)
    return process, url


def rss(pid):
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {k: int(fields[k].split()[0]) // 1024 for k in ("VmRSS", "VmHWM")}  # MiB


def audit_events(path, start):
    with open(path, "rb") as f:
        f.seek(start)
        return [json.loads(line) for line in f if line.strip()]


def eso_synced_at(events, ns, name):
    """When ESO finished syncing `name`: its first status write after its Secret write."""
    secret = [e for e in events if e["userAgent"].startswith(ESO_UA) and e["stage"] == "ResponseComplete"
              and e["objectRef"].get("resource") == "secrets" and e["objectRef"].get("name") in (name, None)
              and e["objectRef"].get("namespace") == ns and e["verb"] in ("create", "update", "patch")]
    status = [e for e in events if e["userAgent"].startswith(ESO_UA) and e["stage"] == "ResponseComplete"
              and e["objectRef"].get("resource") == "externalsecrets" and e["objectRef"].get("name") == name
              and e["objectRef"].get("subresource") == "status"]
    # ESO may write the status again after the sync (a patch): the first status write after the Secret's counts.
    written = stamp(secret[0]["stageTimestamp"])  # the first: ESO may have retried on its own before the force-sync
    return min(t for t in (stamp(e["stageTimestamp"]) for e in status) if t >= written)


def latency(exports, env, browser, rounds):
    import hvac

    vault = hvac.Client(url=exports["VAULT_ADDR"], token=exports["VAULT_TOKEN"])
    kube = vs.connect(exports["KUBECONFIG"])
    vs.post(kube, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": LATENCY_NS}})
    for i in range(rounds):
        vs.post(kube, f"/apis/external-secrets.io/v1/namespaces/{LATENCY_NS}/externalsecrets", {
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": f"lat-{i}", "namespace": LATENCY_NS},
            "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"}, "refreshInterval": "1h",
                     "data": [{"secretKey": "token", "remoteRef": {"key": f"bench/lat-{i}", "property": "token"}}]}})
    process, url = start_ui(env, "-n", LATENCY_NS)
    page = browser.new_page()
    page.goto(url)
    for i in range(rounds):
        page.wait_for_selector(f'tr.row[data-name="lat-{i}"][data-state="SyncError"]', timeout=60000)
    results = []
    for i in range(rounds):
        page.evaluate("""name => { window.turned = null; new MutationObserver((_, obs) => {
            const row = document.querySelector(`tr.row[data-name="${name}"]`);
            if (row && row.dataset.state === "Populated") { window.turned = Date.now() / 1000; obs.disconnect(); }
          }).observe(document.getElementById("body"), {childList: true, subtree: true, attributes: true}); }""",
                      f"lat-{i}")
        mark = Path(exports["JXSECRET_TESTBED_AUDIT_LOG"]).stat().st_size
        vault.secrets.kv.v2.create_or_update_secret(f"bench/lat-{i}", secret={"token": "fake-bench"},
                                                    mount_point="secret")
        subprocess.run(["kubectl", "jxsecret", "refresh", "-n", LATENCY_NS, "-f", f"lat-{i}", "--no-wait"], env=env,
                       check=True, capture_output=True)
        deadline = time.monotonic() + 60
        while page.evaluate("() => window.turned") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        turned = page.evaluate("() => window.turned")
        time.sleep(0.5)  # the audit log is written asynchronously
        synced = eso_synced_at(audit_events(exports["JXSECRET_TESTBED_AUDIT_LOG"], mark), LATENCY_NS, f"lat-{i}")
        results.append(round((turned - synced) * 1000, 1))
        vs.log(f"latency round {i}: {results[-1]} ms from ESO's sync to the row turning green")
    page.close()
    process.terminate()
    process.wait(15)
    return {"rounds_ms": results, "median_ms": statistics.median(results), "max_ms": max(results)}


def memory_and_idle(exports, env, browser, size, idle):
    kube = vs.connect(exports["KUBECONFIG"])
    vs.create_base(kube)
    vs.grow(kube, 0, size)
    t0 = time.perf_counter()
    process, url = start_ui(env)
    page = browser.new_page()
    page.goto(url)
    # Polled from here: the page's CSP (script-src 'self') forbids the eval wait_for_function uses.
    while page.evaluate("() => document.querySelectorAll('tr.row').length") < size:
        time.sleep(0.2)
    loaded = time.perf_counter() - t0
    with_page = rss(process.pid)
    vs.log(f"{size} rows in the page after {loaded:.1f}s; ui RSS {with_page['VmRSS']} MiB (peak {with_page['VmHWM']})")
    audit = exports["JXSECRET_TESTBED_AUDIT_LOG"]
    time.sleep(5)
    mark = Path(audit).stat().st_size
    time.sleep(idle)
    # Requests made in the window: a watch that began before it and ends inside it (ResponseComplete) is not one.
    events = [e for e in audit_events(audit, mark) if e["userAgent"].startswith(vs.PLUGIN_UA)
              and not (e["verb"] == "watch" and e["stage"] == "ResponseComplete")]
    requests = sorted({e["auditID"]: (e["verb"], e["requestURI"].split("?")[0]) for e in events}.values())
    vs.log(f"idle {idle}s: {len(requests)} API requests by the ui: {requests}")
    page.close()
    process.terminate()
    process.wait(15)
    return {"size": size, "page_loaded_seconds": round(loaded, 1), "rss_mib": with_page["VmRSS"],
            "peak_rss_mib": with_page["VmHWM"], "idle_seconds": idle, "idle_requests": len(requests),
            "idle_requests_per_minute": round(len(requests) * 60 / idle, 2), "idle_request_list": requests}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle", type=int, default=120, help="seconds of idle to count requests over")
    parser.add_argument("--keep", action="store_true", help="leave the testbed up")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    exports = vs.testbed("up", attempts=2)
    env = vs.child_env(exports)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            result = {"machine": vs.machine(), "latency": latency(exports, env, browser, args.rounds),
                      "scale": memory_and_idle(exports, env, browser, args.size, args.idle)}
            browser.close()
    finally:
        for process in STARTED:
            if process.poll() is None:
                process.kill()
                process.wait()
        if not args.keep:
            vs.testbed("down")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
