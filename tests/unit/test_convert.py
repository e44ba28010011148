"""`convert`'s pure part (model.convert): Secret documents in, ESO v1 ExternalSecrets and store values out."""

import io

import pytest
import yaml

from kubectl_jxsecret import cli
from kubectl_jxsecret.model.convert import (ConvertError, builtin_problems, config_root_path, parse_secrets,
                                            store_path, to_external_secret, values_by_path)

CANARY = "canary-7f3a"
SECRET = f"""# Source: lighthouse/templates/oauthsecret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: lighthouse-oauth-token
  namespace: jx
  uid: 0d1f
  resourceVersion: "42"
  labels:
    app: lighthouse
  annotations:
    config/checksum: abc
    kubectl.kubernetes.io/last-applied-configuration: '{{"stringData":{{"token":"{CANARY}"}}}}'
type: Opaque
data:
  oauth: Y2FuYXJ5LTdmM2E=
stringData:
  token: {CANARY}-two
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-a-secret
"""


@pytest.mark.parametrize("name, prop, prefix, path", [
    ("knative-docker-user-pass", "username", "", "knative/docker/user/pass"),
    ("lighthouse-oauth-token", "token", "", "lighthouse/oauth"),
    ("lighthouse-oauth-token", "oauth", "", "lighthouse/oauth/token"),
    ("token", "token", "", "token"),  # a one-segment name keeps its segment
    ("jx-boot", "password", "jx/", "jx/jx/boot"),
    ("a.b-c", "c", "/p/q/", "p/q/a.b"),
])
def test_store_path_is_jx_convert_layout(name, prop, prefix, path):
    assert store_path(name, prop, prefix) == path


def test_a_secret_becomes_an_external_secret_with_its_type_labels_and_annotations_in_the_template():
    [secret] = parse_secrets(SECRET, "s.yaml")
    assert (secret.name, secret.namespace, secret.line, secret.keys) == ("lighthouse-oauth-token", "jx", 2,
                                                                          ["oauth", "token"])
    assert to_external_secret(secret, "ClusterSecretStore", "vault", refresh_interval="10m") == {
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "lighthouse-oauth-token", "namespace": "jx", "labels": {"app": "lighthouse"}},
        "spec": {"refreshInterval": "10m", "secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
                 "target": {"name": "lighthouse-oauth-token", "creationPolicy": "Owner",
                            "template": {"type": "Opaque",
                                         "metadata": {"labels": {"app": "lighthouse"},
                                                      "annotations": {"config/checksum": "abc"}}}},
                 "data": [{"secretKey": "oauth", "remoteRef": {"key": "lighthouse/oauth/token", "property": "oauth"}},
                          {"secretKey": "token", "remoteRef": {"key": "lighthouse/oauth", "property": "token"}}]}}


def test_the_schema_annotation_goes_on_the_external_secret_and_its_template():
    [secret] = parse_secrets("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n", "s.yaml", "jx")
    es = to_external_secret(secret, "SecretStore", "local", schema_annotation='{"mandatory":true}')
    assert es["metadata"] == {"name": "s", "namespace": "jx",
                              "annotations": {"secret.jenkins-x.io/schema-object": '{"mandatory":true}'}}
    assert es["spec"]["target"]["template"] == {
        "metadata": {"annotations": {"secret.jenkins-x.io/schema-object": '{"mandatory":true}'}}}


def test_values_are_decoded_grouped_by_store_path_and_never_in_the_repr():
    secrets = parse_secrets(SECRET, "s.yaml")
    assert values_by_path(secrets) == {"lighthouse/oauth/token": {"oauth": CANARY},
                                       "lighthouse/oauth": {"token": f"{CANARY}-two"}}
    assert CANARY not in repr(secrets)


def test_string_data_wins_over_data_as_in_kubernetes():
    text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: YQ==}\nstringData: {k: b}\n"
    [secret] = parse_secrets(text, "f")
    assert (secret.keys, values_by_path([secret])) == (["k"], {"s": {"k": "b"}})


