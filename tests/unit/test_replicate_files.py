"""replicate --dir: a GitOps config-root made in tmp_path (no cluster), run through the command line."""

import io
import os

import pytest
import yaml

from kubectl_jxsecret import cli
from kubectl_jxsecret.model.replica_files import matches, parse_selector

SOURCE = {"secret.jenkins-x.io/replica-source": "true"}


def env_file(name, kind, namespace, remote=False):
    return {"apiVersion": "jenkins.io/v1", "kind": "Environment", "metadata": {"name": name, "namespace": "jx"},
            "spec": {"kind": kind, "namespace": namespace, "remoteCluster": remote}}


def external_secret(name, labels):
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": "jx", "labels": labels, "uid": "u-1", "resourceVersion": "42",
                         "creationTimestamp": "2026-01-01T00:00:00Z",
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "a"}},
            "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
                     "target": {"name": name}, "data": [{"secretKey": "token", "remoteRef": {"key": f"x/{name}",
                                                                                            "property": "token"}}]},
            "status": {"refreshTime": "2026-01-01T00:00:00Z"}}


def write(root, path, doc, mode=0o644):
    full = root / "namespaces" / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(yaml.safe_dump(doc))
    os.chmod(full, mode)


@pytest.fixture
def config_root(tmp_path):
    root = tmp_path / "config-root"
    write(root, "jx/jxboot-helmfile-resources/dev-environment.yaml", env_file("dev", "Development", "jx"))
    write(root, "jx/jxboot-helmfile-resources/staging-environment.yaml", env_file("staging", "Permanent", "jx-staging"))
    write(root, "jx/jxboot-helmfile-resources/production-environment.yaml",
          env_file("production", "Permanent", "jx-production"))
    write(root, "jx/jxboot-helmfile-resources/remote-environment.yaml", env_file("far", "Permanent", "jx-far", True))
    write(root, "jx/lighthouse/lighthouse-hmac-token-externalsecret.yaml", external_secret("lighthouse-hmac-token", SOURCE))
    write(root, "jx/lighthouse/lighthouse-oauth-token-externalsecret.yaml", external_secret("lighthouse-oauth-token", {}))
    write(root, "jx/docker/docker-secret.yaml",
          {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "docker", "namespace": "jx", "labels": SOURCE},
           "type": "Opaque", "data": {"k": "Y2FuYXJ5"}}, mode=0o600)
    return root


