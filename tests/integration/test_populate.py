"""populate and rotate against the real testbed: schemas of the kinds Jenkins X ships (password, hmac, a template
over another value, gitOperator), values checked in OpenBao and then in the Secret the real ESO syncs.

No value is ever printed: every generated value, and a canary in the jx-boot Secret, is looked for in the output."""

import base64
import json
import re
import secrets
from pathlib import Path

import hvac.exceptions
import pytest

pytestmark = pytest.mark.integration

STORE = {"kind": "ClusterSecretStore", "name": "vault"}
SCHEMA_HEAD = "apiVersion: secret.jenkins-x.io/v1alpha1\nkind: Schema\nspec:\n  objects:\n"


def es(name, ns, path, keys, schema=None, labels=None):
    """An ExternalSecret reading `keys` of `path` (secretKey = property); `schema` goes in the annotation."""
    meta = {"name": name, "namespace": ns}
    if schema is not None:
        meta["annotations"] = {"secret.jenkins-x.io/schema-object": json.dumps(schema)}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": meta,
            "spec": {"secretStoreRef": STORE, "refreshInterval": "1h",
                     "data": [{"secretKey": k, "remoteRef": {"key": path, "property": k}} for k in keys]}}


def path_of(ns, name):
    return f"tests/{ns}/{name}"


def stored(testbed, path):
    try:
        return testbed.vault().secrets.kv.v2.read_secret_version(path, mount_point="secret",
                                                                 raise_on_deleted_version=True)["data"]["data"]
    except hvac.exceptions.InvalidPath:
        return None


def put(testbed, path, values):
    testbed.vault().secrets.kv.v2.create_or_update_secret(path, secret=values, mount_point="secret")


def synced(testbed, ns, name):
    """The Secret ESO wrote, decoded."""
    data = testbed.get("secret", name, "-n", ns).get("data") or {}
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def settle(testbed, ns, *objects, ready="False"):
    testbed.apply(*objects)
    for obj in objects:
        testbed.wait_until(lambda: testbed.ready(ns, obj["metadata"]["name"]) == ready)


def populate(testbed, *args):
    return testbed.jxsecret("populate", "--timeout", "60s", *args)


def rotate(testbed, *args):
    return testbed.jxsecret("rotate", "--timeout", "60s", *args)


def never_shows(result, *values):
    for value in values:
        assert value not in result.stdout + result.stderr, "a value was printed"


CHARTMUSEUM = {"mandatory": True, "properties": [
    {"name": "BASIC_AUTH_USER", "question": "user", "defaultValue": "admin"},
    {"name": "BASIC_AUTH_PASS", "question": "password", "generator": "password", "maxLength": 41}]}
HMAC = {"properties": [{"name": "hmac", "question": "webhook HMAC", "generator": "hmac"}]}
MAVEN = {"properties": [{"name": "settings.xml", "question": "maven settings",
                         "template": '<server><username>{{ extsecret "chartmuseum" "BASIC_AUTH_USER" }}</username>'
                                     '<password>{{ extsecret "chartmuseum" "BASIC_AUTH_PASS" }}</password></server>'}]}
GIT = {"properties": [{"name": "username", "question": "git user", "generator": "gitOperator.username"},
                      {"name": "password", "question": "git token", "generator": "gitOperator.password"}]}


@pytest.fixture
def boot(testbed, namespace):
    """Secret jx-boot, as the git operator leaves it: a canary for a password."""
    canary = f"canary-{secrets.token_hex(8)}"
    testbed.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "jx-boot", "namespace": namespace},
                   "stringData": {"username": "jenkins-x-bot", "password": canary}})
    return canary


