"""edit against the real testbed: real questionary prompts fed through prompt_toolkit's pipe input (the
`terminal` fixture) with the command running in-process, values checked in OpenBao, the real ESO
syncing them; and through real kubectl, without a terminal and with a real pty as one.

Every value typed is a random canary that must never show: not on stdout, stderr, nor on the screen
the prompts draw."""

import base64
import fcntl
import io
import json
import os
import pty
import re
import secrets
import select
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import hvac.exceptions
import pytest

from kubectl_jxsecret import cli
from kubectl_jxsecret.commands.edit import LEGEND

pytestmark = pytest.mark.integration

ENTER, CTRL_C, ALT_ENTER, DOWN, SPACE, CTRL_U = "\r", "\x03", "\x1b\r", "\x1b[B", " ", "\x15"
STORE = {"kind": "ClusterSecretStore", "name": "vault"}


def canary():
    return f"canary-{secrets.token_hex(8)}"


def es(name, ns, path, properties=("token",), schema=None, store=STORE):
    """An ExternalSecret reading `properties` of `path` (secretKey = property)."""
    meta = {"name": name, "namespace": ns}
    if schema:
        meta["annotations"] = {"secret.jenkins-x.io/schema-object": json.dumps(schema)}
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": meta,
            "spec": {"secretStoreRef": store, "refreshInterval": "1h",
                     "data": [{"secretKey": p, "remoteRef": {"key": path, "property": p}} for p in properties]}}


def path_of(ns, name):
    return f"tests/{ns}/{name}"


def stored(testbed, path):
    """What OpenBao holds at secret/<path>, or None."""
    try:
        answer = testbed.vault().secrets.kv.v2.read_secret_version(path, mount_point="secret",
                                                                   raise_on_deleted_version=True)
    except hvac.exceptions.InvalidPath:
        return None
    return answer["data"]["data"]


def version(testbed, path):
    return testbed.vault().secrets.kv.v2.read_secret_metadata(path, mount_point="secret")["data"]["current_version"]


def put(testbed, path, values):
    testbed.vault().secrets.kv.v2.create_or_update_secret(path, secret=values, mount_point="secret")


def apply_and_settle(testbed, ns, *objects, ready=None):
    """Apply, then wait until ESO has reported on each (`ready`: name -> "True"/"False" expected), so
    that a report of ESO's does not land in the middle of edit's own sync."""
    testbed.apply(*objects)
    for name, status in (ready or {}).items():
        testbed.wait_until(lambda: testbed.ready(ns, name) == status)


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str
    shown: str  # the screen the prompts drew, as text
    screen: str  # the same, raw

    def never_shows(self, *values):
        for value in values:
            for where, text in (("stdout", self.stdout), ("stderr", self.stderr), ("screen", self.screen)):
                assert value not in text, f"a value was shown on {where}"


def edit(testbed, terminal, *args, keys=(), vault_from_the_cluster=False, **environ):
    """`kubectl jxsecret edit ARGS` in-process, at the `terminal`, `keys` typed into the prompts.
    `vault_from_the_cluster`: no VAULT_*/BAO_* variables, no ~/.vault-token: Vault is found from the store."""
    terminal.type(*keys)
    stdout, stderr = io.StringIO(), io.StringIO()
    process_env = testbed.env(**environ)
    if vault_from_the_cluster:
        process_env = {k: v for k, v in process_env.items() if not k.startswith(("VAULT_", "BAO_"))}
        process_env["HOME"] = "/nonexistent"
    env = cli.Environment(stdout=stdout, stderr=stderr, stdin=terminal.stdin, environ=process_env)
    rc = cli.main(["kubectl-jxsecret", "edit", "--kubeconfig", testbed.kubeconfig, "--timeout", "60s", *args], env)
    return Result(rc, stdout.getvalue(), stderr.getvalue(), terminal.shown, terminal.screen.getvalue())


def verify(testbed, ns):
    return {row["name"]: row["state"] for row in json.loads(testbed.jxsecret("verify", "-n", ns, "-o", "json").stdout)}


def force_synced(testbed, ns, name):
    return "force-sync" in (testbed.get("es", name, "-n", ns)["metadata"].get("annotations") or {})


# ------------------------------------------------------------------------------------------ default: what is missing

