#!/usr/bin/env python3
"""ESO STAND-IN: a small reconciler that plays the External Secrets Operator in the testbed.

This is NOT the External Secrets Operator. The testbed runs the real ESO controller; this stands in
for it only where asked (JXSECRET_TESTBED_ESO=standin: a machine that cannot build ESO or may not
unshare), and, with `--legacy-only`, for the legacy kubernetes-client.io controller in every testbed.
It follows ESO's documented contract for Vault/OpenBao stores, which is all the plugin relies on:

* target Secret named `spec.target.name` (default: the ExternalSecret's name), labelled
  `reconcile.external-secrets.io/managed=true`, owned by the ExternalSecret (creationPolicy Owner;
  Merge writes only into an existing Secret, else Ready/SecretMissing, as ESO does);
* `status.conditions[type=Ready]`: True/SecretSynced/"secret synced", or
  False/SecretSyncedError/"could not get secret data from provider"; the per-key cause goes to a
  Warning UpdateFailed Event on every attempt, success to a Normal Created/Updated Event;
* `status.refreshTime`, `status.binding.name`, `status.syncedResourceVersion` (ESO's own
  "<generation>-<SHA3-224 of labels and annotations>", so a changed `force-sync` annotation
  re-syncs); on failure refreshTime null, binding "" and no syncedResourceVersion, as ESO writes;
* the Secret's `created-by` label and `data-hash` annotation as SHA3-224, ESO's annotations copied;
* `spec.refreshInterval` (Go duration; "0s" = sync once), `data[]` and `dataFrom[].extract`;
* stores with a `spec.controller` class are left alone (no status), as another ESO instance owns them;
* store `provider.vault` and `provider.openBao`: KV v1/v2 path built as ESO's buildPath does,
  `property` selects a field, no property = the whole secret as JSON, token from `auth.tokenSecretRef`.
  Every in-cluster Vault address maps to the testbed's OpenBao (JXSECRET_STANDIN_VAULT_ADDR).

Texts, status shapes and hashes were compared with the real ESO v0.16.2 controller run against this
testbed (docs/testbed.md). It also syncs legacy kubernetes-client.io/v1 ExternalSecrets (KES): Secret named like the object,
`data[].name` keys, `status.status` "SUCCESS" or "ERROR, <message>".

One watch per API, a work queue, and a timer for refresh intervals; no polling LISTs, so it stays
quiet in the API audit log that tests and benchmarks read. GET /healthz on the loopback port written to
JXSECRET_STANDIN_READY_FILE answers 200 while every watch is connected, 503 otherwise (hack/testbed status).
"""

import base64
import datetime
import hashlib
import http.server
import json
import os
import queue
import re
import sys
import threading
import time
from pathlib import Path

import hvac
import hvac.exceptions
import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

ESO = ("external-secrets.io", "v1", "externalsecrets")
KES = ("kubernetes-client.io", "v1", "externalsecrets")
VAULT_ADDR = os.environ["JXSECRET_STANDIN_VAULT_ADDR"]
USER_AGENT = "eso-standin"
# ESO requeues failures with exponential backoff; ours starts at 3 s and stops doubling at 30 s,
# so a value written to OpenBao shows up within seconds in tests, and thousands of failing
# ExternalSecrets (benchmarks) do not turn into a storm of store and Vault reads.
ERROR_RETRY_FIRST, ERROR_RETRY_MAX = 3.0, 30.0


class SyncError(Exception):
    """A per-ExternalSecret failure: reported in status and an Event, never fatal."""


class NotOurs(Exception):
    """The store names another controller class (spec.controller): ESO leaves such objects alone."""


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(text, default=3600.0):
    """Go time.Duration text ("1h0m0s", "15s", "0s") to seconds."""
    if not text:
        return default
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    return sum(float(n) * units[u] for n, u in parts)


def sha3(text):
    return hashlib.sha3_224(text.encode()).hexdigest()


