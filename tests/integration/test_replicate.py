"""replicate and copy against the real testbed: Environments, ownership, no-op runs counted in the audit log,
prune, dry-run, a real 403 in one target, and a second kubeconfig context as a remote Environment."""

import base64
import secrets

import pytest
import yaml

pytestmark = pytest.mark.integration

SOURCE = {"secret.jenkins-x.io/replica-source": "true"}
WRITES = {"create", "update", "patch", "delete"}


@pytest.fixture
def fresh(testbed):
    """Fresh namespaces, as many as a test asks for (never deleted: the testbed has no namespace controller)."""
    def make(n):
        names = [f"t-{secrets.token_hex(4)}" for _ in range(n)]
        for name in names:
            testbed.kubectl("create", "namespace", name)
        return names
    return make


def secret(name, ns, labels=SOURCE, type="Opaque", **values):
    return {"apiVersion": "v1", "kind": "Secret", "type": type, "metadata": {"name": name, "namespace": ns, "labels": labels},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}}


def value(testbed, ns, name, key):
    return base64.b64decode(testbed.get("secret", name, "-n", ns)["data"][key]).decode()


def writes(requests):
    return [(verb, uri) for verb, uri in requests if verb in WRITES]


def test_copies_go_to_the_permanent_environments_of_the_testbed(testbed):
    run = secrets.token_hex(4)
    canary = f"canary-{secrets.token_hex(8)}"
    testbed.apply(secret(f"app-{run}", "jx", labels={**SOURCE, "run": run}, token=canary))
    result = testbed.jxsecret("replicate", "-l", f"run={run}")
    assert (result.returncode, result.stdout) == (0, f"created: jx-production/app-{run} (from jx/app-{run})\n"
                                                     f"created: jx-staging/app-{run} (from jx/app-{run})\n")
    assert result.stderr == "2 created in 2 namespaces\n"
    copy = testbed.get("secret", f"app-{run}", "-n", "jx-staging")
    assert copy["metadata"]["labels"] == {"secret.jenkins-x.io/replica": "true"}
    assert copy["metadata"]["annotations"]["secret.jenkins-x.io/replica-of"] == f"jx/app-{run}"
    assert value(testbed, "jx-production", f"app-{run}", "token") == canary
    assert testbed.kubectl("get", "secret", f"app-{run}", "-n", "jx", "-o", "name").stdout == f"secret/app-{run}\n"


def test_update_then_a_second_run_writes_nothing_and_reads_only_lists(testbed, fresh):
    src, a, b = fresh(3)
    canary = f"canary-{secrets.token_hex(8)}"
    testbed.apply(secret("one", src, token="v1"), secret("two", src, token=canary))
    first = testbed.jxsecret("replicate", "--from", src, "--to", a, "--to", b)
    assert (first.returncode, first.stderr) == (0, "4 created in 2 namespaces\n")
    testbed.apply(secret("one", src, token="v2"))
    changed = testbed.jxsecret("replicate", "--from", src, "--to", a, "--to", b)
    assert changed.stdout.splitlines() == [f"updated: {a}/one (from {src}/one)", f"unchanged: {a}/two",
                                           f"updated: {b}/one (from {src}/one)", f"unchanged: {b}/two"]
    assert (value(testbed, a, "one", "token"), value(testbed, b, "one", "token")) == ("v2", "v2")
    mark = testbed.audit_mark()
    again = testbed.jxsecret("replicate", "--from", src, "--to", a, "--to", b)
    assert (again.returncode, again.stderr) == (0, "nothing to write: 4 unchanged\n")
    requests = testbed.requests_since(mark)
    assert writes(requests) == []
    assert sorted(verb for verb, _ in requests) == ["get", "get", "list", "list", "list", "list", "list"]
    assert canary not in again.stdout + again.stderr + changed.stdout + changed.stderr


