"""`kubectl jxsecret new` (model.manifest and the command): the ExternalSecret it writes, and what it refuses."""

import io
import json

import pytest
import yaml

from kubectl_jxsecret import cli
from kubectl_jxsecret.model.manifest import parse_data, property_json
from kubectl_jxsecret.model.schema import Property, parse_annotation

SCHEMA = """apiVersion: secret.jenkins-x.io/v1alpha1
kind: Schema
spec:
  objects:
  - name: nexus
    mandatory: true
    properties:
    - name: password
      question: Nexus admin password
      generator: password
      maxLength: 20
      noMask: true
    - name: username
      defaultValue: admin
"""


LOCAL = "validated by the built-in rules\n"


def new(*args, validate="local"):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(["kubectl-jxsecret", "new", *map(str, args), "--validate", validate],
                  cli.Environment(stdout=out, stderr=err, environ={}))
    return rc, out.getvalue(), err.getvalue()


def test_data_flags_make_the_entries_of_one_store_path():
    rc, out, err = new("docker", "-n", "jx", "--store", "ClusterSecretStore/vault", "--key", "knative/docker",
                       "--data", "username", "--property", "token=password", "--refresh-interval", "10m")
    assert (rc, err) == (0, LOCAL)
    assert yaml.safe_load(out) == {
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "docker", "namespace": "jx"},
        "spec": {"refreshInterval": "10m", "secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
                 "target": {"name": "docker", "creationPolicy": "Owner"},
                 "data": [{"secretKey": "username", "remoteRef": {"key": "knative/docker", "property": "username"}},
                          {"secretKey": "token", "remoteRef": {"key": "knative/docker", "property": "password"}}]}}


def test_a_schema_adds_its_properties_and_the_annotation_that_reads_back_the_same(tmp_path):
    schema = tmp_path / "secret-schema.yaml"
    schema.write_text(SCHEMA)
    rc, out, err = new("nexus", "--store", "SecretStore/local", "--schema", schema, "-o", "json")
    assert (rc, err) == (0, LOCAL)
    manifest = json.loads(out)
    assert manifest["metadata"]["name"] == "nexus" and "namespace" not in manifest["metadata"]
    assert [d["secretKey"] for d in manifest["spec"]["data"]] == ["password", "username"]
    annotation = manifest["metadata"]["annotations"]["secret.jenkins-x.io/schema-object"]
    from kubectl_jxsecret.model.schema import parse_file

    assert parse_annotation(annotation, "es") == parse_file(SCHEMA, "s")["nexus"]


@pytest.mark.parametrize("flag", ["--config-root", "--dir"])
def test_config_root_writes_jenkins_x_layout_once(tmp_path, flag):
    args = ("app", "-n", "jx", "--store", "ClusterSecretStore/vault", "--data", "token", flag, tmp_path)
    path = tmp_path / "namespaces" / "jx" / "app-externalsecret.yaml"
    assert new(*args) == (0, "", f"{LOCAL}wrote {path}\n")
    written = yaml.safe_load(path.read_text())
    assert (written["metadata"], written["spec"]["data"][0]["secretKey"]) == ({"name": "app", "namespace": "jx"},
                                                                              "token")
    assert new(*args) == (1, "", f"{LOCAL}error: {path} exists: not overwritten\n")


def test_without_a_cluster_auto_validation_says_why_it_used_the_built_in_rules(tmp_path):
    missing = tmp_path / "no-such-kubeconfig"
    assert new("app", "-n", "jx", "--store", "ClusterSecretStore/vault", "--data", "k", "--kubeconfig", missing,
               "--dir", tmp_path, validate="auto") == (
        0, "", f"validated by the built-in rules (no cluster: kubeconfig {missing} (from --kubeconfig) does not "
               f"exist: fix the path)\nwrote {tmp_path}/namespaces/jx/app-externalsecret.yaml\n")