@pytest.mark.parametrize("text, error", [
    ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: [",
     "f.yaml, line 6: not valid YAML: expected the node content, but found '<stream end>'"),
    ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: not*base64\n",
     "f.yaml, line 6: data.k is not base64 (plain text goes under stringData)"),
    ("apiVersion: v1\nkind: Secret\nmetadata:\n  namespace: jx\ndata:\n  k: YQ==\n",
     "f.yaml, line 1: Secret without metadata.name"),
    ("---\napiVersion: v1\nkind: Secret\nmetadata: {name: Bad_Name}\nstringData: {k: v}\n",
     "f.yaml, line 2: Secret name 'Bad_Name' is not a valid Kubernetes name"),
    ("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  ok: v\n  bad key: v\n",
     "f.yaml, line 6: stringData key 'bad key' is not a valid Secret key"),
    ("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: [a]\n", "f.yaml, line 4: data is not a map"),
    ("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  k: {a: b}\n",
     "f.yaml, line 5: stringData: expected text keys and values"),
    ("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\n",
     "f.yaml, line 1: Secret s has no data or stringData keys: nothing to read from a store"),
    ("- a\n", "f.yaml, line 1: expected a Kubernetes object (a map)"),
    ("apiVersion: v1\nkind: List\nitems: []\n",
     "f.yaml, line 1: a List: give the Secrets as separate YAML documents"),
])
def test_malformed_files_name_the_file_and_line(text, error):
    with pytest.raises(ConvertError) as e:
        parse_secrets(text, "f.yaml")
    assert str(e.value) == error


def test_an_invalid_base64_value_is_never_in_the_error():
    with pytest.raises(ConvertError) as e:
        parse_secrets(f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\ndata: {{k: {CANARY}!}}\n", "f")
    assert CANARY not in str(e.value)


def test_binary_values_and_conflicting_values_are_refused_for_populate():
    binary = parse_secrets("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: //79\n", "b.yaml")
    with pytest.raises(ConvertError, match=r"^b.yaml, line 5: data.k of Secret s is binary, not UTF-8 text"):
        values_by_path(binary)
    clash = (parse_secrets("apiVersion: v1\nkind: Secret\nmetadata: {name: a-k}\nstringData: {k: one}\n", "1.yaml")
             + parse_secrets("apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {k: two}\n", "2.yaml"))
    with pytest.raises(ConvertError) as e:
        values_by_path(clash)
    assert str(e.value) == ("2.yaml, line 4: k of Secret a goes to store path a, property k, as 1.yaml, line 4 "
                            "does, with a different value")


@pytest.mark.parametrize("source, ns, name, path", [
    ("config-root/namespaces/jx/lighthouse/lighthouse-oauth-token-secret.yaml", "jx", "lighthouse-oauth-token",
     "namespaces/jx/lighthouse/lighthouse-oauth-token-externalsecret.yaml"),
    ("secrets/app.yaml", "jx", "app", "namespaces/jx/app-externalsecret.yaml"),
    ("config-root/namespaces/other/x/app.yaml", "jx", "app", "namespaces/jx/app-externalsecret.yaml"),
])
def test_config_root_path(source, ns, name, path):
    assert config_root_path(source, ns, name) == path


@pytest.mark.parametrize("change, problem", [
    ({"metadata": {"name": "Bad"}}, "metadata.name 'Bad' is not a valid Kubernetes name"),
    ({"spec": {"secretStoreRef": {"kind": "Vault", "name": "v"}, "data": []}},
     "spec.secretStoreRef.kind 'Vault': want SecretStore or ClusterSecretStore"),
    ({"spec": {"secretStoreRef": {"kind": "SecretStore", "name": "v"},
               "data": [{"secretKey": "k", "remoteRef": {"key": "p"}}] * 2}},
     "spec.data[1].secretKey 'k' is given twice"),
])
def test_builtin_rules(change, problem):
    [secret] = parse_secrets("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n", "f")
    manifest = to_external_secret(secret, "ClusterSecretStore", "vault")
    assert builtin_problems(manifest) == []
    for part, value in change.items():
        manifest[part] = value
    assert builtin_problems(manifest) == [problem]


def convert(*args):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(["kubectl-jxsecret", "convert", *map(str, args)], cli.Environment(stdout=out, stderr=err, environ={}))
    return rc, out.getvalue(), err.getvalue()


def test_the_command_prints_every_external_secret_of_a_directory_and_never_a_value(tmp_path):
    (tmp_path / "a.yaml").write_text(SECRET)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: b}\nstringData: {x: y}\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: c}\nstringData: {x: y}\n")
    rc, out, err = convert(tmp_path, "--store", "ClusterSecretStore/vault", "--validate", "local", "-n", "apps")
    assert (rc, err) == (0, "validated by the built-in rules\n")
    docs = list(yaml.safe_load_all(out))
    assert [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in docs] == [
        ("jx", "lighthouse-oauth-token"), ("apps", "b")]
    assert CANARY not in out