@pytest.mark.real_eso
def test_asks_only_what_the_store_lacks_then_eso_syncs_it(testbed, namespace, terminal):
    ns, path = namespace, path_of(namespace, "nexus")
    put(testbed, path, {"username": "admin"})  # in the store, though the Secret does not exist yet
    put(testbed, path_of(ns, "chartmuseum"), {"token": "t"})
    schema = {"mandatory": True, "properties": [{"name": "password", "question": "Nexus admin password",
                                                 "help": "for the admin user"}]}
    apply_and_settle(testbed, ns, es("nexus", ns, path, ("username", "password"), schema),
                     es("chartmuseum", ns, path_of(ns, "chartmuseum")), ready={"nexus": "False", "chartmuseum": "True"})
    value = canary()
    # One value typed: a second question would meet the closed input and fail the command.
    result = edit(testbed, terminal, "-n", ns, keys=[value, ENTER])
    assert (result.rc, result.stderr) == (0, LEGEND + "\n")
    assert result.stdout.splitlines() == [
        f"wrote: ClusterSecretStore/vault {path}: password (new)",
        "force-sync requested for 1 ExternalSecret; waiting for ESO to sync",
        f"{ns}/nexus: synced",
        f"populated: {ns}/nexus"]
    assert "? Nexus admin password  (not set) for the admin user " + "*" * len(value) in result.shown
    result.never_shows(value)
    assert stored(testbed, path) == {"username": "admin", "password": value}
    assert version(testbed, path) == 2  # one write on top of the one before
    assert verify(testbed, ns) == {"chartmuseum": "Populated", "nexus": "Populated"}
    assert not force_synced(testbed, ns, "chartmuseum")  # only what edit changed is refreshed


@pytest.mark.real_eso
def test_without_n_it_asks_in_every_namespace(testbed, namespace, terminal):
    other = f"{namespace}-b"
    testbed.kubectl("create", "namespace", other)
    label = {"jxsecret-test": namespace}  # the selector keeps other tests' ExternalSecrets out; -n stays unset
    apps = [es("app", ns, path_of(ns, "app")) for ns in (namespace, other)]
    for app in apps:
        app["metadata"]["labels"] = label
    testbed.apply(*apps)
    for ns in (namespace, other):
        testbed.wait_until(lambda: testbed.ready(ns, "app") == "False")
    first, second = canary(), canary()
    result = edit(testbed, terminal, "-l", f"jxsecret-test={namespace}", keys=[first, ENTER, second, ENTER])
    assert result.rc == 0, result.stderr
    assert f"? {namespace}/app.token" in result.shown and f"? {other}/app.token" in result.shown
    assert (stored(testbed, path_of(namespace, "app")), stored(testbed, path_of(other, "app"))) == (
        {"token": first}, {"token": second})
    assert result.stdout.splitlines()[-1] == f"populated: {namespace}/app, {other}/app"
    result.never_shows(first, second)


def test_nothing_to_edit_needs_no_store(testbed, namespace, terminal):
    put(testbed, path_of(namespace, "app"), {"token": "t"})
    apply_and_settle(testbed, namespace, es("app", namespace, path_of(namespace, "app")), ready={"app": "True"})
    # Vault unreachable: fine, nothing is due, so no store is opened.
    result = edit(testbed, terminal, "-n", namespace, VAULT_ADDR="http://127.0.0.1:1")
    assert (result.rc, result.stderr, result.shown) == (0, "", "")
    assert result.stdout == ("nothing to edit: 1 ExternalSecret selected, all populated "
                             "(-f NAME offers every value of NAME)\n")


@pytest.mark.real_eso
def test_a_value_read_by_two_externalsecrets_is_asked_once_and_written_through_the_tunnel(testbed, namespace,
                                                                                         terminal):
    ns, path = namespace, path_of(namespace, "hmac")
    schema = {"properties": [{"name": "token", "question": "Lighthouse HMAC token"}]}
    apply_and_settle(testbed, ns, es("lighthouse-hmac-token", ns, path, schema=schema),
                     es("tekton-hmac", ns, path), ready={"lighthouse-hmac-token": "False", "tekton-hmac": "False"})
    value = canary()
    result = edit(testbed, terminal, "-n", ns, keys=[value, ENTER], vault_from_the_cluster=True)
    assert result.rc == 0
    assert result.stderr.splitlines() == [
        "vault: using the root token of Secret jx-vault/vault-unseal-keys (vault-root) (set VAULT_TOKEN to use your own)",
        "vault: http://vault.jx-vault:8200 is inside the cluster; tunnelling through pod jx-vault/vault-0", LEGEND]
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"wrote: ClusterSecretStore/vault {path}: token (new)",
                         "force-sync requested for 2 ExternalSecrets; waiting for ESO to sync"]
    assert sorted(lines[2:4]) == [f"{ns}/lighthouse-hmac-token: synced", f"{ns}/tekton-hmac: synced"]
    assert lines[4:] == [f"populated: {ns}/lighthouse-hmac-token, {ns}/tekton-hmac"]
    # Asked once: the keys end after one answer, so a second question would have ended in EOF (rc 1).
    # (Counting the prompt's text would count prompt_toolkit's redraws, more of them on a busy machine.)
    assert set(re.findall(r"^\? (.+?)  \(", result.shown, re.MULTILINE)) == {"Lighthouse HMAC token"}
    result.never_shows(value)
    assert stored(testbed, path) == {"token": value}