@pytest.mark.real_eso
def test_populate_generates_defaults_templates_and_git_operator_values_then_eso_syncs_them(testbed, namespace, boot):
    ns = namespace
    settle(testbed, ns, es("chartmuseum", ns, path_of(ns, "chartmuseum"), ["BASIC_AUTH_USER", "BASIC_AUTH_PASS"],
                           CHARTMUSEUM),
           es("lighthouse-hmac-token", ns, path_of(ns, "hmac"), ["hmac"], HMAC),
           es("maven-settings", ns, path_of(ns, "maven"), ["settings.xml"], MAVEN),
           es("tekton-git", ns, path_of(ns, "git"), ["username", "password"], GIT))
    result = populate(testbed, "-n", ns, "--boot-secret-namespace", ns)
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[:11] == [
        f"{ns}/chartmuseum.BASIC_AUTH_USER: defaultValue",
        f"{ns}/chartmuseum.BASIC_AUTH_PASS: generator password",
        f"{ns}/lighthouse-hmac-token.hmac: generator hmac",
        f"{ns}/maven-settings.settings.xml: template",
        f"{ns}/tekton-git.username: generator gitOperator.username",
        f"{ns}/tekton-git.password: generator gitOperator.password",
        f"wrote: ClusterSecretStore/vault {path_of(ns, 'chartmuseum')}: BASIC_AUTH_PASS (new), BASIC_AUTH_USER (new)",
        f"wrote: ClusterSecretStore/vault {path_of(ns, 'git')}: password (new), username (new)",
        f"wrote: ClusterSecretStore/vault {path_of(ns, 'hmac')}: hmac (new)",
        f"wrote: ClusterSecretStore/vault {path_of(ns, 'maven')}: settings.xml (new)",
        "force-sync requested for 4 ExternalSecrets; waiting for ESO to sync"]
    # in the order ESO finishes them
    assert sorted(lines[11:15]) == [f"{ns}/{name}: synced" for name in
                                    ("chartmuseum", "lighthouse-hmac-token", "maven-settings", "tekton-git")]
    assert lines[15:] == [
        f"populated: {ns}/chartmuseum, {ns}/lighthouse-hmac-token, {ns}/maven-settings, {ns}/tekton-git"]

    chart = stored(testbed, path_of(ns, "chartmuseum"))
    password = chart["BASIC_AUTH_PASS"]
    assert chart["BASIC_AUTH_USER"] == "admin"
    assert len(password) == 41 and re.search(r"\d", password) and re.search(r"[~!#%^_+\-=?,.]", password)
    hmac = stored(testbed, path_of(ns, "hmac"))["hmac"]
    assert re.fullmatch(r"[0-9a-f]{41}", hmac)
    # The template read the password generated in the first pass of this very run.
    settings = f"<server><username>admin</username><password>{password}</password></server>"
    assert stored(testbed, path_of(ns, "maven")) == {"settings.xml": settings}
    assert stored(testbed, path_of(ns, "git")) == {"username": "jenkins-x-bot", "password": boot}
    # ... and ESO put each of them in its Secret.
    assert synced(testbed, ns, "chartmuseum") == chart
    assert synced(testbed, ns, "lighthouse-hmac-token") == {"hmac": hmac}
    assert synced(testbed, ns, "maven-settings") == {"settings.xml": settings}
    assert synced(testbed, ns, "tekton-git") == {"username": "jenkins-x-bot", "password": boot}
    never_shows(result, password, hmac, boot)

    # Again: every value is set now, and nothing is written.
    again = populate(testbed, "-n", ns, "--boot-secret-namespace", ns)
    assert (again.returncode, again.stderr) == (0, "")
    # the template has no onlyTemplateIfBlank, so it renders again, to the same value
    assert again.stdout.splitlines() == [
        f"{ns}/maven-settings.settings.xml: template",
        f"unchanged: ClusterSecretStore/vault {path_of(ns, 'maven')}: settings.xml"]
    assert stored(testbed, path_of(ns, "chartmuseum"))["BASIC_AUTH_PASS"] == password