@pytest.mark.parametrize("args, rc, error", [
    (("--store", "vault"), 2, "error: --store vault: expected ClusterSecretStore/NAME or SecretStore/NAME\n"
                              "see 'kubectl jxsecret convert -h' for help\n"),
    (("--store", "SecretStore/v", "--dry-run"), 2,
     "error: --dry-run is for --populate (without it nothing is written to a store)\n"
     "see 'kubectl jxsecret convert -h' for help\n"),
    (("--store", "SecretStore/v", "--apply", "--config-root", "x"), 2,
     "error: --apply and --config-root: choose one (the cluster, or the files of a GitOps repository)\n"
     "see 'kubectl jxsecret convert -h' for help\n"),
])
def test_refusals(tmp_path, args, rc, error):
    (tmp_path / "a.yaml").write_text(SECRET)
    assert convert(tmp_path / "a.yaml", *args) == (rc, "", error)


def test_files_without_secrets_and_missing_files(tmp_path):
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert convert(tmp_path, "--store", "SecretStore/v", "--validate", "local") == (
        1, "", f"error: no v1 Secret manifests in {tmp_path}: nothing to convert\n")
    assert convert(tmp_path / "nope.yaml", "--store", "SecretStore/v") == (
        2, "", f"error: {tmp_path}/nope.yaml: no such file or directory\nsee 'kubectl jxsecret convert -h' for help\n")


def test_a_schema_that_describes_the_secret_goes_in_the_annotation(tmp_path):
    (tmp_path / "schema.yaml").write_text("apiVersion: secret.jenkins-x.io/v1alpha1\nkind: Schema\nspec:\n  objects:\n"
                                          "  - name: b\n    mandatory: true\n    properties:\n"
                                          "    - name: x\n      question: the x\n")
    (tmp_path / "s.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: b}\nstringData: {x: y}\n---\n"
                                     "apiVersion: v1\nkind: Secret\nmetadata: {name: other}\nstringData: {x: y}\n")
    rc, out, err = convert(tmp_path / "s.yaml", "--store", "ClusterSecretStore/vault", "--validate", "local",
                           "--schema", tmp_path / "schema.yaml")
    assert (rc, err) == (0, "validated by the built-in rules\n")
    described, other = yaml.safe_load_all(out)
    annotation = '{"name":"b","mandatory":true,"properties":[{"name":"x","question":"the x"}]}'
    assert described["metadata"]["annotations"] == {"secret.jenkins-x.io/schema-object": annotation}
    assert described["spec"]["target"]["template"]["metadata"]["annotations"] == {
        "secret.jenkins-x.io/schema-object": annotation}
    assert "annotations" not in other["metadata"]


def test_converting_into_the_tree_the_secrets_came_from_says_which_files_still_hold_values(tmp_path):
    source = tmp_path / "namespaces" / "jx" / "app"
    source.mkdir(parents=True)
    (source / "app-secret.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: app, namespace: jx}\n"
                                            f"stringData: {{k: {CANARY}}}\n")
    rc, out, err = convert(tmp_path, "--store", "ClusterSecretStore/vault", "--validate", "local", "--config-root",
                           tmp_path)
    written = source / "app-externalsecret.yaml"
    assert (rc, out) == (0, "")
    assert err.splitlines() == [
        "validated by the built-in rules", f"wrote {written}",
        f"note: {source}/app-secret.yaml still holds the Secret's values: remove it before committing"]
    assert CANARY not in written.read_text()


def test_schema_dir_finds_the_chart_by_helm_label_or_by_the_folder_the_file_is_in(tmp_path):
    for chart in ("nexus", "lighthouse"):
        (tmp_path / "vs" / "charts" / "jenkins-x" / chart).mkdir(parents=True)
        (tmp_path / "vs" / "charts" / "jenkins-x" / chart / "secret-schema.yaml").write_text(
            f"apiVersion: secret.jenkins-x.io/v1alpha1\nkind: Schema\nspec:\n  objects:\n  - name: {chart}-secret\n"
            f"    properties:\n    - name: k\n      question: the {chart} k\n")
    folder = tmp_path / "config-root" / "namespaces" / "jx" / "lighthouse"
    folder.mkdir(parents=True)
    (folder / "a.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: nexus-secret\n  labels: {helm.sh/chart: nexus-1.2.3}\n"
        "stringData: {k: v}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: lighthouse-secret}\n"
        "stringData: {k: v}\n")
    rc, out, err = convert(folder, "--store", "ClusterSecretStore/vault", "--validate", "local", "--schema-dir",
                           tmp_path / "vs")
    assert rc == 0, err
    assert [d["metadata"]["annotations"]["secret.jenkins-x.io/schema-object"] for d in yaml.safe_load_all(out)] == [
        '{"name":"nexus-secret","properties":[{"name":"k","question":"the nexus k"}]}',
        '{"name":"lighthouse-secret","properties":[{"name":"k","question":"the lighthouse k"}]}']