# ------------------------------------------------------------------------------------------ -f, -i

@pytest.mark.real_eso
def test_filter_offers_every_value_and_enter_keeps_a_set_one(testbed, namespace, terminal):
    ns = namespace
    put(testbed, path_of(ns, "nexus"), {"username": "admin", "password": "old"})
    put(testbed, path_of(ns, "chartmuseum"), {"token": "kept"})
    apply_and_settle(testbed, ns, es("nexus", ns, path_of(ns, "nexus"), ("username", "password")),
                     es("chartmuseum", ns, path_of(ns, "chartmuseum")),
                     es("other", ns, path_of(ns, "other")), ready={"nexus": "True", "chartmuseum": "True"})
    value = canary()
    # chartmuseum's token, nexus's username: Enter keeps them; nexus's password: a new value.
    result = edit(testbed, terminal, "-n", ns, "-f", "nexus", "-f", "chart", keys=[ENTER, ENTER, value, ENTER])
    assert (result.rc, result.stderr) == (0, LEGEND + "\n")
    assert result.stdout.splitlines() == [
        f"wrote: ClusterSecretStore/vault {path_of(ns, 'nexus')}: password (changed)",
        "force-sync requested for 1 ExternalSecret; waiting for ESO to sync",
        f"{ns}/nexus: synced",
        f"populated: {ns}/nexus"]
    assert set(re.findall(r"\? (\S+)  \([^)]*\) (\*+)", result.shown)) == {(f"{ns}/nexus.password", "*" * len(value))}
    for asked in (f"{ns}/chartmuseum.token", f"{ns}/nexus.username"):
        assert f"? {asked}  (set; Enter keeps it)" in result.shown
    assert f"{ns}/other" not in result.shown
    result.never_shows(value, "old", "kept")
    assert stored(testbed, path_of(ns, "nexus")) == {"username": "admin", "password": value}
    assert stored(testbed, path_of(ns, "chartmuseum")) == {"token": "kept"}


@pytest.mark.real_eso
def test_interactive_picks_secrets_then_values_and_names_what_is_still_missing(testbed, namespace, terminal):
    ns, path = namespace, path_of(namespace, "bot")
    apply_and_settle(testbed, ns, es("alpha", ns, path_of(ns, "alpha")), es("bot-hmac", ns, path, ("hmac", "token")),
                     ready={"alpha": "False", "bot-hmac": "False"})
    value = canary()
    result = edit(testbed, terminal, "-n", ns, "-i", keys=[
        "hmac", SPACE, ENTER,  # ExternalSecrets: filter to bot-hmac, pick it
        DOWN, SPACE, ENTER,  # values: both not set, so both checked; uncheck the second
        value, ENTER])
    assert result.rc == 3
    assert result.stdout.splitlines() == [
        f"wrote: ClusterSecretStore/vault {path}: hmac (new)",
        "force-sync requested for 1 ExternalSecret; waiting for ESO to sync",
        f"{ns}/bot-hmac: sync failed: error processing spec.data[1] (key: {path}), err: cannot find secret data "
        f"for key: \"token\""]
    assert result.stderr.splitlines() == [
        LEGEND,
        "1 ExternalSecret of 1 failed to sync.",
        f"not populated: {ns}/bot-hmac: SyncError (missing hmac, token): SecretSyncedError: could not get secret data "
        f"from provider: error processing spec.data[1] (key: {path}), err: cannot find secret data for key: \"token\""]
    shown = result.shown
    assert f"{ns}/alpha  SyncError, missing token" in shown
    assert f"{ns}/bot-hmac  SyncError, missing hmac, token" in shown
    assert f"{ns}/bot-hmac.hmac  (not set)  ClusterSecretStore/vault {path} hmac" in shown
    result.never_shows(value)
    assert stored(testbed, path) == {"hmac": value}
    assert stored(testbed, path_of(ns, "alpha")) is None