@pytest.mark.real_eso
def test_overwrite_regenerates_set_values(testbed, namespace):
    ns, path = namespace, path_of(namespace, "hmac")
    put(testbed, path, {"hmac": "old-value"})
    settle(testbed, ns, es("lighthouse-hmac-token", ns, path, ["hmac"], HMAC), ready="True")
    result = populate(testbed, "-n", ns, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [f"{ns}/lighthouse-hmac-token.hmac: generator hmac",
                                             f"wrote: ClusterSecretStore/vault {path}: hmac (changed)"]
    new = stored(testbed, path)["hmac"]
    assert re.fullmatch(r"[0-9a-f]{41}", new)
    assert synced(testbed, ns, "lighthouse-hmac-token") == {"hmac": new}
    never_shows(result, new, "old-value")


def test_dry_run_says_where_values_come_from_and_writes_nothing(testbed, namespace):
    ns = namespace
    settle(testbed, ns, es("chartmuseum", ns, path_of(ns, "chartmuseum"), ["BASIC_AUTH_USER", "BASIC_AUTH_PASS"],
                           CHARTMUSEUM))
    mark = testbed.audit_mark()
    result = populate(testbed, "-n", ns, "--dry-run")
    assert (result.returncode, result.stderr) == (0, "dry run: nothing written\n")
    assert result.stdout.splitlines() == [
        f"{ns}/chartmuseum.BASIC_AUTH_USER: defaultValue",
        f"{ns}/chartmuseum.BASIC_AUTH_PASS: generator password",
        f"would write: ClusterSecretStore/vault {path_of(ns, 'chartmuseum')}: BASIC_AUTH_PASS (new), "
        "BASIC_AUTH_USER (new)"]
    assert stored(testbed, path_of(ns, "chartmuseum")) is None
    assert [verb for verb, _ in testbed.requests_since(mark) if verb == "patch"] == []


@pytest.mark.parametrize("schema, error", [
    ({"properties": [{"name": "user", "defaultValue": "abc", "minLength": 5}]},
     "error: {ns}/app.user: the default value is 3 characters, fewer than minLength 5"),
    ({"properties": [{"name": "user", "defaultValue": "admin", "pattern": "^[0-9]+$"}]},
     "error: {ns}/app.user: the default value does not match pattern ^[0-9]+$"),
    ({"properties": [{"name": "user", "template": '{{ if eq 1 "1" }}x{{ end }}'}]},
     "error: {ns}/app.user: template: eq: cannot compare an integer with a string"),
])
def test_a_value_the_schema_refuses_stops_everything_before_the_first_write(testbed, namespace, schema, error):
    ns = namespace
    settle(testbed, ns, es("app", ns, path_of(ns, "app"), ["user"], schema),
           es("lighthouse-hmac-token", ns, path_of(ns, "hmac"), ["hmac"], HMAC))
    result = populate(testbed, "-n", ns)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [error.format(ns=ns), "error: 1 value cannot be populated: nothing written"]
    assert stored(testbed, path_of(ns, "app")) is None
    assert stored(testbed, path_of(ns, "hmac")) is None  # the good one is not written either


@pytest.mark.real_eso
def test_a_template_whose_input_is_not_there_waits_and_the_others_are_written(testbed, namespace):
    """As a value only a person can set: named with what it waits for, not written, exit 3; the rest go ahead."""
    ns = namespace
    maven = {"properties": [{"name": "settings.xml", "template": '<u>{{ extsecret "nexus" "username" | default '
                                                                 '"admin" }}</u><p>{{ extsecret "sonatype" "password" '
                                                                 '}}</p>'}]}
    settle(testbed, ns, es("maven", ns, path_of(ns, "maven"), ["settings.xml"], maven),
           es("lighthouse-hmac-token", ns, path_of(ns, "hmac"), ["hmac"], HMAC))
    result = populate(testbed, "-n", ns)
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        f"note: {ns}/maven.settings.xml needs a value (its template needs an input that is not there: no "
        f"ExternalSecret {ns}/sonatype): kubectl jxsecret edit -n {ns} -f maven"]
    assert result.stdout.splitlines() == [
        f"{ns}/lighthouse-hmac-token.hmac: generator hmac",
        f"wrote: ClusterSecretStore/vault {path_of(ns, 'hmac')}: hmac (new)",
        "force-sync requested for 1 ExternalSecret; waiting for ESO to sync",
        f"{ns}/lighthouse-hmac-token: synced",
        f"populated: {ns}/lighthouse-hmac-token"]
    assert stored(testbed, path_of(ns, "maven")) is None


def test_values_that_need_a_person_point_at_edit(testbed, namespace):
    ns = namespace
    schema = {"properties": [{"name": "token", "question": "API token"},
                             {"name": "git", "generator": "gitOperator.password"}]}
    settle(testbed, ns, es("app", ns, path_of(ns, "app"), ["token", "git"], schema))
    result = populate(testbed, "-n", ns, "--boot-secret-namespace", ns)  # no jx-boot Secret there
    assert (result.returncode, result.stdout) == (3, "nothing to populate: every value is set, or needs a person\n")
    assert result.stderr.splitlines() == [
        f"note: {ns}/app.token needs a value (no template, generator or defaultValue in its schema): "
        f"kubectl jxsecret edit -n {ns} -f app",
        f"note: {ns}/app.git needs a value (Secret {ns}/jx-boot has no password (--boot-secret-namespace to look "
        f"elsewhere)): kubectl jxsecret edit -n {ns} -f app"]