def test_a_foreign_secret_is_left_alone_unless_forced(testbed, fresh):
    src, target = fresh(2)
    testbed.apply(secret("db", src, password="new"), secret("db", target, labels={"team": "a"}, password="theirs"))
    refused = testbed.jxsecret("replicate", "--from", src, "--to", target)
    assert refused.returncode == 3
    assert refused.stdout == (f"skipped-foreign: {target}/db: a Secret not made by replication is there "
                              "(--force to overwrite)\n")
    assert value(testbed, target, "db", "password") == "theirs"
    forced = testbed.jxsecret("replicate", "--from", src, "--to", target, "--force")
    assert (forced.returncode, forced.stdout) == (0, f"updated: {target}/db (forced over a Secret not made by this "
                                                     "replication)\n")
    held = testbed.get("secret", "db", "-n", target)
    assert (value(testbed, target, "db", "password"), held["metadata"]["labels"]) == (
        "new", {"team": "a", "secret.jenkins-x.io/replica": "true"})
    assert testbed.jxsecret("replicate", "--from", src, "--to", target).stderr == "nothing to write: 1 unchanged\n"


def test_prune_deletes_owned_copies_whose_source_is_gone(testbed, fresh):
    src, target = fresh(2)
    testbed.apply(secret("keep", src, k="1"), secret("gone", src, k="2"), secret("other", target, labels={}, k="3"))
    assert testbed.jxsecret("replicate", "--from", src, "--to", target).returncode == 0
    testbed.kubectl("delete", "secret", "gone", "-n", src)
    without = testbed.jxsecret("replicate", "--from", src, "--to", target)
    assert without.stdout == f"unchanged: {target}/keep\n"
    pruned = testbed.jxsecret("replicate", "--from", src, "--to", target, "--prune")
    assert (pruned.returncode, pruned.stdout) == (0, f"pruned: {target}/gone (source {src}/gone is gone or no longer "
                                                     f"selected)\nunchanged: {target}/keep\n")
    names = testbed.kubectl("get", "secrets", "-n", target, "-o", "name").stdout.split()
    assert names == ["secret/keep", "secret/other"]


def test_dry_run_prints_the_plan_and_writes_nothing(testbed, fresh):
    src, target = fresh(2)
    canary = f"canary-{secrets.token_hex(8)}"
    testbed.apply(secret("a", src, k="1"), secret("b", src, k=canary), secret("old", src, k="x"),
                  secret("c", src, k="3"), secret("c", target, labels={}, k="theirs"))
    testbed.jxsecret("replicate", "--from", src, "--to", target, "--name", "b", "--name", "old")
    testbed.apply(secret("b", src, k=canary + "2"))
    testbed.kubectl("delete", "secret", "old", "-n", src)
    mark = testbed.audit_mark()
    result = testbed.jxsecret("replicate", "--from", src, "--to", target, "--prune", "--dry-run")
    assert result.returncode == 3
    assert result.stdout.splitlines() == [
        f"create: {target}/a (from {src}/a)", f"update: {target}/b (from {src}/b)",
        f"skipped-foreign: {target}/c: a Secret not made by replication is there (--force to overwrite)",
        f"prune: {target}/old (source {src}/old is gone or no longer selected)"]
    assert result.stderr == "dry run: nothing written (1 create, 1 update, 1 skipped-foreign, 1 prune)\n"
    assert writes(testbed.requests_since(mark)) == []
    assert canary not in result.stdout + result.stderr


def test_a_forbidden_target_is_reported_and_the_others_are_done(testbed, fresh):
    src, allowed, denied = fresh(3)
    testbed.apply(secret("db", src, password="p"))
    for ns, verbs in ((src, ["get", "list"]), (allowed, ["get", "list", "create", "update", "delete"])):
        testbed.kubectl("create", "role", "secrets", "-n", ns, "--resource=secrets", *[f"--verb={v}" for v in verbs])
        testbed.kubectl("create", "rolebinding", "secrets", "-n", ns, "--role=secrets", "--user=jx-limited")
    result = testbed.jxsecret("replicate", "--from", src, "--to", denied, "--to", allowed,
                              kubeconfig=testbed.limited_kubeconfig)
    assert (result.returncode, result.stdout) == (1, f"created: {allowed}/db (from {src}/db)\n")
    assert result.stderr == (f'error: {denied}: forbidden: secrets is forbidden: User "jx-limited" cannot list resource "secrets" '
                             f'in API group "" in the namespace "{denied}"\n'
                             "1 created in 2 namespaces; 1 target failed\n")
    assert value(testbed, allowed, "db", "password") == "p"