# ------------------------------------------------------------------------------------------ Ctrl-C

@pytest.mark.real_eso
def test_ctrl_c_skips_a_value(testbed, namespace, terminal):
    ns, path = namespace, path_of(namespace, "app")
    apply_and_settle(testbed, ns, es("app", ns, path, ("user", "password")), ready={"app": "False"})
    value = canary()
    result = edit(testbed, terminal, "-n", ns, keys=[CTRL_C, value, ENTER])
    assert result.rc == 3
    assert result.stdout.splitlines()[0] == f"wrote: ClusterSecretStore/vault {path}: password (new)"
    assert result.stderr.splitlines()[:2] == [
        LEGEND, f"skipped {ns}/app.user (Ctrl-C again stops edit; nothing is written)"]
    assert result.stderr.splitlines()[-1].startswith(f"not populated: {ns}/app: SyncError (missing user, password): ")
    result.never_shows(value)
    assert stored(testbed, path) == {"password": value}


@pytest.mark.real_eso
def test_a_value_the_schema_refuses_is_asked_again(testbed, namespace, terminal):
    ns, path = namespace, path_of(namespace, "app")
    schema = {"properties": [{"name": "token", "question": "API token", "minLength": 12, "pattern": "^[a-z0-9-]+$"}]}
    apply_and_settle(testbed, ns, es("app", ns, path, schema=schema), ready={"app": "False"})
    short, upper, value = "abc", "UPPER-CASE-VALUE", canary()
    result = edit(testbed, terminal, "-n", ns, keys=[short, ENTER, CTRL_U, upper, ENTER, CTRL_U, value, ENTER])
    assert (result.rc, result.stderr) == (0, LEGEND + "\n")
    # Each refused value stays in the prompt (Ctrl-U clears it): only the last one is written. What the
    # prompt says when it refuses one is pinned in test_prompts.
    result.never_shows(value, upper)
    assert stored(testbed, path) == {"token": value}


@pytest.mark.real_eso
def test_a_schema_file_words_the_question_and_rules_the_value(testbed, namespace, terminal, tmp_path):
    ns, path = namespace, path_of(namespace, "app")
    schema = tmp_path / "secret-schema.yaml"
    schema.write_text("apiVersion: secret.jenkins-x.io/v1alpha1\nkind: Schema\nspec:\n  objects:\n  - name: app\n"
                      "    properties:\n    - name: token\n      question: Token from the file\n      maxLength: 4\n")
    apply_and_settle(testbed, ns, es("app", ns, path, schema={"properties": [{"name": "token", "question": "Q"}]}),
                     ready={"app": "False"})
    value = canary()
    result = edit(testbed, terminal, "-n", ns, "--schema", str(schema), keys=[value, ENTER, CTRL_U, "t0k", ENTER])
    assert result.rc == 0
    assert "? Token from the file  (not set) " in result.shown  # the file wins over the annotation
    result.never_shows(value)
    assert stored(testbed, path) == {"token": "t0k"}  # the long value was refused


@pytest.mark.real_eso
def test_a_malformed_schema_skips_its_externalsecret_and_the_others_are_asked(testbed, namespace, terminal):
    ns = namespace
    apply_and_settle(testbed, ns, es("app", ns, path_of(ns, "app"),
                                     schema={"properties": [{"name": "token", "maxLength": "ten"}]}),
                     es("db", ns, path_of(ns, "db")), ready={"app": "False", "db": "False"})
    value = canary()
    result = edit(testbed, terminal, "-n", ns, keys=[value, ENTER])  # one question: db's
    assert result.rc == 1
    assert result.stderr.splitlines() == [
        f"error: skipped {ns}/app: annotation secret.jenkins-x.io/schema-object: properties[0].maxLength: expected a "
        "whole number >= 0, got 'ten'",
        LEGEND,
        "error: 1 ExternalSecret skipped: a malformed secret schema (above)"]
    assert result.stdout.splitlines()[0] == f"wrote: ClusterSecretStore/vault {path_of(ns, 'db')}: token (new)"
    assert f"{ns}/app" not in result.shown
    result.never_shows(value)
    assert (stored(testbed, path_of(ns, "db")), stored(testbed, path_of(ns, "app"))) == ({"token": value}, None)


