"""verify and wait against the real testbed: every state, every API version, RBAC, request counts."""

import json
import re
import secrets
import subprocess
import time

import pytest

pytestmark = pytest.mark.integration

STORE = {"kind": "ClusterSecretStore", "name": "vault"}


def es(name, ns, keys, path, api_version="external-secrets.io/v1", store=STORE, **spec):
    return {"apiVersion": api_version, "kind": "ExternalSecret", "metadata": {"name": name, "namespace": ns},
            "spec": {"secretStoreRef": store, "refreshInterval": "1h",
                     "data": [{"secretKey": k, "remoteRef": {"key": path, "property": k}} for k in keys], **spec}}


def kes(name, ns, keys, path):
    return {"apiVersion": "kubernetes-client.io/v1", "kind": "ExternalSecret", "metadata": {"name": name, "namespace": ns},
            "spec": {"backendType": "vault", "data": [{"name": k, "key": f"secret/data/{path}", "property": k}
                                                      for k in keys]}}


@pytest.fixture(scope="module")
def states(testbed):
    """One namespace holding an ExternalSecret in each state, over each API version."""
    ns = f"t-states-{secrets.token_hex(3)}"
    testbed.kubectl("create", "namespace", ns)
    kv = testbed.vault().secrets.kv.v2
    kv.create_or_update_secret(f"tests/{ns}/full", secret={"username": "u", "password": "p"}, mount_point="secret")
    kv.create_or_update_secret(f"tests/{ns}/empty", secret={"username": "u", "password": ""}, mount_point="secret")
    other = f"other-controller-{ns}"
    testbed.apply({"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore", "metadata": {"name": other},
                   "spec": {"controller": "another-eso", "provider": {"vault": {
                       "server": "http://vault.jx-vault:8200", "path": "secret", "version": "v2",
                       "auth": {"tokenSecretRef": {"name": "vault-unseal-keys", "key": "vault-root",
                                                   "namespace": "jx-vault"}}}}}})
    keys = ["username", "password"]
    testbed.apply(
        es("populated", ns, keys, f"tests/{ns}/full"),
        es("keys-missing", ns, keys, f"tests/{ns}/empty"),
        # Merge writes into a Secret someone else creates; until then ESO reports Ready/SecretMissing.
        es("secret-missing", ns, keys, f"tests/{ns}/full", target={"creationPolicy": "Merge"}),
        es("sync-error", ns, keys, f"tests/{ns}/absent"),
        es("unknown", ns, keys, f"tests/{ns}/full", store={"kind": "ClusterSecretStore", "name": other}),
        es("beta", ns, keys, f"tests/{ns}/full", api_version="external-secrets.io/v1beta1"),
        es("renamed", ns, keys, f"tests/{ns}/full", target={"name": "renamed-target"}),
        kes("legacy", ns, keys, f"tests/{ns}/full"),
        kes("legacy-error", ns, ["username", "token"], f"tests/{ns}/full"),
    )
    for name in ("populated", "keys-missing", "secret-missing", "sync-error", "beta", "renamed"):
        testbed.wait_until(lambda: testbed.ready(ns, name))
    for name in ("legacy", "legacy-error"):
        testbed.wait_until(lambda: testbed.ready(ns, name, "externalsecrets.kubernetes-client.io"))
    testbed.wait_until(lambda: testbed.get("events", "-n", ns, "--field-selector",
                                           "involvedObject.name=sync-error,type=Warning")["items"])
    return ns


GOLDEN = """\
NAME            STATUS         MISSING KEYS        REASON
beta            Populated                          SecretSynced
keys-missing    KeysMissing    password            SecretSynced
legacy          Populated                          SUCCESS
legacy-error    SyncError      username, token     ERROR
populated       Populated                          SecretSynced
renamed         Populated                          SecretSynced
secret-missing  SecretMissing  username, password  SecretMissing
sync-error      SyncError      username, password  SecretSyncedError
unknown         Unknown        username, password
"""