def test_a_missing_namespace_fails_alone_unless_it_may_be_created(testbed, fresh):
    src, target = fresh(2)
    missing = f"t-{secrets.token_hex(4)}"
    testbed.apply(secret("db", src, password="p"))
    result = testbed.jxsecret("replicate", "--from", src, "--to", missing, "--to", target)
    assert (result.returncode, result.stdout) == (1, f"created: {target}/db (from {src}/db)\n")
    assert result.stderr.splitlines()[0] == f"error: {missing}: namespace {missing} does not exist (--create-namespace " \
                                            "creates it)"
    created = testbed.jxsecret("replicate", "--from", src, "--to", missing, "--to", target, "--create-namespace")
    assert (created.returncode, created.stdout) == (0, f"created: namespace {missing}\ncreated: {missing}/db (from "
                                                       f"{src}/db)\nunchanged: {target}/db\n")


@pytest.mark.real_eso  # the stand-in does not apply target.template's labels
def test_copies_of_eso_secrets_are_plain_secrets_and_said_so(testbed, fresh):
    src, target = fresh(2)
    testbed.vault().secrets.kv.v2.create_or_update_secret(f"tests/{src}/synced", secret={"token": "t"},
                                                          mount_point="secret")
    testbed.apply({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": "synced", "namespace": src},
                   "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"}, "refreshInterval": "1h",
                            "target": {"name": "synced", "template": {"metadata": {"labels": SOURCE}}},
                            "data": [{"secretKey": "token", "remoteRef": {"key": f"tests/{src}/synced",
                                                                          "property": "token"}}]}})
    testbed.wait_until(lambda: testbed.ready(src, "synced") == "True")
    result = testbed.jxsecret("replicate", "--from", src, "--to", target)
    assert result.stderr.splitlines()[0] == ("note: synced: made by ESO; the copies are plain Secrets with today's "
                                             "values, which ESO does not manage (run this again after a change)")
    copy = testbed.get("secret", "synced", "-n", target)
    assert (copy["metadata"]["labels"], "ownerReferences" in copy["metadata"]) == (
        {"secret.jenkins-x.io/replica": "true"}, False)
    assert value(testbed, target, "synced", "token") == "t"


def environment(name, ns, target, remote=False):
    return {"apiVersion": "jenkins.io/v1", "kind": "Environment", "metadata": {"name": name, "namespace": ns},
            "spec": {"label": name, "namespace": target, "kind": "Permanent", "remoteCluster": remote}}


def two_contexts(testbed, tmp_path):
    """The testbed's kubeconfig with a second context, "far", to the same cluster: a remote cluster stand-in."""
    config = yaml.safe_load(open(testbed.kubeconfig))
    current = next(c for c in config["contexts"] if c["name"] == config["current-context"])
    config["contexts"].append({"name": "far", "context": dict(current["context"])})
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_a_remote_environment_is_reached_through_another_context(testbed, fresh, tmp_path):
    src, near, far = fresh(3)
    testbed.apply(secret("db", src, password="p"), environment("staging", src, near),
                  environment("production", src, far, remote=True))
    kubeconfig = two_contexts(testbed, tmp_path)
    skipped = testbed.jxsecret("replicate", "--from", src, kubeconfig=kubeconfig)
    assert (skipped.returncode, skipped.stdout) == (0, f"created: {near}/db (from {src}/db)\n")
    assert skipped.stderr.splitlines()[0] == ("note: Environment production is on a remote cluster: skipped (reach it "
                                              "with --context-for production=CONTEXT)")
    reached = testbed.jxsecret("replicate", "--from", src, "--context-for", "production=far", kubeconfig=kubeconfig)
    assert (reached.returncode, reached.stdout) == (0, f"created: far:{far}/db (from {src}/db)\nunchanged: {near}/db\n")
    assert value(testbed, far, "db", "password") == "p"
    unknown = testbed.jxsecret("replicate", "--from", src, "--context-for", "production=nowhere", kubeconfig=kubeconfig)
    assert (unknown.returncode, unknown.stderr) == (1, f'error: context "nowhere" not found in {kubeconfig}: see '
                                                       "kubectl config get-contexts\n")