@pytest.mark.real_eso
def test_the_schema_default_is_offered_and_enter_takes_it(testbed, namespace, terminal):
    ns, path = namespace, path_of(namespace, "docker")
    schema = {"properties": [{"name": "username", "question": "Docker Registry username", "defaultValue": "admin"},
                             {"name": "password", "question": "Docker Registry password"}]}
    apply_and_settle(testbed, ns, es("docker", ns, path, ("username", "password"), schema), ready={"docker": "False"})
    value = canary()
    result = edit(testbed, terminal, "-n", ns, keys=[ENTER, value, ENTER])
    assert (result.rc, result.stderr) == (0, LEGEND + "\n")
    assert "? Docker Registry username  (not set; Enter takes the schema's defaultValue) *****" in result.shown
    result.never_shows(value)
    assert stored(testbed, path) == {"username": "admin", "password": value}


@pytest.mark.real_eso
def test_a_set_value_keeps_enter_for_keeping_it_not_the_default(testbed, namespace, terminal):
    ns, path = namespace, path_of(namespace, "docker")
    put(testbed, path, {"username": "someone"})
    schema = {"properties": [{"name": "username", "question": "Docker Registry username", "defaultValue": "admin"}]}
    apply_and_settle(testbed, ns, es("docker", ns, path, ("username",), schema), ready={"docker": "True"})
    result = edit(testbed, terminal, "-n", ns, "-f", "docker", keys=[ENTER])
    assert (result.rc, result.stdout) == (0, "nothing written: no value entered\n")
    assert "? Docker Registry username  (set; Enter keeps it)" in result.shown
    assert "*" not in result.shown  # no default in the input: Enter typed nothing
    assert stored(testbed, path) == {"username": "someone"}


@pytest.mark.real_eso
def test_no_mask_shows_what_is_typed(testbed, namespace, terminal):
    ns, path = namespace, path_of(namespace, "git")
    schema = {"properties": [{"name": "username", "question": "the pipeline username", "noMask": True}]}
    apply_and_settle(testbed, ns, es("git", ns, path, ("username",), schema), ready={"git": "False"})
    result = edit(testbed, terminal, "-n", ns, keys=["jenkins-x-bot", ENTER])
    assert result.rc == 0, result.stderr
    assert "? the pipeline username  (not set; shown as you type) jenkins-x-bot" in result.shown
    assert stored(testbed, path) == {"username": "jenkins-x-bot"}


@pytest.mark.real_eso
def test_the_version_stream_words_and_defaults_the_questions(testbed, namespace, terminal):
    """--schema-dir the real version stream (tests/fixtures/jx3-versions): the nexus chart's file
    (gitops.jenkins-x.io) gives the questions, their help and defaults; Enter takes both defaults."""
    ns, path = namespace, path_of(namespace, "nexus")
    nexus = es("nexus", ns, path, ("username", "password"))
    nexus["metadata"]["labels"] = {"helm.sh/chart": "nexus-0.1.38"}
    apply_and_settle(testbed, ns, nexus, ready={"nexus": "False"})
    versions = Path(__file__).parents[1] / "fixtures" / "jx3-versions"
    result = edit(testbed, terminal, "-n", ns, "--schema-dir", str(versions), keys=[ENTER, ENTER])
    assert (result.rc, result.stderr) == (0, LEGEND + "\n")
    shown = result.shown
    assert ("? nexus user name  (not set; Enter takes the schema's defaultValue) The username used to "
            "authenticate with nexus *****") in shown
    assert ("? nexus password  (not set; Enter takes the schema's defaultValue) The password to authenticate with "
            "nexus ********") in shown
    assert stored(testbed, path) == {"username": "admin", "password": "admin123"}


def test_ctrl_c_twice_in_a_row_stops_with_nothing_written(testbed, namespace, terminal):
    ns = namespace
    testbed.apply(es("app", ns, path_of(ns, "app"), ("user", "password")), es("db", ns, path_of(ns, "db")))
    value = canary()
    # app's user answered, then Ctrl-C on app's password and again on db's token.
    result = edit(testbed, terminal, "-n", ns, keys=[value, ENTER, CTRL_C, CTRL_C])
    assert (result.rc, result.stdout) == (130, "")
    assert result.stderr.splitlines() == [LEGEND, f"skipped {ns}/app.password (Ctrl-C again stops edit; nothing is "
                                                  "written)", "aborted: nothing written"]
    result.never_shows(value)
    assert (stored(testbed, path_of(ns, "app")), stored(testbed, path_of(ns, "db"))) == (None, None)
    assert not force_synced(testbed, ns, "app")