def test_golden_table(testbed, states):
    result = testbed.jxsecret("verify", "-n", states)
    assert result.returncode == 3
    assert result.stdout == GOLDEN
    assert result.stderr == (
        "5 of 9 ExternalSecrets not populated.\n"
        "The missing values belong in their stores (fill them with kubectl jxsecret edit or import):\n"
        f"  {states}/keys-missing: ClusterSecretStore/vault tests/{states}/empty: password\n"
        f"  {states}/sync-error: ClusterSecretStore/vault tests/{states}/absent: username, password\n")


def test_json_has_the_documented_fields(testbed, states):
    result = testbed.jxsecret("verify", "-n", states, "-o", "json")
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert result.returncode == 3
    assert rows["renamed"] == {
        "namespace": states, "name": "renamed", "apiVersion": "external-secrets.io/v1",
        "store": "ClusterSecretStore/vault", "secret": "renamed-target", "state": "Populated", "populated": True,
        "missingKeys": [], "missingAt": [], "reason": "SecretSynced", "message": "secret synced", "detail": "",
        "refreshTime": rows["renamed"]["refreshTime"], "secretReadable": True}
    assert rows["renamed"]["refreshTime"].endswith("Z")
    error = rows["sync-error"]
    assert (error["populated"], error["missingKeys"], error["message"]) == (
        False, ["username", "password"], "could not get secret data from provider")
    # ESO's generic message is completed by its Warning event, which names the key and the cause.
    assert error["detail"] == (f"error processing spec.data[0] (key: tests/{states}/absent), "
                               "err: Secret does not exist")
    # ... and where the missing values belong.
    assert error["missingAt"] == [{"secretKey": k, "store": "ClusterSecretStore/vault", "key": f"tests/{states}/absent",
                                   "property": k} for k in ("username", "password")]
    assert rows["legacy-error"]["apiVersion"] == "kubernetes-client.io/v1"
    assert rows["legacy-error"]["message"] == f"key secret/data/tests/{states}/full has no property token"
    assert rows["beta"]["apiVersion"] == "external-secrets.io/v1"  # v1beta1 objects, read through v1


def test_yaml_and_name_outputs(testbed, states):
    import yaml

    rows = yaml.safe_load(testbed.jxsecret("verify", "-n", states, "-o", "yaml").stdout)
    assert [r["name"] for r in rows][:2] == ["beta", "keys-missing"]
    names = testbed.jxsecret("verify", "-n", states, "-o", "name").stdout.splitlines()
    assert "externalsecret.external-secrets.io/populated" in names
    assert "externalsecret.kubernetes-client.io/legacy" in names


@pytest.mark.parametrize("args, code, shown", [
    (["-f", "populated"], 0, ["populated"]),
    (["-f", "legacy"], 3, ["legacy", "legacy-error"]),
    (["-f", "no-such-name"], 0, []),
])
def test_filter_really_filters_and_sets_the_exit_code(testbed, states, args, code, shown):
    result = testbed.jxsecret("verify", "-n", states, "-o", "json", *args)
    assert result.returncode == code
    assert [r["name"] for r in json.loads(result.stdout)] == shown


def test_label_selector(testbed, states):
    testbed.kubectl("label", "es", "populated", "-n", states, "team=web", "--overwrite")
    result = testbed.jxsecret("verify", "-n", states, "-l", "team=web", "-o", "name")
    assert result.stdout == "externalsecret.external-secrets.io/populated\n"


@pytest.mark.real_eso
def test_templates_and_datafrom_as_eso_writes_them(testbed, namespace):
    kv = testbed.vault().secrets.kv.v2
    kv.create_or_update_secret(f"tests/{namespace}/app", secret={"user": "u", "pass": "p"}, mount_point="secret")
    kv.create_or_update_secret(f"tests/{namespace}/half", secret={"a": "1", "b": ""}, mount_point="secret")
    templated = es("templated", namespace, ["user", "pass"], f"tests/{namespace}/app",
                   target={"template": {"data": {"url": "https://{{ .user }}:{{ .pass }}@git.example.invalid"}}})
    extracted, half = (es(name, namespace, [], "") for name in ("extracted", "half"))
    extracted["spec"] |= {"data": [], "dataFrom": [{"extract": {"key": f"tests/{namespace}/app"}}]}
    half["spec"] |= {"data": [], "dataFrom": [{"extract": {"key": f"tests/{namespace}/half"}}]}
    testbed.apply(templated, extracted, half)
    for name in ("templated", "extracted", "half"):
        testbed.wait_until(lambda: testbed.ready(namespace, name) == "True")
    # The template's keys are what the Secret must hold; with dataFrom, whatever ESO wrote must be non-empty.
    assert set(testbed.get("secret", "templated", "-n", namespace)["data"]) == {"url"}
    rows = {r["name"]: r for r in json.loads(testbed.jxsecret("verify", "-n", namespace, "-o", "json").stdout)}
    assert {name: (r["state"], r["missingKeys"]) for name, r in rows.items()} == {
        "templated": ("Populated", []), "extracted": ("Populated", []), "half": ("KeysMissing", ["b"])}


