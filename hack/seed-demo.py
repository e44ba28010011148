#!/usr/bin/env python3
"""Seed the testbed with a realistic Jenkins X 3 secret set (hack/manifests/demo*.yaml).

Puts the demo values into OpenBao (KV v2 `secret/`), applies the ExternalSecrets, and waits until
the controllers (ESO, and the legacy stand-in for kubernetes-client.io) have reported on every one of
them, so what follows (verify) sees a settled cluster.
Reads KUBECONFIG and VAULT_ADDR/VAULT_TOKEN from the environment (`eval "$(hack/testbed env)"`).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import hvac
import yaml

MANIFESTS = Path(__file__).resolve().parent / "manifests"


def kubectl(*args, input=None):
    return subprocess.run(["kubectl", *args], input=input, capture_output=True, text=True, check=True).stdout


def main():
    vault = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"])
    values = yaml.safe_load((MANIFESTS / "demo-values.yaml").read_text())
    for path, data in values.items():
        vault.secrets.kv.v2.create_or_update_secret(path, secret=data, mount_point="secret")
    kubectl("apply", "-f", str(MANIFESTS / "demo.yaml"))
    expected = sum(1 for d in yaml.safe_load_all((MANIFESTS / "demo.yaml").read_text()) if d)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reported = 0
        for resource in ("externalsecrets.external-secrets.io", "externalsecrets.kubernetes-client.io"):
            for item in json.loads(kubectl("get", resource, "-A", "-o", "json"))["items"]:
                status = item.get("status") or {}
                reported += bool(status.get("conditions") or status.get("status"))
        if reported >= expected:
            print(f"seed-demo: {len(values)} OpenBao paths, {expected} ExternalSecrets synced or failed", file=sys.stderr)
            return 0
        time.sleep(0.5)
    print(f"seed-demo: only {reported} of {expected} ExternalSecrets got a status within 60s "
          "(see the controllers' logs in .testbed/logs/)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