def test_ctrl_c_while_picking_stops(testbed, namespace, terminal):
    testbed.apply(es("app", namespace, path_of(namespace, "app")))
    result = edit(testbed, terminal, "-n", namespace, "-i", keys=[CTRL_C])
    assert (result.rc, result.stdout, result.stderr) == (130, "", "aborted: nothing written\n")


# ------------------------------------------------------------------------------------------ values

@pytest.mark.real_eso
def test_multi_line_values_and_values_from_a_file_reach_the_secret(testbed, namespace, terminal, tmp_path):
    ns, path = namespace, path_of(namespace, "tls")
    cert = tmp_path / "tls.crt"
    cert.write_text(f"-----BEGIN CERTIFICATE-----\n{canary()}\n-----END CERTIFICATE-----\n")
    secret_json = f'{{\n  "token": "{canary()}"\n}}'
    apply_and_settle(testbed, ns, es("tls", ns, path, ("crt", "json")), ready={"tls": "False"})
    result = edit(testbed, terminal, "-n", ns, keys=[f"@{cert}", ENTER, secret_json.replace("\n", ALT_ENTER), ENTER])
    assert result.rc == 0
    result.never_shows(cert.read_text().splitlines()[1], secret_json.splitlines()[1])
    assert stored(testbed, path) == {"crt": cert.read_text(), "json": secret_json}
    data = testbed.get("secret", "tls", "-n", ns)["data"]
    assert {k: base64.b64decode(v).decode() for k, v in data.items()} == {"crt": cert.read_text(), "json": secret_json}


def test_dry_run_shows_the_plan_and_writes_nothing(testbed, namespace, terminal):
    ns, path = namespace, path_of(namespace, "app")
    put(testbed, path, {"user": "admin"})
    testbed.apply(es("app", ns, path, ("user", "password")))
    value = canary()
    result = edit(testbed, terminal, "-n", ns, "-f", "app", "--dry-run", keys=["admin", ENTER, value, ENTER])
    assert result.rc == 0
    assert result.stdout == f"would write: ClusterSecretStore/vault {path}: password (new), user (unchanged)\n"
    assert result.stderr == LEGEND + "\ndry run: nothing written\n"
    result.never_shows(value)
    assert stored(testbed, path) == {"user": "admin"}
    assert not force_synced(testbed, ns, "app")


# ------------------------------------------------------------------------------------------ refusals

def test_a_read_only_token_is_refused_before_any_question(testbed, namespace, terminal):
    vault = testbed.vault()
    vault.sys.create_or_update_policy("edit-read-only", 'path "secret/data/*" { capabilities = ["read"] }')
    token = vault.auth.token.create(policies=["edit-read-only"], ttl="10m")["auth"]["client_token"]
    path = path_of(namespace, "app")
    put(testbed, path, {"user": "admin"})
    testbed.apply(es("app", namespace, path, ("user", "password")))
    result = edit(testbed, terminal, "-n", namespace, VAULT_TOKEN=token)
    assert (result.rc, result.stdout, result.shown) == (1, "", "")  # not one question asked
    assert result.stderr == (f"error: the Vault token from VAULT_TOKEN may not write secret/{path} (permission denied "
                             "by its policy): use a token whose policy allows it\n")
    result.never_shows(token)
    assert stored(testbed, path) == {"user": "admin"}


def test_an_unreachable_store_is_refused_before_any_question(testbed, namespace, terminal):
    testbed.apply(es("app", namespace, path_of(namespace, "app")))
    result = edit(testbed, terminal, "-n", namespace, "--vault-addr", "http://127.0.0.1:1")
    assert (result.rc, result.stdout, result.shown) == (1, "", "")
    assert result.stderr == ("error: cannot reach Vault at http://127.0.0.1:1: is it running, and is the address "
                             "right? (an in-cluster Vault needs kubectl jxsecret vault portforward)\n")
    assert stored(testbed, path_of(namespace, "app")) is None