def test_empty_scope_says_so(testbed, namespace):
    result = testbed.jxsecret("verify", "-n", namespace)
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == f"No matching ExternalSecrets found in namespace {namespace}.\n"


def test_all_namespaces_by_default(testbed, states):
    rows = json.loads(testbed.jxsecret("verify", "-o", "json").stdout)
    assert (states, "populated") in {(r["namespace"], r["name"]) for r in rows}
    assert len({r["namespace"] for r in rows}) > 1


def test_limited_user_sees_what_it_may_and_is_told_what_it_may_not(testbed, states):
    result = testbed.jxsecret("verify", "-o", "json", kubeconfig=testbed.limited_kubeconfig)
    assert result.returncode == 1  # something could not be checked
    [warning] = result.stderr.splitlines()  # one line for all the namespaces it may not read
    assert warning.startswith("warning: cannot list Secrets in ") and warning.endswith("): forbidden")
    rows = {(r["namespace"], r["name"]): r for r in json.loads(result.stdout)}
    # The Secret is hidden: the operator's own verdict stands, marked as such.
    row = rows[(states, "populated")]
    assert (row["state"], row["secretReadable"]) == ("Populated", False)
    assert row["message"] == f"secret synced; cannot list Secrets in namespace {states}: forbidden"
    assert (rows[(states, "sync-error")]["state"], rows[(states, "sync-error")]["populated"]) == ("SyncError", False)


def test_limited_user_in_a_readable_namespace_gets_a_clean_answer(testbed):
    name = f"t-{secrets.token_hex(3)}"
    testbed.vault().secrets.kv.v2.create_or_update_secret(f"tests/{name}", secret={"k": "v"}, mount_point="secret")
    testbed.apply(es(name, "jx", ["k"], f"tests/{name}"))  # the limited user may read Secrets in jx only
    testbed.wait_until(lambda: testbed.ready("jx", name))
    result = testbed.jxsecret("verify", "-n", "jx", "-f", name, "-o", "json", kubeconfig=testbed.limited_kubeconfig)
    assert (result.returncode, result.stderr) == (0, "")
    assert [r["state"] for r in json.loads(result.stdout)] == ["Populated"]


def impersonating(testbed, tmp_path, user):
    """The admin kubeconfig acting as `user` (kubeconfig `as:`, like kubectl --as)."""
    import yaml

    config = yaml.safe_load(open(testbed.kubeconfig))
    config["users"][0]["user"]["as"] = user
    path = tmp_path / f"{user}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def grant(testbed, user, namespace, resources):
    """Let `user` list `resources` ({api group: [plural]}) in one namespace only."""
    name = f"{user}-read"
    testbed.apply(
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name, "namespace": namespace},
         "rules": [{"apiGroups": [group], "resources": plurals, "verbs": ["get", "list"]}
                   for group, plurals in resources.items()]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": name, "namespace": namespace},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})