@pytest.mark.real_eso
def test_an_htpasswd_template_hashes_the_generated_password(testbed, namespace):
    from kubectl_jxsecret.model import bcrypt

    ns = namespace
    schema = {"properties": [{"name": "username", "defaultValue": "admin"},
                             {"name": "password", "generator": "password"},
                             {"name": "auth", "template": '{{ htpasswdExtSecret "basic-auth" "username" "password" }}',
                              "onlyTemplateIfBlank": True}]}
    settle(testbed, ns, es("basic-auth", ns, path_of(ns, "basic-auth"), ["username", "password", "auth"], schema))
    result = populate(testbed, "-n", ns)
    assert result.returncode == 0, result.stderr
    values = stored(testbed, path_of(ns, "basic-auth"))
    user, _, hashed = values["auth"].partition(":")
    assert (user, hashed[:7]) == ("admin", "$2b$10$")
    assert bcrypt.check(values["password"], hashed)
    assert synced(testbed, ns, "basic-auth") == values
    never_shows(result, values["password"], hashed)
    # onlyTemplateIfBlank: the hash (with its salt) is kept on the next run
    again = populate(testbed, "-n", ns)
    assert (again.returncode, again.stdout) == (0, "nothing to populate: every value is set\n")


def test_a_schema_file_and_a_schema_dir(testbed, namespace, tmp_path):
    ns = namespace
    settle(testbed, ns, es("nexus", ns, path_of(ns, "nexus"), ["password"], labels={"helm.sh/chart": "nexus-0.1.38"}),
           es("bucketrepo", ns, path_of(ns, "bucketrepo"), ["token"]))
    chart_dir = tmp_path / "versions" / "charts" / "jenkins-x" / "nexus"
    chart_dir.mkdir(parents=True)
    (chart_dir / "secret-schema.yaml").write_text(
        SCHEMA_HEAD + "  - name: nexus\n    properties:\n    - name: password\n      generator: password\n"
                      "      maxLength: 12\n")
    schema = tmp_path / "secret-schema.yaml"
    schema.write_text(SCHEMA_HEAD + "  - name: bucketrepo\n    properties:\n    - name: token\n      generator: uuid\n")
    result = populate(testbed, "-n", ns, "--dry-run", "--schema", schema, "--schema-dir", tmp_path / "versions")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [f"{ns}/bucketrepo.token: generator uuid",
                                             f"{ns}/nexus.password: generator password"]


def test_a_malformed_schema_file_is_refused_with_its_line_before_the_cluster_is_asked(testbed, tmp_path):
    schema = tmp_path / "secret-schema.yaml"
    schema.write_text(SCHEMA_HEAD + "  - name: nexus\n    properties:\n    - name: password\n      maxLength: big\n")
    mark = testbed.audit_mark()
    result = populate(testbed, "-n", "default", "--schema", schema)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"error: {schema}, line 8: spec.objects[0].properties[0].maxLength: expected a whole "
                             "number >= 0, got 'big'\n")
    assert testbed.requests_since(mark) == []


@pytest.mark.real_eso
def test_a_malformed_schema_skips_its_externalsecret_only(testbed, namespace, tmp_path):
    """One error line per ExternalSecret whose schema cannot be read (its annotation, or its chart's file),
    naming it, where, and the field; the others are populated; exit 1 at the end."""
    ns = namespace
    bad = es("app", ns, path_of(ns, "app"), ["token"])
    bad["metadata"]["annotations"] = {"secret.jenkins-x.io/schema-object": '{"properties": [{"name": "token", '
                                                                          '"generator": "pasword"}]}'}
    chart = tmp_path / "versions" / "charts" / "jx3" / "nexus" / "secret-schema.yaml"
    chart.parent.mkdir(parents=True)
    chart.write_text(SCHEMA_HEAD + "  - name: nexus\n    properties:\n    - name: password\n      maxLength: big\n")
    settle(testbed, ns, bad, es("nexus", ns, path_of(ns, "nexus"), ["password"],
                                labels={"helm.sh/chart": "nexus-1.0.0"}),
           es("lighthouse-hmac-token", ns, path_of(ns, "hmac"), ["hmac"], HMAC))
    result = populate(testbed, "-n", ns, "--schema-dir", tmp_path / "versions")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: skipped {ns}/app: annotation secret.jenkins-x.io/schema-object: properties[0].generator: unknown "
        "generator 'pasword' (known: password, hmac, uuid, gitOperator.username, gitOperator.password)",
        f"error: skipped {ns}/nexus: {chart}, line 8: spec.objects[0].properties[0].maxLength: expected a whole "
        "number >= 0, got 'big'",
        "error: 2 ExternalSecrets skipped: a malformed secret schema (above)"]
    assert result.stdout.splitlines() == [
        f"{ns}/lighthouse-hmac-token.hmac: generator hmac",
        f"wrote: ClusterSecretStore/vault {path_of(ns, 'hmac')}: hmac (new)",
        "force-sync requested for 1 ExternalSecret; waiting for ESO to sync",
        f"{ns}/lighthouse-hmac-token: synced",
        f"populated: {ns}/lighthouse-hmac-token"]
    assert stored(testbed, path_of(ns, "app")) is None
    assert stored(testbed, path_of(ns, "nexus")) is None