def test_a_provider_it_cannot_write(testbed, namespace, terminal):
    testbed.apply({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                   "metadata": {"name": "aws", "namespace": namespace},
                   "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "eu-west-1"}}}},
                  es("app", namespace, "app", store={"kind": "SecretStore", "name": "aws"}))
    result = edit(testbed, terminal, "-n", namespace)
    assert (result.rc, result.stdout, result.shown) == (1, "", "")
    assert result.stderr == ("error: SecretStore/aws uses the aws provider, which kubectl jxsecret cannot write (it "
                             "writes vault, openBao, kubernetes, fake): set the value with that provider's own tools\n")


def test_nothing_matched(testbed, namespace, terminal):
    result = edit(testbed, terminal, "-n", namespace)
    assert (result.rc, result.stdout) == (1, "")
    assert result.stderr == f"error: no matching ExternalSecrets found in namespace {namespace}: nothing to edit\n"


# ------------------------------------------------------------------------------------------ through kubectl

def test_without_a_terminal_it_points_at_import(testbed, namespace):
    testbed.apply(es("app", namespace, path_of(namespace, "app")))
    mark = testbed.audit_mark()
    result = testbed.run("kubectl", "jxsecret", "edit", "-n", namespace, check=False, input="")  # stdin: a pipe
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("error: edit asks for values at a terminal, but stdin is not one: from a script or CI, "
                             "put the values in a file and run kubectl jxsecret import -f FILE\n")
    assert testbed.requests_since(mark) == []  # refused before asking the cluster anything


@pytest.mark.real_eso
def test_at_a_real_terminal(testbed, namespace):
    ns, path = namespace, path_of(namespace, "app")
    schema = {"properties": [{"name": "token", "question": "App token"}]}
    apply_and_settle(testbed, ns, es("app", ns, path, schema=schema), ready={"app": "False"})
    value = canary()
    rc, transcript = at_a_terminal(testbed, ["kubectl", "jxsecret", "edit", "-n", ns, "--timeout", "60s"],
                                   [("App token", value + ENTER)])
    assert rc == 0
    assert value not in transcript
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[>=]", "", transcript)
    assert "*" * len(value) in text
    assert f"populated: {ns}/app" in text
    assert stored(testbed, path) == {"token": value}


@pytest.mark.real_eso
def test_with_stdout_redirected_the_prompts_stay_on_the_terminal(testbed, namespace):
    ns, path = namespace, path_of(namespace, "app")
    apply_and_settle(testbed, ns, es("app", ns, path), ready={"app": "False"})
    value = canary()
    rc, transcript, stdout = at_a_terminal(testbed, ["kubectl", "jxsecret", "edit", "-n", ns, "--timeout", "60s"],
                                           [(f"{ns}/app.token", value + ENTER)], stdout=subprocess.PIPE)
    assert rc == 0
    assert stdout.splitlines() == [f"wrote: ClusterSecretStore/vault {path}: token (new)",
                                   "force-sync requested for 1 ExternalSecret; waiting for ESO to sync",
                                   f"{ns}/app: synced", f"populated: {ns}/app"]
    assert "*" * len(value) in transcript and "wrote:" not in transcript
    assert value not in transcript + stdout
    assert stored(testbed, path) == {"token": value}


def at_a_terminal(testbed, argv, answers, timeout=90, stdout=None):
    """Run `argv` with a pseudo-terminal as stdin, stdout (unless `stdout` says otherwise) and stderr, as a
    person would, typing each answer once its prompt (text) shows. Cursor position requests are answered, as
    a terminal does. Returns the exit status, what the terminal showed (and stdout, when it was a pipe)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    proc = subprocess.Popen(argv, stdin=follower, stdout=stdout or follower, stderr=follower, text=True,
                            env=testbed.env(TERM="xterm"), start_new_session=True)
    os.close(follower)
    transcript, since, answers = b"", 0, list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: every process has closed the terminal
                    break
                if not chunk:
                    break
                transcript += chunk
                if b"\x1b[6n" in chunk:
                    os.write(leader, b"\x1b[1;1R")
            if answers and answers[0][0].encode() in transcript[since:]:
                since = len(transcript)
                os.write(leader, answers.pop(0)[1].encode())
        else:
            raise AssertionError(f"still running after {timeout}s: {transcript[-2000:]!r}")
        shown = transcript.decode(errors="replace")
        if stdout:
            return proc.wait(timeout=10), shown, proc.stdout.read()
        return proc.wait(timeout=10), shown
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
