"""convert and new against the real testbed: what they write applies cleanly, validates against the ESO CRD the
cluster serves, and the ExternalSecret syncs once the store holds the values (--populate, or populate).

A canary value sits in every Secret file: it must reach OpenBao and the synced Secret, and never any output."""

import base64
import json
import secrets

import hvac.exceptions
import pytest
import yaml

pytestmark = pytest.mark.integration

SERVER = 'validated by a server-side dry run (context "testbed")\n'


@pytest.fixture
def canary():
    return f"canary-{secrets.token_hex(8)}"


def secret_file(ns, name, values, type_="Opaque", labels=None, with_namespace=True):
    """A Secret manifest as helm template or kubectl get leave it: data base64, a server field or two."""
    meta = {"name": name, "uid": "5a1c", "resourceVersion": "7"}
    if with_namespace:
        meta["namespace"] = ns
    if labels:
        meta["labels"] = labels
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": type_,
                           "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}})


def stored(testbed, path):
    try:
        return testbed.vault().secrets.kv.v2.read_secret_version(path, mount_point="secret",
                                                                 raise_on_deleted_version=True)["data"]["data"]
    except hvac.exceptions.InvalidPath:
        return None


def synced(testbed, ns, name):
    secret = testbed.get("secret", name, "-n", ns)
    return secret.get("type"), {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def never_shows(result, *values):
    for value in values:
        assert value not in result.stdout + result.stderr, "a value was printed"


def convert(testbed, *args):
    return testbed.jxsecret("convert", "--store", "ClusterSecretStore/vault", *map(str, args))


@pytest.mark.real_eso
def test_printed_output_applies_cleanly_and_syncs_once_populate_fills_the_store(testbed, namespace, tmp_path, canary):
    ns = namespace
    (tmp_path / "docker.yaml").write_text(secret_file(ns, "knative-docker-user-pass",
                                                      {"username": "bot", "password": canary}))
    result = convert(testbed, tmp_path / "docker.yaml", "--key-prefix", f"tests/{ns}")
    assert (result.returncode, result.stderr) == (0, SERVER)
    never_shows(result, canary)
    [manifest] = yaml.safe_load_all(result.stdout)
    assert [d["remoteRef"] for d in manifest["spec"]["data"]] == [
        {"key": f"tests/{ns}/knative/docker/user/pass", "property": "password"},
        {"key": f"tests/{ns}/knative/docker/user/pass", "property": "username"}]
    applied = testbed.kubectl("apply", "-f", "-", input=result.stdout, check=False)
    assert (applied.returncode, applied.stdout) == (
        0, "externalsecret.external-secrets.io/knative-docker-user-pass created\n")
    testbed.wait_until(lambda: testbed.ready(ns, "knative-docker-user-pass") == "False")

    # Merged through GitOps; now the store gets the values the file held, and ESO syncs the one applied.
    filled = convert(testbed, tmp_path / "docker.yaml", "--key-prefix", f"tests/{ns}", "--populate", "--timeout", "60s")
    assert filled.returncode == 0, filled.stderr
    assert filled.stdout == result.stdout  # the manifests again; the report went to stderr
    assert filled.stderr.splitlines() == [
        SERVER.strip(),
        f"wrote: ClusterSecretStore/vault tests/{ns}/knative/docker/user/pass: password (new), username (new)",
        "force-sync requested for 1 ExternalSecret; waiting for ESO to sync",
        f"{ns}/knative-docker-user-pass: synced",
        f"populated: {ns}/knative-docker-user-pass"]
    never_shows(filled, canary)
    assert stored(testbed, f"tests/{ns}/knative/docker/user/pass") == {"username": "bot", "password": canary}

    verify = testbed.jxsecret("verify", "-n", ns, "-o", "json")
    assert [(v["name"], v["state"]) for v in yaml.safe_load(verify.stdout)] == [
        ("knative-docker-user-pass", "Populated")]
    assert synced(testbed, ns, "knative-docker-user-pass") == ("Opaque", {"username": "bot", "password": canary})


@pytest.mark.real_eso
def test_populate_and_apply_in_one_go_keep_type_and_labels_and_sync(testbed, namespace, tmp_path, canary):
    ns = namespace
    (tmp_path / "a.yaml").write_text(secret_file(ns, "lighthouse-oauth-token", {"oauth": canary, "token": "t"},
                                                 labels={"app": "lighthouse"}, with_namespace=False)
                                     + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: skipped}\n")
    (tmp_path / "b.yaml").write_text(secret_file(ns, "registry", {".dockerconfigjson": '{"auths":{}}'},
                                                 type_="kubernetes.io/dockerconfigjson"))
    result = convert(testbed, tmp_path, "-n", ns, "--key-prefix", f"tests/{ns}", "--populate", "--apply",
                     "--timeout", "60s")
    assert result.returncode == 0, result.stderr
    assert result.stderr == SERVER
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        f"wrote: ClusterSecretStore/vault tests/{ns}/lighthouse/oauth: token (new)",
        f"wrote: ClusterSecretStore/vault tests/{ns}/lighthouse/oauth/token: oauth (new)",
        f"wrote: ClusterSecretStore/vault tests/{ns}/registry: .dockerconfigjson (new)",
        f"externalsecret.external-secrets.io/lighthouse-oauth-token created (namespace {ns})",
        f"externalsecret.external-secrets.io/registry created (namespace {ns})"]
    assert lines[5] == "force-sync requested for 2 ExternalSecrets; waiting for ESO to sync"
    assert sorted(lines[6:8]) == [f"{ns}/lighthouse-oauth-token: synced", f"{ns}/registry: synced"]
    assert lines[8:] == [f"populated: {ns}/lighthouse-oauth-token, {ns}/registry"]
    never_shows(result, canary)
    assert synced(testbed, ns, "lighthouse-oauth-token") == ("Opaque", {"oauth": canary, "token": "t"})
    assert synced(testbed, ns, "registry") == ("kubernetes.io/dockerconfigjson", {".dockerconfigjson": '{"auths":{}}'})
    assert testbed.get("secret", "lighthouse-oauth-token", "-n", ns)["metadata"]["labels"]["app"] == "lighthouse"

    # Again: nothing changes in the store, and the ExternalSecrets are updated in place.
    again = convert(testbed, tmp_path, "-n", ns, "--key-prefix", f"tests/{ns}", "--populate", "--apply")
    assert (again.returncode, again.stderr) == (0, SERVER)
    assert again.stdout.splitlines() == [
        f"unchanged: ClusterSecretStore/vault tests/{ns}/lighthouse/oauth: token",
        f"unchanged: ClusterSecretStore/vault tests/{ns}/lighthouse/oauth/token: oauth",
        f"unchanged: ClusterSecretStore/vault tests/{ns}/registry: .dockerconfigjson",
        f"externalsecret.external-secrets.io/lighthouse-oauth-token configured (namespace {ns})",
        f"externalsecret.external-secrets.io/registry configured (namespace {ns})"]


