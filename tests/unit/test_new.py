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


def new(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(["kubectl-jxsecret", "new", *map(str, args)], cli.Environment(stdout=out, stderr=err, environ={}))
    return rc, out.getvalue(), err.getvalue()


def test_data_flags_make_the_entries_of_one_store_path():
    rc, out, err = new("docker", "-n", "jx", "--store", "ClusterSecretStore/vault", "--key", "knative/docker",
                       "--data", "username", "--data", "token=password", "--refresh-interval", "10m")
    assert (rc, err) == (0, "")
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
    assert (rc, err) == (0, "")
    manifest = json.loads(out)
    assert manifest["metadata"]["name"] == "nexus" and "namespace" not in manifest["metadata"]
    assert [d["secretKey"] for d in manifest["spec"]["data"]] == ["password", "username"]
    annotation = manifest["metadata"]["annotations"]["secret.jenkins-x.io/schema-object"]
    from kubectl_jxsecret.model.schema import parse_file

    assert parse_annotation(annotation, "es") == parse_file(SCHEMA, "s")["nexus"]


def test_dir_writes_a_file_once(tmp_path):
    args = ("app", "--store", "ClusterSecretStore/vault", "--data", "token", "--dir", tmp_path)
    assert new(*args) == (0, "", f"wrote {tmp_path}/app.yaml\n")
    assert yaml.safe_load((tmp_path / "app.yaml").read_text())["spec"]["data"][0]["secretKey"] == "token"
    assert new(*args) == (1, "", f"error: {tmp_path}/app.yaml exists: not overwritten\n")


@pytest.mark.parametrize("args, rc, error", [
    (("app", "--store", "vault", "--data", "k"), 2,
     "error: --store vault: expected ClusterSecretStore/NAME or SecretStore/NAME\n"
     "see 'kubectl jxsecret new -h' for help\n"),
    (("app", "--store", "ClusterSecretStore/vault"), 2,
     "error: no keys: give --data KEY (repeatable), or --schema with properties for NAME\n"
     "see 'kubectl jxsecret new -h' for help\n"),
    (("app", "--store", "ClusterSecretStore/vault", "--data", "k="), 2,
     "error: --data k=: expected KEY or KEY=PROPERTY\nsee 'kubectl jxsecret new -h' for help\n"),
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