def test_externalsecrets_forbidden_cluster_wide_falls_back_per_namespace(testbed, states, tmp_path):
    user = f"team-{secrets.token_hex(3)}"
    grant(testbed, user, states, {"external-secrets.io": ["externalsecrets"], "kubernetes-client.io": ["externalsecrets"],
                                  "": ["secrets"]})
    kubeconfig = impersonating(testbed, tmp_path, user)

    # Without the right to list namespaces there is nowhere to fall back to: say what to do.
    result = testbed.jxsecret("verify", kubeconfig=kubeconfig)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("error: forbidden: cannot list externalsecrets.external-secrets.io in all namespaces, "
                             "nor the namespaces themselves: pass -n NAMESPACE\n")
    # -n is enough for such a user.
    assert testbed.jxsecret("verify", "-n", states, kubeconfig=kubeconfig).stdout == GOLDEN

    # With namespaces listable: the namespaces it may read are shown, the others named once.
    testbed.apply(
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": f"{user}-ns"},
         "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": f"{user}-ns"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"{user}-ns"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})
    result = testbed.jxsecret("verify", "-o", "json", kubeconfig=kubeconfig)
    assert result.returncode == 1
    assert {r["namespace"] for r in json.loads(result.stdout)} == {states}
    others = sorted(set(testbed.kubectl("get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}").stdout.split())
                    - {states})  # every namespace but the one granted, the first 10 named
    shown = ", ".join(others[:10]) + (", …" if len(others) > 10 else "")
    assert result.stderr.splitlines() == [
        f"warning: cannot list externalsecrets.{group} in {len(others)} namespaces ({shown}): forbidden"
        for group in ("external-secrets.io", "kubernetes-client.io")]


def test_requests_do_not_grow_with_the_number_of_externalsecrets(testbed):
    counts = {}
    for n in (2, 25):
        ns = f"t-count{n}-{secrets.token_hex(3)}"
        testbed.kubectl("create", "namespace", ns)
        testbed.apply(*[es(f"es-{i}", ns, ["k"], f"tests/{ns}/absent-{i}") for i in range(n)])
        # Settled first: a SyncError namespace costs one Events LIST, an unsynced one does not.
        testbed.wait_until(lambda: all(testbed.ready(ns, f"es-{i}") == "False" for i in range(n)), timeout=60)
        mark = testbed.audit_mark()
        testbed.jxsecret("verify", "-n", ns)
        requests = testbed.requests_since(mark)
        assert not any("/es-" in uri for _, uri in requests), requests  # never one GET per object
        counts[n] = len(requests)
    assert counts[2] == counts[25]
    assert counts[25] <= 6, counts  # discovery, 2 ExternalSecret LISTs, Secrets, maybe Events