def test_only_malformed_schemas_write_nothing_and_exit_1(testbed, namespace):
    bad = es("app", namespace, path_of(namespace, "app"), ["token"], {"properties": [{"name": "token",
                                                                                      "maxLength": "ten"}]})
    settle(testbed, namespace, bad)
    result = populate(testbed, "-n", namespace)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"error: skipped {namespace}/app: annotation secret.jenkins-x.io/schema-object: properties[0].maxLength: "
        "expected a whole number >= 0, got 'ten'",
        "error: 1 ExternalSecret skipped: a malformed secret schema (above)"]


JX3_VERSIONS = str(Path(__file__).parents[1] / "fixtures" / "jx3-versions")
# As Helm labels what jx installs; no repo directory of the fixtures pins 1.1.100: the first one counts.
BOOT_RESOURCES = {"helm.sh/chart": "jxboot-helmfile-resources-1.1.100"}


@pytest.mark.real_eso
def test_the_jenkins_x_version_stream_schemas_populate_a_cluster(testbed, namespace, boot, tmp_path):
    """`--schema-dir` the real version stream (tests/fixtures/jx3-versions): its gitops.jenkins-x.io files with
    `key:` fields, its templates with if/else, secret lookups that are missing, default, auth | b64enc | quote,
    htpasswdExtSecret over a generated password; ExternalSecrets found by their Helm chart, as jx labels them."""
    ns = namespace
    (tmp_path / "jx-requirements.yml").write_text("apiVersion: core.jenkins-x.io/v4beta1\nkind: Requirements\n"
                                                  "spec:\n  cluster:\n    provider: kind\n"
                                                  "    gitServer: https://github.com\n")
    settle(testbed, ns,
           es("jx-basic-auth-user-password", ns, path_of(ns, "basic-auth"), ["username", "password"],
              labels=BOOT_RESOURCES),
           es("jx-basic-auth-htpasswd", ns, path_of(ns, "htpasswd"), ["auth"], labels=BOOT_RESOURCES),
           es("tekton-container-registry-auth", ns, path_of(ns, "registry"), [".dockerconfigjson"],
              labels=BOOT_RESOURCES),
           es("lighthouse-hmac-token", ns, path_of(ns, "hmac"), ["token"],
              labels={"helm.sh/chart": "lighthouse-1.5.2"}))
    result = populate(testbed, "-n", ns, "--schema-dir", JX3_VERSIONS, "--dir", tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[:10] == [
        f"{ns}/jx-basic-auth-htpasswd.auth: template",
        f"{ns}/jx-basic-auth-user-password.username: defaultValue",
        f"{ns}/jx-basic-auth-user-password.password: generator password",
        f"{ns}/lighthouse-hmac-token.token: generator hmac",
        f"{ns}/tekton-container-registry-auth..dockerconfigjson: template",
        f"wrote: ClusterSecretStore/vault {path_of(ns, 'basic-auth')}: password (new), username (new)",
        f"wrote: ClusterSecretStore/vault {path_of(ns, 'hmac')}: token (new)",
        f"wrote: ClusterSecretStore/vault {path_of(ns, 'htpasswd')}: auth (new)",
        f"wrote: ClusterSecretStore/vault {path_of(ns, 'registry')}: .dockerconfigjson (new)",
        "force-sync requested for 4 ExternalSecrets; waiting for ESO to sync"]
    assert lines[-1] == (f"populated: {ns}/jx-basic-auth-htpasswd, {ns}/jx-basic-auth-user-password, "
                         f"{ns}/lighthouse-hmac-token, {ns}/tekton-container-registry-auth")

    from kubectl_jxsecret.model import bcrypt

    basic = stored(testbed, path_of(ns, "basic-auth"))
    assert basic["username"] == "admin" and 5 <= len(basic["password"]) <= 41  # the chart's minLength/maxLength
    user, _, hashed = stored(testbed, path_of(ns, "htpasswd"))["auth"].partition(":")
    assert user == "admin" and bcrypt.check(basic["password"], hashed)
    assert re.fullmatch(r"[0-9a-f]{41}", stored(testbed, path_of(ns, "hmac"))["token"])
    # The first repo directory with the object wins (charts/jenkins-x/...): no registry Secret, so only ghcr.io,
    # with jx-boot's user and password; its email is missing, so the `if` leaves it out.
    registry = stored(testbed, path_of(ns, "registry"))[".dockerconfigjson"]
    auth = base64.b64encode(f"jenkins-x-bot:{boot}".encode()).decode()
    assert registry == '{\n\n  "auths":{\n    "ghcr.io": {\n        "auth": "' + auth + '"\n    }\n  }\n}'
    assert json.loads(synced(testbed, ns, "tekton-container-registry-auth")[".dockerconfigjson"]) == {
        "auths": {"ghcr.io": {"auth": auth}}}
    never_shows(result, basic["password"], hashed, boot, auth)


@pytest.mark.real_eso
def test_the_chart_version_picks_the_repo_directory_that_pins_it(testbed, namespace, tmp_path):
    """jx3-versions has jxboot-helmfile-resources under jenkins-x/, jx3/ and jxgh/; the chart's version in the
    Helm label (1.1.169, what jxgh/'s defaults.yaml pins) picks jxgh/'s schema, whose template asks
    jx-requirements' gitServer and reads the registry Secret in namespace jx (not there: left out)."""
    ns = namespace
    (tmp_path / "jx-requirements.yml").write_text("spec:\n  cluster:\n    provider: kind\n"
                                                  "    gitServer: https://gitlab.com\n")
    settle(testbed, ns, es("tekton-container-registry-auth", ns, path_of(ns, "registry"), [".dockerconfigjson"],
                           labels={"helm.sh/chart": "jxboot-helmfile-resources-1.1.169"}))
    result = populate(testbed, "-n", ns, "--schema-dir", JX3_VERSIONS, "--dir", tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert stored(testbed, path_of(ns, "registry")) == {".dockerconfigjson": '{\n\n  "auths":{\n  }\n}'}


# ------------------------------------------------------------------------------------------ rotate

@pytest.fixture
def populated(testbed, namespace):
    """chartmuseum populated: a generated password, a default user, and an API key a person set."""
    ns, path = namespace, path_of(namespace, "chartmuseum")
    schema = {"properties": CHARTMUSEUM["properties"] + [{"name": "apikey", "question": "API key"}]}
    put(testbed, path, {"BASIC_AUTH_USER": "admin", "BASIC_AUTH_PASS": "first-password-1", "apikey": "k3y\n"})
    settle(testbed, ns, es("chartmuseum", ns, path, ["BASIC_AUTH_USER", "BASIC_AUTH_PASS", "apikey"], schema),
           ready="True")
    return ns, path


@pytest.mark.real_eso
def test_rotate_changes_exactly_the_generated_values_and_the_secret_follows(testbed, populated):
    ns, path = populated
    before = stored(testbed, path)
    result = rotate(testbed, "-n", ns, "-f", "chartmuseum")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        f"rotated: {ns}/chartmuseum.BASIC_AUTH_PASS: generator password",
        f"wrote: ClusterSecretStore/vault {path}: BASIC_AUTH_PASS (changed)",
        "force-sync requested for 1 ExternalSecret; waiting for ESO to sync",
        f"{ns}/chartmuseum: synced",
        f"populated: {ns}/chartmuseum"]
    after = stored(testbed, path)
    assert {k: v for k, v in after.items() if k != "BASIC_AUTH_PASS"} == {"BASIC_AUTH_USER": "admin",
                                                                          "apikey": "k3y\n"}  # byte for byte
    assert after["BASIC_AUTH_PASS"] != before["BASIC_AUTH_PASS"] and len(after["BASIC_AUTH_PASS"]) == 41
    assert synced(testbed, ns, "chartmuseum") == after
    never_shows(result, after["BASIC_AUTH_PASS"], "first-password-1", "k3y")


def test_rotate_refuses_a_property_without_a_generator(testbed, populated):
    ns, path = populated
    version = testbed.vault().secrets.kv.v2.read_secret_metadata(path, mount_point="secret")["data"]["current_version"]
    result = rotate(testbed, "-n", ns, "-f", "chartmuseum", "--property", "BASIC_AUTH_PASS", "--property", "apikey")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"error: {ns}/chartmuseum.apikey has no generator in its schema: rotate only "
                             f"regenerates generated values (set it with kubectl jxsecret edit -n {ns} "
                             "-f chartmuseum); "
                             "nothing written\n")
    meta = testbed.vault().secrets.kv.v2.read_secret_metadata(path, mount_point="secret")
    assert meta["data"]["current_version"] == version