def test_config_root_files_hold_no_values_and_apply_cleanly(testbed, namespace, tmp_path, canary):
    ns = namespace
    source = tmp_path / "src" / "namespaces" / ns / "lighthouse"
    source.mkdir(parents=True)
    (source / "lighthouse-hmac-token-secret.yaml").write_text(secret_file(ns, "lighthouse-hmac-token",
                                                                          {"hmac": canary}))
    root = tmp_path / "config-root"
    result = convert(testbed, tmp_path / "src", "--config-root", root)
    written = root / "namespaces" / ns / "lighthouse" / "lighthouse-hmac-token-externalsecret.yaml"
    assert (result.returncode, result.stdout, result.stderr) == (0, "", f"{SERVER}wrote {written}\n")
    assert canary not in written.read_text()
    applied = testbed.kubectl("apply", "-f", str(root), "--recursive", check=False)
    assert (applied.returncode, applied.stdout) == (0, "externalsecret.external-secrets.io/lighthouse-hmac-token "
                                                       "created\n")
    # Not overwritten a second time, and found before any value is written.
    again = convert(testbed, tmp_path / "src", "--config-root", root, "--populate", "--key-prefix", f"tests/{ns}")
    assert (again.returncode, again.stderr) == (1, f"{SERVER}error: {written} exists: not overwritten; "
                                                   "nothing written\n")
    assert stored(testbed, f"tests/{ns}/lighthouse/hmac/token") is None


def test_a_malformed_file_stops_everything_before_the_first_write(testbed, namespace, tmp_path, canary):
    ns = namespace
    (tmp_path / "a-good.yaml").write_text(secret_file(ns, "good", {"k": canary}))
    (tmp_path / "b-bad.yaml").write_text(f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad\n  namespace: {ns}\n"
                                         f"data:\n  k: {canary}!\n")
    result = convert(testbed, tmp_path, "--key-prefix", f"tests/{ns}", "--populate", "--apply")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"error: {tmp_path}/b-bad.yaml, line 7: data.k is not base64 (plain text goes under "
                             "stringData)\n")
    assert stored(testbed, f"tests/{ns}/good") is None
    assert testbed.kubectl("get", "externalsecrets", "-n", ns, "-o", "name").stdout == ""