def replicate(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(["kubectl-jxsecret", "replicate", *map(str, args)], cli.Environment(stdout=out, stderr=err, environ={}))
    return rc, out.getvalue(), err.getvalue()


def snapshot(root):
    return {str(p): (p.stat().st_mtime_ns, p.read_text()) for p in sorted(root.rglob("*")) if p.is_file()}


def test_matching_files_go_to_each_permanent_environment_and_a_second_run_changes_nothing(config_root):
    rc, out, err = replicate("--dir", config_root)
    assert rc == 0
    assert out.splitlines() == [
        "created: jx-production/docker/docker-secret.yaml (from jx/docker)",
        "created: jx-production/lighthouse/lighthouse-hmac-token-externalsecret.yaml (from jx/lighthouse-hmac-token)",
        "created: jx-staging/docker/docker-secret.yaml (from jx/docker)",
        "created: jx-staging/lighthouse/lighthouse-hmac-token-externalsecret.yaml (from jx/lighthouse-hmac-token)"]
    assert err == ("note: Environment far is on a remote cluster: skipped (reach it with --context-for far=CONTEXT)\n"
                   "4 created in 2 namespaces\n")
    copy = yaml.safe_load((config_root / "namespaces/jx-staging/lighthouse/lighthouse-hmac-token-externalsecret.yaml")
                          .read_text())
    assert copy["metadata"] == {"name": "lighthouse-hmac-token", "namespace": "jx-staging",
                                "labels": {"secret.jenkins-x.io/replica": "true"},
                                "annotations": {"team": "a", "secret.jenkins-x.io/replica": "true",
                                                "secret.jenkins-x.io/replica-of": "jx/lighthouse-hmac-token"}}
    assert "status" not in copy
    assert copy["spec"] == external_secret("x", {})["spec"] | {"target": {"name": "lighthouse-hmac-token"},
                                                                "data": copy["spec"]["data"]}
    assert os.stat(config_root / "namespaces/jx-production/docker/docker-secret.yaml").st_mode & 0o777 == 0o600
    before = snapshot(config_root)
    rc, out, err = replicate("--dir", config_root)
    assert (rc, err.splitlines()[-1]) == (0, "nothing to write: 4 unchanged")
    assert snapshot(config_root) == before


def test_dry_run_changes_no_file(config_root):
    before = snapshot(config_root)
    rc, out, err = replicate("--dir", config_root, "--to", "jx-preview", "--dry-run")
    assert (rc, out) == (0, "create: jx-preview/docker/docker-secret.yaml (from jx/docker)\n"
                            "create: jx-preview/lighthouse/lighthouse-hmac-token-externalsecret.yaml (from "
                            "jx/lighthouse-hmac-token)\n")
    assert err == "dry run: nothing written (2 create)\n"
    assert snapshot(config_root) == before


def test_a_foreign_file_is_kept_unless_forced_and_prune_removes_stale_replicas(config_root):
    write(config_root, "jx-staging/docker/docker-secret.yaml", {"apiVersion": "v1", "kind": "Secret",
                                                                "metadata": {"name": "docker"}})
    rc, out, _ = replicate("--dir", config_root, "--to", "jx-staging")
    assert (rc, out.splitlines()[0]) == (3, "skipped-foreign: jx-staging/docker/docker-secret.yaml: a file not made by "
                                            "replication is there (--force to overwrite)")
    rc, out, _ = replicate("--dir", config_root, "--to", "jx-staging", "--force")
    assert (rc, out.splitlines()[0]) == (0, "updated: jx-staging/docker/docker-secret.yaml (forced over a file not made "
                                            "by this replication)")
    (config_root / "namespaces/jx/docker/docker-secret.yaml").unlink()
    rc, out, _ = replicate("--dir", config_root, "--to", "jx-staging", "--prune")
    assert (rc, out.splitlines()[0]) == (0, "pruned: jx-staging/docker/docker-secret.yaml (source jx/docker is gone "
                                            "or no longer selected)")
    assert not (config_root / "namespaces/jx-staging/docker/docker-secret.yaml").exists()


def test_names_pick_files_without_the_label(config_root):
    rc, out, _ = replicate("--dir", config_root, "--to", "jx-staging", "--name", "lighthouse-oauth-token")
    assert (rc, out) == (0, "created: jx-staging/lighthouse/lighthouse-oauth-token-externalsecret.yaml (from "
                            "jx/lighthouse-oauth-token)\n")


@pytest.mark.parametrize("args, rc, err", [
    (["--dir", "/nonexistent"], 1, "error: /nonexistent/namespaces/jx is not a folder: pass the config-root of a "
                                   "GitOps repository to --dir\n"),
    (["--dir", "ROOT", "--name", "nope"], 1, "error: no ExternalSecret or Secret file for nope under "
                                             "ROOT/namespaces/jx: nothing copied\n"),
    (["--dir", "ROOT", "-l", "a in (b"], 2, 'error: invalid label selector "a in (b": unbalanced parentheses\n'
                                            "see 'kubectl jxsecret replicate -h' for help\n"),
])
def test_mistakes(config_root, args, rc, err):
    got = replicate(*[str(config_root) if a == "ROOT" else a for a in args])
    assert (got[0], got[2]) == (rc, err.replace("ROOT", str(config_root)))


@pytest.mark.parametrize("selector, labels, expected", [
    ("a=b", {"a": "b"}, True),
    ("a==b", {"a": "c"}, False),
    ("a!=b", {}, True),
    ("a!=b", {"a": "b"}, False),
    ("a in (b, c),d", {"a": "c", "d": ""}, True),
    ("a in (b,c)", {"a": "x"}, False),
    ("a notin (b)", {}, True),
    ("!a", {"a": "b"}, False),
    ("!a", {}, True),
    ("a", {}, False),
    ("secret.jenkins-x.io/replica-source=true", SOURCE, True),
    ("", {}, True),
])
def test_label_selectors_as_kubectl_reads_them(selector, labels, expected):
    assert matches(labels, parse_selector(selector)) is expected


@pytest.mark.parametrize("selector, message", [
    ("a in (b", 'invalid label selector "a in (b": unbalanced parentheses'),
    ("a b", 'invalid label selector "a b": cannot read "a b"'),
    ("a=b,=c", 'invalid label selector "a=b,=c": cannot read "=c"'),
])
def test_label_selectors_that_cannot_be_read(selector, message):
    with pytest.raises(ValueError) as e:
        parse_selector(selector)
    assert str(e.value) == message