@pytest.mark.parametrize("args, rc, error", [
    (("app", "--store", "vault", "--data", "k"), 2,
     "error: --store vault: expected ClusterSecretStore/NAME or SecretStore/NAME\n"
     "see 'kubectl jxsecret new -h' for help\n"),
    (("app", "--store", "ClusterSecretStore/vault"), 2,
     "error: missing --data KEY (run at a terminal to be asked)\nsee 'kubectl jxsecret new -h' for help\n"),
    (("app",), 2,
     "error: missing --store KIND/NAME and --data KEY (run at a terminal to be asked)\n"
     "see 'kubectl jxsecret new -h' for help\n"),
    (("app", "--store", "ClusterSecretStore/vault", "--data", "k="), 2,
     "error: --data k=: expected KEY or KEY=PROPERTY\nsee 'kubectl jxsecret new -h' for help\n"),
    (("app", "--store", "ClusterSecretStore/vault", "--data", "k", "--config-root", "x"), 2,
     "error: --config-root needs -n NS: the files live under namespaces/<ns>/\n"
     "see 'kubectl jxsecret new -h' for help\n"),
    (("app", "-n", "jx", "--store", "ClusterSecretStore/vault", "--data", "k", "--dir", "x", "--apply"), 2,
     "error: --config-root and --apply: choose one\nsee 'kubectl jxsecret new -h' for help\n"),
    (("app", "--store", "ClusterSecretStore/vault", "--data", "k", "--refresh-interval", "soon"), 2,
     'error: invalid value "soon" for --refresh-interval: want a duration such as 30s, 5m or 1h\n'
     "see 'kubectl jxsecret new -h' for help\n"),
])
def test_refusals(args, rc, error):
    assert new(*args) == (rc, "", error)


def test_a_schema_without_the_object_is_refused(tmp_path):
    schema = tmp_path / "secret-schema.yaml"
    schema.write_text(SCHEMA)
    assert new("other", "--store", "ClusterSecretStore/vault", "--schema", schema) == (
        1, "", f"error: {schema} has no object named other\n")


@pytest.mark.parametrize("spec, pair", [("k", ("k", "k")), ("k=p", ("k", "p")), ("k=a=b", ("k", "a=b"))])
def test_parse_data(spec, pair):
    assert parse_data(spec) == pair


def test_property_json_uses_jx_json_names_and_leaves_out_what_is_unset():
    assert property_json(Property("p", min_length=0, only_template_if_blank=True, mask=False)) == {
        "name": "p", "onlyTemplateIfBlank": True, "minLength": 0, "noMask": True}


ENTER, BACKSPACE = "\r", "\x7f"


def test_at_a_terminal_missing_flags_are_asked(terminal):
    out, err = io.StringIO(), io.StringIO()
    env = cli.Environment(stdout=out, stderr=err, stdin=terminal.stdin, environ={})
    terminal.type("jx" + ENTER,  # namespace
                  BACKSPACE * len("ClusterSecretStore/vault") + "vault" + ENTER,  # refused (not KIND/NAME): asked again
                  BACKSPACE * len("vault") + "ClusterSecretStore/vault" + ENTER,
                  ENTER,  # store path: the default, NAME
                  "username token=password" + ENTER)
    rc = cli.main(["kubectl-jxsecret", "new", "docker", "--validate", "local"], env)
    assert (rc, err.getvalue()) == (0, LOCAL)
    manifest = yaml.safe_load(out.getvalue())
    assert manifest["metadata"] == {"name": "docker", "namespace": "jx"}
    assert manifest["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "vault"}
    assert [(d["secretKey"], d["remoteRef"]) for d in manifest["spec"]["data"]] == [
        ("username", {"key": "docker", "property": "username"}), ("token", {"key": "docker", "property": "password"})]


def test_at_a_terminal_only_what_is_missing_is_asked(terminal):
    out, err = io.StringIO(), io.StringIO()
    env = cli.Environment(stdout=out, stderr=err, stdin=terminal.stdin, environ={})
    terminal.type("k1 k2" + ENTER)
    rc = cli.main(["kubectl-jxsecret", "new", "app", "-n", "jx", "--store", "SecretStore/local", "--key", "p",
                   "--validate", "local"], env)
    assert (rc, err.getvalue()) == (0, LOCAL)
    assert [d["secretKey"] for d in yaml.safe_load(out.getvalue())["spec"]["data"]] == ["k1", "k2"]
    assert "namespace of" not in terminal.shown and "store (" not in terminal.shown