def test_copy_names_or_selects_with_the_same_rules(testbed, fresh):
    src, a, b = fresh(3)
    testbed.apply(secret("x", src, labels={"app": "web"}, k="1"), secret("y", src, labels={"app": "web"}, k="2"),
                  secret("z", src, labels={}, k="3"))
    named = testbed.jxsecret("copy", "z", "-n", src, "--to", a)
    assert (named.returncode, named.stdout) == (0, f"created: {a}/z (from {src}/z)\n")
    selected = testbed.jxsecret("copy", "-n", src, "-l", "app=web", "--to", a, "--to", b)
    assert selected.stderr == "4 created in 2 namespaces\n"
    mark = testbed.audit_mark()
    again = testbed.jxsecret("copy", "-n", src, "-l", "app=web", "--to", a, "--to", b)
    assert (again.returncode, again.stderr) == (0, "nothing to write: 4 unchanged\n")
    assert writes(testbed.requests_since(mark)) == []
    dry = testbed.jxsecret("copy", "x", "-n", src, "--to", b, "--force", "--dry-run")
    assert (dry.stdout, dry.stderr) == (f"unchanged: {b}/x\n", "dry run: nothing written (1 unchanged)\n")


@pytest.mark.parametrize("args, rc, stderr", [
    (["copy", "-n", "jx", "--to", "x"], 2, "error: name the Secrets to copy, or select them with -l\n"
                                           "see 'kubectl jxsecret copy -h' for help\n"),
    (["copy", "nope-xyz", "-n", "jx", "--to", "x"], 1, "error: no Secret nope-xyz in namespace jx: nothing copied\n"),
    (["replicate", "--to", "jx"], 2, "error: --to jx is the source namespace\nsee 'kubectl jxsecret replicate -h' for "
                                     "help\n"),
    (["replicate", "--context-for", "staging"], 2, "error: --context-for staging: expected ENVIRONMENT=CONTEXT\n"
                                                   "see 'kubectl jxsecret replicate -h' for help\n"),
    (["replicate", "-l", "nothing=here"], 1, "error: no Secrets with labels nothing=here in namespace jx: nothing to "
                                             "copy\n"),
])
def test_mistakes_are_one_line(testbed, args, rc, stderr):
    result = testbed.jxsecret(*args)
    assert (result.returncode, result.stderr) == (rc, stderr)


def test_a_new_type_replaces_the_copy(testbed, fresh):
    src, target = fresh(2)
    testbed.apply(secret("login", src, username="u", password="p"))
    testbed.jxsecret("replicate", "--from", src, "--to", target)
    testbed.kubectl("delete", "secret", "login", "-n", src)
    testbed.apply(secret("login", src, type="kubernetes.io/basic-auth", username="u", password="p"))
    result = testbed.jxsecret("replicate", "--from", src, "--to", target)
    assert (result.returncode, result.stdout) == (0, f"updated: {target}/login (from {src}/login)\n")
    assert testbed.get("secret", "login", "-n", target)["type"] == "kubernetes.io/basic-auth"


def test_exclude_leaves_an_environment_out(testbed):
    run = secrets.token_hex(4)
    testbed.apply(secret(f"app-{run}", "jx", labels={**SOURCE, "run": run}, token="t"))
    result = testbed.jxsecret("replicate", "-l", f"run={run}", "--exclude", "jx-production")
    assert (result.returncode, result.stdout) == (0, f"created: jx-staging/app-{run} (from jx/app-{run})\n")
    missing = testbed.kubectl("get", "secret", f"app-{run}", "-n", "jx-production", check=False)
    assert missing.returncode == 1


def test_completion_offers_secrets_and_namespaces(testbed, fresh):
    src, = fresh(1)
    testbed.apply(secret("db", src, k="1"), secret("dbx", src, k="2"))
    names = testbed.kubectl("__complete", "jxsecret", "copy", "-n", src, "d").stdout.splitlines()
    assert names == ["db", "dbx", ":4"]
    # copy goes anywhere; replicate --to offers the Permanent Environments' namespaces (test_plugin.py).
    namespaces = testbed.kubectl("__complete", "jxsecret", "copy", "--to", src).stdout.splitlines()
    assert namespaces == [src, ":4"]
