#!/usr/bin/env python3
"""Benchmark (not a test): the API requests `kubectl jxsecret wait` makes while one Secret is missing, and
how soon it exits once that Secret appears.

    .venv/bin/python bench/wait_requests.py                                 # a 5-minute window, N = 1000
    .venv/bin/python bench/wait_requests.py --seconds 30                    # a trial run
    .venv/bin/python bench/wait_requests.py --tree old=/tmp/old --tree new=.   # compare two source trees

On its own testbed (.testbed-bench-wait/, torn down at the end, also on failure): N ExternalSecrets of
store `bench` (controller class `bench`: ESO leaves them alone; bench/verify_scaling.py's objects) over
10 namespaces, each with its Secret but es-00000. Then, per source tree (a directory holding the
`kubectl_jxsecret` package; default: this checkout):

1. `python -m kubectl_jxsecret wait -A --poll 2s --timeout 1h` runs for --seconds. Its requests are those
   with our user agent in the apiserver's audit log from its start to the end of the window, one per
   audit ID, by verb (a watch counts once, when it is opened).
2. 10 s later (so that the change does not meet the watches being reopened, which the server asks for
   every 5 minutes, i.e. at the end of a 300 s window), the missing Secret is created; latency = from
   the create's audit stageTimestamp to wait's exit.
3. The Secret is deleted again for the next tree.

Results: bench/results/wait-requests.json (git-ignored), and a summary on stdout.
"""

import argparse
import datetime
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import verify_scaling as vs  # noqa: E402 - the bench objects, user agents and helpers
from testbed_run import testbed  # noqa: E402

STATE = vs.REPO / ".testbed-bench-wait"
RESULTS = HERE / "results" / "wait-requests.json"
MISSING = 0  # es-00000: the one ExternalSecret without its Secret
PAUSE = 10  # seconds between the end of the window and the Secret's creation


def stamp(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def audit_entries(path, start, end=None):
    with open(path, "rb") as f:
        f.seek(start)
        chunk = f.read() if end is None else f.read(end - start)
    for line in chunk.split(b"\n"):
        try:
            yield json.loads(line)
        except ValueError:
            continue  # empty, or cut at an offset


def requests_by_verb(path, start, end):
    """verb -> how many requests our user agent began between two offsets (one per audit ID)."""
    verbs = {e["auditID"]: e.get("verb", "") for e in audit_entries(path, start, end)
             if (e.get("userAgent") or "").startswith(vs.PLUGIN_UA)}
    return dict(Counter(verbs.values()))


def populate(kube, size):
    """N ExternalSecrets, each with its Secret but MISSING; returns (path, body) of the missing Secret."""
    vs.create_base(kube)
    missing = vs.objects(MISSING)[1]
    vs.populated = lambda i: i != MISSING  # verify_scaling's objects() then makes every other Secret
    vs.grow(kube, 0, size)
    return missing


def measure(tree, env, audit, kube, missing, seconds):
    path, body = missing
    start = Path(audit).stat().st_size
    process = subprocess.Popen([str(vs.PY), "-m", "kubectl_jxsecret", "wait", "-A", "--poll", "2s", "--timeout", "1h"],
                               cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(seconds)
        window_end = Path(audit).stat().st_size
        time.sleep(PAUSE)
        vs.post(kube, path, body)
        rc = process.wait(120)
        exited = time.time()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stdout, stderr = process.stdout.read(), process.stderr.read()
    assert rc == 0, f"wait exited {rc}: {stderr.strip()[-500:]}"
    time.sleep(0.5)  # the audit log is written asynchronously
    name = body["metadata"]["name"]
    created = next(stamp(e["stageTimestamp"]) for e in audit_entries(audit, window_end)
                   if e.get("stage") == "ResponseComplete" and e.get("verb") == "create"
                   and (e.get("objectRef") or {}).get("resource") == "secrets"
                   and (e.get("objectRef") or {}).get("name") in (name, None)
                   and e.get("userAgent") == vs.BENCH_UA)
    window = requests_by_verb(audit, start, window_end)
    kube.request("DELETE", f"{path}/{name}")
    result = {"tree": str(tree), "seconds": seconds, "requests": sum(window.values()), "by_verb": window,
              "requests_per_minute": round(sum(window.values()) * 60 / seconds, 1),
              "secret_to_exit_ms": round((exited - created) * 1000), "stderr": stderr.strip()[-500:],
              "stdout_tail": stdout.strip().splitlines()[-2:]}
    vs.log(f"{tree}: {result['requests']} requests in {seconds}s {window}; exited "
           f"{result['secret_to_exit_ms']} ms after the Secret was created")
    return result


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=300, help="the window to count requests over")
    parser.add_argument("--tree", action="append", default=[], metavar="LABEL=DIR",
                        help="a source tree to measure (repeatable; default: this checkout)")
    parser.add_argument("--keep", action="store_true", help="leave the testbed up")
    args = parser.parse_args(argv)
    trees = [tuple(t.split("=", 1)) for t in args.tree] or [("this checkout", str(vs.REPO))]
    exports = testbed("up", STATE)
    env = vs.child_env(exports)
    results = {"machine": vs.machine(), "size": args.size, "runs": {}}
    try:
        kube = vs.connect(exports["KUBECONFIG"])
        missing = populate(kube, args.size)
        for label, tree in trees:
            results["runs"][label] = measure(Path(tree).resolve(), env, exports["JXSECRET_TESTBED_AUDIT_LOG"], kube,
                                             missing, args.seconds)
    finally:
        if not args.keep:
            testbed("down", STATE)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