def test_rotate_dry_run_and_the_required_filter(testbed, populated):
    ns, path = populated
    before = stored(testbed, path)
    result = rotate(testbed, "-n", ns, "-f", "chartmuseum", "--dry-run")
    assert (result.returncode, result.stderr) == (0, "dry run: nothing written\n")
    assert result.stdout.splitlines() == [
        f"would rotate: {ns}/chartmuseum.BASIC_AUTH_PASS: generator password",
        f"would write: ClusterSecretStore/vault {path}: BASIC_AUTH_PASS (changed)"]
    assert stored(testbed, path) == before
    result = rotate(testbed, "-n", ns)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("error: rotate needs -f NAME: which ExternalSecrets to rotate\n"
                             "see 'kubectl jxsecret rotate -h' for help\n")


def test_rotate_takes_whole_names(testbed, populated):
    ns, path = populated
    before = stored(testbed, path)
    result = rotate(testbed, "-n", ns, "-f", "chart")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"error: -f chart: rotate takes whole ExternalSecret names, and none is named chart "
                             f"in namespace {ns} (did you mean chartmuseum?)\n"
                             "see 'kubectl jxsecret rotate -h' for help\n")
    assert stored(testbed, path) == before


def test_rotate_stops_at_a_malformed_schema_before_any_store_is_read(testbed, namespace):
    """rotate's -f names what to rotate: with its schema unreadable, which values are generated is unknown,
    so nothing is rotated (populate and edit skip such an ExternalSecret instead)."""
    ns, path = namespace, path_of(namespace, "chartmuseum")
    put(testbed, path, {"BASIC_AUTH_PASS": "kept-password"})
    settle(testbed, ns, es("chartmuseum", ns, path, ["BASIC_AUTH_PASS"],
                           {"properties": [{"name": "BASIC_AUTH_PASS", "generator": "password", "maxLength": "41"}]}),
           ready="True")
    result = rotate(testbed, "-n", ns, "-f", "chartmuseum")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"error: ExternalSecret {ns}/chartmuseum: annotation secret.jenkins-x.io/schema-object: "
                             "properties[0].maxLength: expected a whole number >= 0, got '41'\n")
    assert stored(testbed, path) == {"BASIC_AUTH_PASS": "kept-password"}


# ------------------------------------------------------------------------------------------ new

@pytest.mark.real_eso
def test_new_then_populate_gives_a_populated_secret(testbed, namespace, tmp_path):
    ns = namespace
    schema = tmp_path / "secret-schema.yaml"
    schema.write_text(SCHEMA_HEAD + "  - name: nexus\n    properties:\n    - name: password\n"
                                    "      generator: password\n    - name: username\n      defaultValue: admin\n")
    made = testbed.jxsecret("new", "nexus", "-n", ns, "--store", "ClusterSecretStore/vault",
                            "--key", path_of(ns, "nexus"), "--schema", schema)
    assert (made.returncode, made.stderr) == (0, 'validated by a server-side dry run (context "testbed")\n')
    testbed.kubectl("apply", "-f", "-", input=made.stdout)
    testbed.wait_until(lambda: testbed.ready(ns, "nexus") == "False")  # nothing in the store yet
    result = populate(testbed, "-n", ns)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"populated: {ns}/nexus"
    values = stored(testbed, path_of(ns, "nexus"))
    assert values["username"] == "admin" and len(values["password"]) == 20
    assert synced(testbed, ns, "nexus") == values