def go_map(d):
    """Go's %+v of a map[string]string: `map[k1:v1 k2:v2]`, keys sorted."""
    return "map[" + " ".join(f"{k}:{v}" for k, v in sorted((d or {}).items())) + "]"


def synced_resource_version(meta):
    """ESO's getResourceVersion, to the byte: generation, then SHA3-224 of the %+v of
    {annotations, labels}. A changed force-sync annotation therefore changes it."""
    blob = f"{{annotations:{go_map(meta.get('annotations'))} labels:{go_map(meta.get('labels'))}}}"
    return f"{meta.get('generation', 0)}-{sha3(blob)}"


class Reconciler:
    def __init__(self):
        api_client = config.new_client_from_config(config_file=os.environ["KUBECONFIG"], persist_config=False)
        api_client.user_agent = USER_AGENT
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)
        self.queue = queue.Queue()
        self.pending = set()  # keys in the queue: the refresh timer must not pile up duplicates
        self.cache = {}  # (api, ns, name) -> object, kept current by the watches
        self.failed_at = {}  # key -> (time of the last failed sync, delay before the next, syncedResourceVersion)
        self.not_ours = {}  # key -> syncedResourceVersion seen when its store named another controller
        self.watching = {}  # api -> True while its watch is connected (health)
        self.lock = threading.Lock()

    # ------------------------------------------------------------ watches and queue

    def watch_forever(self, api):
        group, version, plural = api
        while True:
            try:
                listing = self.custom.list_cluster_custom_object(group, version, plural)
                seen = set()
                for obj in listing["items"]:
                    key = self.remember(api, obj)
                    seen.add(key)
                    self.enqueue(key)
                with self.lock:
                    for key in [k for k in self.cache if k[0] == api and k not in seen]:
                        del self.cache[key]
                self.watching[api] = True
                stream = watch.Watch().stream(self.custom.list_cluster_custom_object, group, version, plural,
                                              resource_version=listing["metadata"]["resourceVersion"],
                                              timeout_seconds=300)
                for event in stream:
                    obj = event["object"]
                    if event["type"] == "DELETED":
                        with self.lock:
                            self.cache.pop(self.key(api, obj), None)
                    elif event["type"] in ("ADDED", "MODIFIED"):
                        self.enqueue(self.remember(api, obj))
            except (ApiException, urllib3.exceptions.HTTPError, OSError) as e:
                self.watching[api] = False
                if getattr(e, "status", None) == 404:  # API not installed: nothing to reconcile
                    time.sleep(5)
                    continue
                print(f"eso-standin: watch {plural}.{group}: {e}", file=sys.stderr, flush=True)
                time.sleep(1)

    @staticmethod
    def key(api, obj):
        return (api, obj["metadata"]["namespace"], obj["metadata"]["name"])

    def remember(self, api, obj):
        key = self.key(api, obj)
        with self.lock:
            self.cache[key] = obj
        return key

    def enqueue(self, key):
        with self.lock:
            if key in self.pending:
                return
            self.pending.add(key)
        self.queue.put(key)

    def refresh_timer(self):
        """Queue every ExternalSecret whose refresh interval has passed."""
        while True:
            time.sleep(1)
            with self.lock:
                keys = list(self.cache)
            for key in keys:
                self.enqueue(key)

    def work(self):
        while True:
            key = self.queue.get()
            with self.lock:
                self.pending.discard(key)
                obj = self.cache.get(key)
            if obj is None:
                continue
            try:
                if key[0] == ESO:
                    self.reconcile_eso(key, obj)
                else:
                    self.reconcile_kes(key, obj)
            except ApiException as e:
                if e.status not in (404, 409):  # deleted meanwhile / stale object: the watch brings news
                    print(f"eso-standin: {key[1]}/{key[2]}: {e.status} {e.reason}", file=sys.stderr, flush=True)
            except Exception as e:  # keep serving the others; the log says what broke
                print(f"eso-standin: {key[1]}/{key[2]}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------ ESO

    def due(self, key, obj, version_key):
        failed = self.failed_at.get(key)
        if failed and failed[2] == version_key:  # failing, and nothing changed since: back off
            return time.monotonic() - failed[0] >= failed[1]
        status = obj.get("status") or {}
        if status.get("syncedResourceVersion") != version_key:
            return True  # new spec, labels or annotations (force-sync)
        if not status.get("refreshTime"):
            return True
        interval = parse_duration((obj.get("spec") or {}).get("refreshInterval"))
        if interval == 0:
            return False  # "0s": sync once
        last = datetime.datetime.strptime(status["refreshTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
        return (now() - last).total_seconds() >= interval

    @staticmethod
    def ready_condition(status):
        return next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)

    def reconcile_eso(self, key, obj):
        meta, spec = obj["metadata"], obj.get("spec") or {}
        version_key = synced_resource_version(meta)
        if self.not_ours.get(key) == version_key or not self.due(key, obj, version_key):
            return
        ns, name = meta["namespace"], meta["name"]
        target = (spec.get("target") or {}).get("name") or name
        try:
            values = self.fetch_eso(ns, spec)
        except NotOurs:
            self.not_ours[key] = version_key  # until its spec, labels or annotations change
            return
        except SyncError as e:
            self.back_off(key, version_key)
            self.event(obj, "Warning", "UpdateFailed", str(e))  # ESO: one per attempt
            self.patch_status(key, obj, version_key, ready=False, message="could not get secret data from provider")
            return
        created = self.write_secret(obj, ns, target, values, spec.get("target") or {})
        self.failed_at.pop(key, None)
        if created is None:  # ESO: Merge into a Secret nobody created is not an error, nor a sync
            self.patch_status(key, obj, version_key, ready=True, reason="SecretMissing",
                              message="secret will not be created due to CreationPolicy=Merge", binding=target)
            return
        self.event(obj, "Normal", "Created" if created else "Updated", f"secret {'created' if created else 'updated'}")
        self.patch_status(key, obj, version_key, ready=True, message="secret synced", binding=target)

    def back_off(self, key, version_key):
        """Next try after 3 s, doubling to 30 s, while nothing about the object changes."""
        delay = (self.failed_at.get(key) or (0, ERROR_RETRY_FIRST / 2, None))[1]
        self.failed_at[key] = (time.monotonic(), min(delay * 2, ERROR_RETRY_MAX), version_key)

    def fetch_eso(self, ns, spec):
        store_ref = spec.get("secretStoreRef") or {}
        store = self.store(ns, store_ref.get("kind", "SecretStore"), store_ref.get("name", ""))
        values = {}
        for i, entry in enumerate(spec.get("data") or []):
            ref = entry.get("remoteRef") or {}
            secret = self.read_kv(store, ns, ref.get("key", ""), f"spec.data[{i}]")
            prop = ref.get("property")
            if prop:
                if prop not in secret:
                    raise SyncError(f"error processing spec.data[{i}] (key: {ref.get('key')}), "
                                    f'err: cannot find secret data for key: "{prop}"')
                value = secret[prop]
            else:
                value = json.dumps(secret)
            values[entry["secretKey"]] = value if isinstance(value, str) else json.dumps(value)
        for i, entry in enumerate(spec.get("dataFrom") or []):
            extract = entry.get("extract")
            if not extract:
                raise SyncError(f"error processing spec.dataFrom[{i}]: only extract is supported by the stand-in")
            secret = self.read_kv(store, ns, extract.get("key", ""), f"spec.dataFrom[{i}]")
            values.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in secret.items()})
        return values

    def store(self, ns, kind, name):
        try:
            if kind == "ClusterSecretStore":
                obj = self.custom.get_cluster_custom_object("external-secrets.io", "v1", "clustersecretstores", name)
            else:
                obj = self.custom.get_namespaced_custom_object("external-secrets.io", "v1", ns, "secretstores", name)
        except ApiException as e:
            if e.status == 404:
                raise SyncError(f'could not get store: {kind} "{name}" not found') from e
            raise
        if (obj.get("spec") or {}).get("controller"):
            raise NotOurs()  # ESO's controller class: another ESO instance owns this store
        provider = (obj.get("spec") or {}).get("provider") or {}
        vault = provider.get("vault") or provider.get("openBao")
        if vault is None:
            raise SyncError(f"{kind} {name}: the stand-in only serves vault and openBao providers")
        token_ref = ((vault.get("auth") or {}).get("tokenSecretRef")) or {}
        token_ns = token_ref.get("namespace") if kind == "ClusterSecretStore" else ns
        try:
            token_secret = self.core.read_namespaced_secret(token_ref.get("name", ""), token_ns or ns)
            token = base64.b64decode(token_secret.data[token_ref.get("key", "token")]).decode()
        except (ApiException, KeyError, TypeError) as e:
            raise SyncError(f"{kind} {name}: cannot read auth.tokenSecretRef") from e
        return {"path": vault.get("path"), "version": vault.get("version", "v2"), "token": token}

    @staticmethod
    def read_kv(store, ns, key, where):
        mount, path = store["path"], key.strip("/")
        if mount:
            path = path.removeprefix(mount + "/")
            if store["version"] == "v2":
                path = path.removeprefix("data/")
        else:  # ESO: without a store path the key's first segment is the mount
            mount, _, path = path.partition("/")
            if store["version"] == "v2":
                path = path.removeprefix("data/")
        vault = hvac.Client(url=VAULT_ADDR, token=store["token"])
        try:
            if store["version"] == "v1":
                return vault.secrets.kv.v1.read_secret(path, mount_point=mount)["data"]
            return vault.secrets.kv.v2.read_secret_version(path, mount_point=mount,
                                                           raise_on_deleted_version=True)["data"]["data"]
        except hvac.exceptions.InvalidPath as e:
            raise SyncError(f"error processing {where} (key: {key}), err: Secret does not exist") from e
        except hvac.exceptions.VaultError as e:
            raise SyncError(f"error processing {where} (key: {key}), err: {type(e).__name__}") from e

    def write_secret(self, owner, ns, name, values, target):
        """True when created, False when replaced, None when creationPolicy Merge finds no Secret."""
        data = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
        body = {
            "apiVersion": "v1", "kind": "Secret", "type": (target.get("template") or {}).get("type", "Opaque"),
            "metadata": {
                "name": name, "namespace": ns,
                "labels": {"reconcile.external-secrets.io/managed": "true",
                           "reconcile.external-secrets.io/created-by":
                               sha3(f"{owner['metadata']['namespace']}/{owner['metadata']['name']}")},
                # ESO copies the ExternalSecret's annotations (Jenkins X's schema annotation among them).
                "annotations": {**(owner["metadata"].get("annotations") or {}),
                                "reconcile.external-secrets.io/data-hash": sha3(json.dumps(data, sort_keys=True))},
            },
            "data": data,
        }
        if target.get("creationPolicy", "Owner") == "Owner":
            body["metadata"]["ownerReferences"] = [{
                "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
        try:
            self.core.replace_namespaced_secret(name, ns, body)
            return False
        except ApiException as e:
            if e.status != 404:
                raise
            if target.get("creationPolicy") == "Merge":
                return None
            self.core.create_namespaced_secret(ns, body)
            return True

    def patch_status(self, key, obj, version_key, ready, message, binding=None, reason=None):
        meta = obj["metadata"]
        previous = self.ready_condition(obj.get("status") or {}) or {}
        status_word = "True" if ready else "False"
        condition = {"type": "Ready", "status": status_word,
                     "reason": reason or ("SecretSynced" if ready else "SecretSyncedError"), "message": message,
                     "lastTransitionTime": previous.get("lastTransitionTime") if previous.get("status") == status_word
                     else rfc3339(now())}
        if ready:
            status = {"conditions": [condition], "syncedResourceVersion": version_key,
                      "refreshTime": rfc3339(now()), "binding": {"name": binding}}
        else:  # what ESO v0.16.2 writes on failure (merge patch: None removes the field)
            status = {"conditions": [condition], "syncedResourceVersion": None, "refreshTime": None,
                      "binding": {"name": ""}}
        updated = self.custom.patch_namespaced_custom_object_status(
            *ESO[:2], meta["namespace"], ESO[2], meta["name"], {"status": status})
        self.remember(key[0], updated)  # so the refresh timer does not act on the stale copy

    def event(self, obj, kind, reason, message):
        meta = obj["metadata"]
        stamp = rfc3339(now())
        self.core.create_namespaced_event(meta["namespace"], {
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta["uid"]},
            "type": kind, "reason": reason, "message": message, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "count": 1, "source": {"component": "external-secrets (testbed stand-in)"}})

    # ------------------------------------------------------------ legacy KES

    def reconcile_kes(self, key, obj):
        meta, spec = obj["metadata"], obj.get("spec") or {}
        status = obj.get("status") or {}
        if status.get("observedGeneration") == meta.get("generation"):
            failed = self.failed_at.get(key)
            if status.get("status") == "SUCCESS" or (failed and time.monotonic() - failed[0] < failed[1]):
                return
        token = base64.b64decode(self.core.read_namespaced_secret("vault-unseal-keys", "jx-vault")
                                 .data["vault-root"]).decode()
        store = {"path": None, "version": "v2", "token": token}
        values = {}
        try:
            for i, entry in enumerate(spec.get("data") or []):
                secret = self.read_kv(store, meta["namespace"], entry.get("key", ""), f"data[{i}]")
                prop = entry.get("property")
                if prop and prop not in secret:
                    raise SyncError(f"key {entry.get('key')} has no property {prop}")
                values[entry["name"]] = secret[prop] if prop else json.dumps(secret)
        except SyncError as e:
            self.back_off(key, None)
            new_status = {"status": f"ERROR, {e}", "observedGeneration": meta.get("generation"),
                          "lastSync": rfc3339(now())}
        else:
            self.write_secret(obj, meta["namespace"], meta["name"], values, {})
            self.failed_at.pop(key, None)
            new_status = {"status": "SUCCESS", "observedGeneration": meta.get("generation"),
                          "lastSync": rfc3339(now())}
        if {k: status.get(k) for k in ("status", "observedGeneration")} != \
                {k: new_status[k] for k in ("status", "observedGeneration")}:
            self.custom.patch_namespaced_custom_object_status(
                *KES[:2], meta["namespace"], KES[2], meta["name"], {"status": new_status})


def health_handler(healthy):
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path == "/healthz" and healthy()
            self.send_response(200 if ok else 503)
            self.end_headers()
            self.wfile.write(b"ok\n" if ok else b"not watching\n")

        def log_message(self, *args):  # the log is for reconciling
            pass

    return Health


def main(argv):
    """`--legacy-only`: sync only kubernetes-client.io ExternalSecrets, beside the real ESO controller."""
    reconciler = Reconciler()
    apis = [KES] if argv[1:] == ["--legacy-only"] else [ESO, KES]
    for target in [*(lambda api=api: reconciler.watch_forever(api) for api in apis),
                   reconciler.refresh_timer, reconciler.work]:
        threading.Thread(target=target, daemon=True).start()
    health = http.server.ThreadingHTTPServer(("127.0.0.1", 0), health_handler(lambda: len(apis) == sum(
        reconciler.watching.get(api, False) for api in apis)))
    threading.Thread(target=health.serve_forever, daemon=True).start()
    Path(os.environ["JXSECRET_STANDIN_READY_FILE"]).write_text(str(health.server_address[1]))
    print(f"eso-standin: watching {', '.join(f'{p}.{g}' for g, _, p in apis)}", file=sys.stderr, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main(sys.argv)