def test_lists_are_paginated(testbed, namespace):
    from kubectl_jxsecret.kube import client
    from kubectl_jxsecret.kube.kubeconfig import load

    testbed.apply(*[es(f"es-{i}", namespace, ["k"], "tests/none") for i in range(5)])
    kube = client.Kube(load(kubeconfig_flag=testbed.kubeconfig))
    mark = testbed.audit_mark()
    old, client.PAGE_SIZE = client.PAGE_SIZE, 2
    try:
        names = [o["metadata"]["name"] for o in kube.list(f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets")]
    finally:
        client.PAGE_SIZE = old
    assert names == [f"es-{i}" for i in range(5)]
    pages = [uri for _, uri in testbed.requests_since(mark) if "externalsecrets" in uri]
    assert len(pages) == 3 and all("limit=2" in uri for uri in pages) and "continue=" in pages[-1]


@pytest.mark.parametrize("args, code, message", [
    (["--context", "no-such-context"], 1,
     'error: context "no-such-context" not found in {kubeconfig}: see kubectl config get-contexts\n'),
    (["--kubeconfig", "/nonexistent/config"], 1,
     "error: kubeconfig /nonexistent/config (from --kubeconfig) does not exist: fix the path\n"),
    (["--request-timeout", "soon"], 2,  # a usage error
     'error: invalid value "soon" for --request-timeout: want a duration such as 30s, 5m or 1h\n'
     "see 'kubectl jxsecret verify -h' for help\n"),
])
def test_bad_input_is_one_line(testbed, args, code, message):
    result = testbed.jxsecret("verify", *args)
    assert (result.returncode, result.stdout) == (code, "")
    assert result.stderr == message.format(kubeconfig=testbed.kubeconfig)


def test_unreachable_api_server(testbed, tmp_path):
    import yaml

    config = yaml.safe_load(open(testbed.kubeconfig))
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    result = testbed.jxsecret("verify", "--kubeconfig", str(path))
    assert result.returncode == 1
    assert result.stderr == ('error: cannot reach the API server https://127.0.0.1:1 (context "testbed"): '
                             "connection refused: check that the cluster is up and the context is right\n")


def set_served(testbed, crd, served):
    patch = [{"op": "replace", "path": f"/spec/versions/{i}/served", "value": s} for i, s in enumerate(served)]
    testbed.kubectl("patch", "crd", crd, "--type=json", "-p", json.dumps(patch))


def test_discovery_falls_back_to_v1beta1_then_reports_no_api(testbed, states):
    eso, kes = "externalsecrets.external-secrets.io", "externalsecrets.kubernetes-client.io"
    try:
        set_served(testbed, eso, [False, True])  # an older ESO: ExternalSecret only as v1beta1
        rows = testbed.wait_until(lambda: [r for r in json.loads(
            testbed.jxsecret("verify", "-n", states, "-o", "json").stdout) if r["name"] == "populated"
            and r["apiVersion"] == "external-secrets.io/v1beta1"])
        assert rows[0]["state"] == "Populated"
        set_served(testbed, eso, [False, False])
        set_served(testbed, kes, [False])

        def no_api():
            result = testbed.jxsecret("verify")
            return result if result.returncode == 1 else None

        result = testbed.wait_until(no_api)
        assert result.stderr == ('error: no ExternalSecret API in context "testbed": the External Secrets Operator '
                                 "CRDs (external-secrets.io) are not installed on this cluster\n")
    finally:
        set_served(testbed, eso, [True, True])
        set_served(testbed, kes, [True])
    testbed.wait_until(lambda: testbed.jxsecret("verify", "-n", states, "-f", "populated").returncode == 0)


@pytest.mark.real_eso
def test_a_secret_eso_cannot_refresh_is_populated_but_stale(testbed, namespace):
    path = f"tests/{namespace}/app"
    testbed.vault().secrets.kv.v2.create_or_update_secret(path, secret={"token": "t"}, mount_point="secret")
    testbed.apply(es("app", namespace, ["token"], path))
    testbed.wait_until(lambda: testbed.ready(namespace, "app") == "True")
    # The value goes from the store; ESO keeps the Secret it wrote, and fails to sync it again.
    testbed.vault().secrets.kv.v2.delete_metadata_and_all_versions(path, mount_point="secret")
    testbed.kubectl("annotate", "es", "app", "-n", namespace, f"force-sync={time.time()}", "--overwrite")
    testbed.wait_until(lambda: testbed.ready(namespace, "app") == "False")
    result = testbed.jxsecret("verify", "-n", namespace)
    assert result.returncode == 0
    assert result.stdout.splitlines()[1].split()[:2] == ["app", "Stale"]
    assert result.stderr == "1 ExternalSecret populated but stale: ESO cannot sync it (see -o wide).\n"
    [row] = json.loads(testbed.jxsecret("verify", "-n", namespace, "-o", "json").stdout)
    assert (row["state"], row["populated"], row["reason"]) == ("Stale", True, "SecretSyncedError")
    wait = testbed.jxsecret("wait", "-n", namespace, "--timeout", "5s")
    assert (wait.returncode, wait.stdout) == (0, "1 ExternalSecret populated\n")


# ------------------------------------------------------------------------------------------ wait

def test_wait_returns_when_the_value_arrives(testbed, namespace):
    path = f"tests/{namespace}/late"
    testbed.apply(es("late", namespace, ["token"], path))
    testbed.wait_until(lambda: testbed.ready(namespace, "late") == "False")
    proc = subprocess.Popen(["kubectl", "jxsecret", "wait", "-n", namespace, "--timeout", "60s", "--poll", "500ms"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=testbed.env())
    try:
        first = proc.stdout.readline()
        assert re.fullmatch(r"\d\d:\d\d:\d\d waiting for 1 of 1 ExternalSecret:\n", first)
        assert proc.stdout.readline().startswith(f"  {namespace}/late: SyncError (missing token): SecretSyncedError")
        testbed.vault().secrets.kv.v2.create_or_update_secret(path, secret={"token": "t"}, mount_point="secret")
        # ESO retries a failed sync with a back-off of up to 7 minutes: a writer asks for a sync now.
        testbed.kubectl("annotate", "es", "late", "-n", namespace, f"force-sync={time.time()}", "--overwrite")
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert re.fullmatch(rf"\d\d:\d\d:\d\d {namespace}/late: Populated\n1 ExternalSecret populated\n", out)


def test_wait_times_out_with_what_is_missing_and_why(testbed, namespace):
    testbed.apply(es("never", namespace, ["token"], f"tests/{namespace}/never"))
    testbed.wait_until(lambda: testbed.ready(namespace, "never") == "False")
    started = time.monotonic()
    result = testbed.jxsecret("wait", "-n", namespace, "--timeout", "2s", "--poll", "500ms")
    assert time.monotonic() - started < 20
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert lines[0] == "error: timed out after 2s; 1 ExternalSecrets not populated:"
    assert lines[1].startswith(f"  {namespace}/never: SyncError (missing token): SecretSyncedError: "
                               "could not get secret data from provider: error processing spec.data[0]")


def test_wait_mandatory_only(testbed, namespace):
    must = es("must", namespace, ["k"], f"tests/{namespace}/none")
    must["metadata"]["annotations"] = {"secret.jenkins-x.io/schema-object": '{"mandatory": true}'}
    testbed.vault().secrets.kv.v2.create_or_update_secret(f"tests/{namespace}/ok", secret={"k": "v"},
                                                          mount_point="secret")
    must["spec"]["data"][0]["remoteRef"]["key"] = f"tests/{namespace}/ok"
    testbed.apply(must, es("optional", namespace, ["k"], f"tests/{namespace}/none"))
    testbed.wait_until(lambda: testbed.ready(namespace, "optional") == "False")
    result = testbed.jxsecret("wait", "-n", namespace, "--mandatory", "--timeout", "20s", "--poll", "500ms")
    assert (result.returncode, result.stdout.splitlines()[-1]) == (0, "1 ExternalSecret populated")


def test_malformed_objects_do_not_stop_the_run(testbed, namespace):
    # The legacy CRD keeps unknown fields, so broken objects can exist on real clusters too.
    testbed.apply({"apiVersion": "kubernetes-client.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": "garbage-data", "namespace": namespace}, "spec": {"data": "garbage"}},
                  {"apiVersion": "kubernetes-client.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": "no-spec", "namespace": namespace}},
                  es("fine", namespace, ["k"], f"tests/{namespace}/absent"))
    testbed.wait_until(lambda: testbed.ready(namespace, "fine") == "False")
    result = testbed.jxsecret("verify", "-n", namespace, "-o", "json")
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert {r["name"]: (r["state"], r["message"]) for r in json.loads(result.stdout)} == {
        "fine": ("SyncError", "could not get secret data from provider"), "garbage-data": ("Invalid", "spec.data is not a list"),
        "no-spec": ("Invalid", "it has no spec")}


@pytest.mark.parametrize("args, where", [
    (["-n", "nope"], "in namespace nope"),
    (["-f", "zzz"], 'in any namespace with name containing "zzz"'),
    (["-l", "team=none", "--mandatory"], "in any namespace with labels team=none marked mandatory"),
])
def test_wait_for_nothing_is_an_error_as_in_kubectl(testbed, args, where):
    result = testbed.jxsecret("wait", *args, "--timeout", "5s")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: no matching ExternalSecrets found {where}\n"


def test_names_and_kubectl_style_booleans(testbed, states):
    result = testbed.jxsecret("get", "populated", "nope", "--all-namespaces=false", "-n", states, "-o", "name")
    assert result.returncode == 1  # one name was not found: as kubectl get, an error after what was found
    assert result.stdout == "externalsecret.external-secrets.io/populated\n"
    assert result.stderr == f'error: ExternalSecret "nope" not found in namespace {states}\n'
    rows = json.loads(testbed.jxsecret("verify", "--all-namespaces=true", "populated", "-o", "json").stdout)
    assert (states, "populated") in {(r["namespace"], r["name"]) for r in rows}