def test_the_cluster_refuses_what_the_built_in_rules_cannot_know(testbed, tmp_path):
    missing = f"nowhere-{secrets.token_hex(4)}"
    (tmp_path / "s.yaml").write_text(secret_file(missing, "app", {"k": "v"}))
    result = convert(testbed, tmp_path / "s.yaml")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f'error: externalsecret {missing}/app: namespaces "{missing}" not found '
                             f"(from {tmp_path}/s.yaml, line 1)\n")
    local = convert(testbed, tmp_path / "s.yaml", "--validate", "local")
    assert (local.returncode, local.stderr) == (0, "validated by the built-in rules\n")


def test_populate_dry_run_writes_nothing(testbed, namespace, tmp_path, canary):
    ns = namespace
    (tmp_path / "s.yaml").write_text(secret_file(ns, "app", {"k": canary}))
    mark = testbed.audit_mark()
    result = convert(testbed, tmp_path / "s.yaml", "--key-prefix", f"tests/{ns}", "--populate", "--dry-run", "--apply")
    assert (result.returncode, result.stdout) == (0, f"would write: ClusterSecretStore/vault tests/{ns}/app: k (new)\n")
    assert result.stderr == f"{SERVER}dry run: nothing written\n"
    assert stored(testbed, f"tests/{ns}/app") is None
    writes = [(verb, uri) for verb, uri in testbed.requests_since(mark) if verb in ("create", "update", "patch")
              and "dryRun" not in uri and "selfsubjectaccessreviews" not in uri]
    assert writes == []


@pytest.mark.real_eso
def test_new_apply_validates_against_the_cluster_and_syncs_once_populated(testbed, namespace, tmp_path):
    ns = namespace
    path = f"tests/{ns}/nexus"
    schema_file = tmp_path / "secret-schema.yaml"
    schema_file.write_text(json.dumps({"apiVersion": "secret.jenkins-x.io/v1alpha1", "kind": "Schema", "spec": {
        "objects": [{"name": "nexus", "properties": [{"name": "password", "question": "Nexus password",
                                                      "generator": "password"}]}]}}))
    result = testbed.jxsecret("new", "nexus", "-n", ns, "--store", "ClusterSecretStore/vault", "--key", path,
                              "--schema", schema_file, "--apply")
    assert (result.returncode, result.stdout, result.stderr) == (
        0, f"externalsecret.external-secrets.io/nexus created (namespace {ns})\n", SERVER)
    populated = testbed.jxsecret("populate", "-n", ns, "--timeout", "60s")
    assert populated.returncode == 0, populated.stderr
    password = stored(testbed, path)["password"]
    assert synced(testbed, ns, "nexus") == ("Opaque", {"password": password})
    never_shows(populated, password)
    verify = testbed.jxsecret("verify", "-n", ns, "-o", "json")
    assert [(v["name"], v["state"]) for v in yaml.safe_load(verify.stdout)] == [("nexus", "Populated")]


def test_new_output_applies_cleanly_and_a_missing_namespace_is_refused_by_the_server(testbed, namespace):
    ns = namespace
    printed = testbed.jxsecret("new", "app", "-n", ns, "--store", "ClusterSecretStore/vault", "--data", "token")
    assert (printed.returncode, printed.stderr) == (0, SERVER)
    applied = testbed.kubectl("apply", "-f", "-", input=printed.stdout, check=False)
    assert (applied.returncode, applied.stdout) == (0, "externalsecret.external-secrets.io/app created\n")
    refused = testbed.jxsecret("new", "app", "-n", "no-such-ns", "--store", "ClusterSecretStore/vault", "--data", "k",
                               "--apply")
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == 'error: externalsecret no-such-ns/app: namespaces "no-such-ns" not found\n'



def test_without_rights_to_create_the_check_falls_back_to_the_built_in_rules_and_apply_is_refused(testbed):
    args = ("new", "app", "-n", "jx", "--store", "ClusterSecretStore/vault", "--data", "k")
    printed = testbed.jxsecret(*args, kubeconfig=testbed.limited_kubeconfig)
    assert (printed.returncode, printed.stderr) == (
        0, 'validated by the built-in rules (dry run forbidden: externalsecret jx/app: forbidden: '
           'externalsecrets.external-secrets.io is forbidden: User "jx-limited" cannot create resource '
           '"externalsecrets" in API group "external-secrets.io" in the namespace "jx")\n')
    refused = testbed.jxsecret(*args, "--apply", kubeconfig=testbed.limited_kubeconfig)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == ('error: externalsecret jx/app: forbidden: externalsecrets.external-secrets.io is '
                              'forbidden: User "jx-limited" cannot create resource "externalsecrets" in API group '
                              '"external-secrets.io" in the namespace "jx"\n')
