"""Each kind of kubeconfig user reaches the real API server: client certificate and bearer token
through the light transport, an exec credential plugin through the kubernetes client."""

import base64
import json
import os
import stat
import subprocess
import sys

import pytest
import yaml

pytestmark = pytest.mark.integration


def verify_jx_vault(testbed, kubeconfig):
    result = testbed.jxsecret("verify", "-n", "jx-vault", "-o", "json", kubeconfig=str(kubeconfig))
    assert (result.returncode, result.stderr) == (0, "")
    return json.loads(result.stdout)


def test_client_certificate_user(testbed):
    assert verify_jx_vault(testbed, testbed.kubeconfig) == []


def test_bearer_token_user(testbed):
    assert verify_jx_vault(testbed, testbed.exports["JXSECRET_TESTBED_TOKEN_KUBECONFIG"]) == []


@pytest.mark.parametrize("verified", [True, False])
def test_a_cluster_without_its_ca(testbed, tmp_path, verified):
    # insecure-skip-tls-verify takes the server's certificate unchecked; without it, the testbed's own CA is
    # not among the system's, and the connection is refused as kubectl refuses it.
    config = yaml.safe_load(open(testbed.kubeconfig))
    cluster = config["clusters"][0]["cluster"]
    del cluster["certificate-authority-data"]
    cluster["insecure-skip-tls-verify"] = not verified
    path = tmp_path / "no-ca.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    if not verified:
        assert verify_jx_vault(testbed, path) == []
        return
    result = testbed.jxsecret("verify", "-n", "jx-vault", kubeconfig=str(path))
    assert (result.returncode, result.stderr) == (1, f"error: cannot reach the API server {cluster['server']} "
                                                     f'(context "{config["current-context"]}"): certificate verify '
                                                     "failed: check that the cluster is up and the context is right\n")


def test_exec_plugin_user(testbed, tmp_path):
    admin = yaml.safe_load(open(testbed.kubeconfig))
    creds = admin["users"][0]["user"]
    plugin = tmp_path / "credential-plugin"
    status = {"clientCertificateData": base64.b64decode(creds["client-certificate-data"]).decode(),
              "clientKeyData": base64.b64decode(creds["client-key-data"]).decode()}
    plugin.write_text(f"#!{sys.executable}\nimport json\nopen({str(tmp_path / 'called')!r}, 'a').write('x')\n"
                      f"print(json.dumps({{'apiVersion': 'client.authentication.k8s.io/v1', "
                      f"'kind': 'ExecCredential', 'status': {status!r}}}))\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    admin["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                                          "interactiveMode": "Never"}}
    path = tmp_path / "exec.kubeconfig"
    path.write_text(yaml.safe_dump(admin))
    assert verify_jx_vault(testbed, path) == []
    assert os.path.exists(tmp_path / "called")  # the plugin really supplied the credentials


def exec_kubeconfig(testbed, tmp_path, command, **exec_extra):
    """The testbed's cluster, with a user whose credentials come from the exec plugin `command`."""
    admin = yaml.safe_load(open(testbed.kubeconfig))
    admin["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(command),
                                          "interactiveMode": "Never", **exec_extra}}
    path = tmp_path / "exec.kubeconfig"
    path.write_text(yaml.safe_dump(admin))
    return path


def test_exec_plugin_token_user(testbed, tmp_path):
    token_kubeconfig = yaml.safe_load(open(testbed.exports["JXSECRET_TESTBED_TOKEN_KUBECONFIG"]))
    token = token_kubeconfig["users"][0]["user"]["token"]
    plugin = tmp_path / "token-plugin"
    plugin.write_text(f"#!/bin/sh\necho \"$KUBERNETES_EXEC_INFO\" > {tmp_path / 'info'}\n"
                      f"echo '{{\"apiVersion\": \"client.authentication.k8s.io/v1\", \"kind\": \"ExecCredential\", "
                      f"\"status\": {{\"token\": \"{token}\"}}}}'\n")
    plugin.chmod(0o755)
    assert verify_jx_vault(testbed, exec_kubeconfig(testbed, tmp_path, plugin)) == []
    info = json.loads((tmp_path / "info").read_text())
    assert info == {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                    "spec": {"interactive": False}}


def test_failing_exec_plugin_fails_like_kubectl(testbed, tmp_path):
    plugin = tmp_path / "failing-plugin"
    plugin.write_text("#!/bin/sh\necho 'the refresh token expired: run login-tool login' >&2\nexit 1\n")
    plugin.chmod(0o755)
    mark = testbed.audit_mark()
    result = testbed.jxsecret("verify", "-n", "jx-vault", kubeconfig=str(exec_kubeconfig(testbed, tmp_path, plugin)))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"error: getting credentials: exec: executable {plugin} failed with exit code 1: "
                             'the refresh token expired: run login-tool login (context "testbed")\n')
    assert testbed.requests_since(mark) == []  # above all, no anonymous request


def test_missing_exec_plugin_fails_like_kubectl(testbed, tmp_path):
    kubeconfig = exec_kubeconfig(testbed, tmp_path, "jxsecret-test-no-such-plugin",
                                 installHint="install it with: brew install no-such-plugin")
    mark = testbed.audit_mark()
    result = testbed.jxsecret("verify", "-n", "jx-vault", kubeconfig=str(kubeconfig))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("error: getting credentials: exec: executable jxsecret-test-no-such-plugin not found "
                             '(context "testbed"): install it with: brew install no-such-plugin\n')
    assert testbed.requests_since(mark) == []


def test_exec_plugin_with_no_credentials_in_its_answer(testbed, tmp_path):
    plugin = tmp_path / "empty-plugin"
    plugin.write_text("#!/bin/sh\necho '{\"apiVersion\": \"client.authentication.k8s.io/v1\", "
                      "\"kind\": \"ExecCredential\", \"status\": {}}'\n")
    plugin.chmod(0o755)
    env = {k: v for k, v in testbed.env(KUBECONFIG=str(exec_kubeconfig(testbed, tmp_path, plugin))).items()
           if not k.startswith(("VAULT_", "BAO_"))}  # so the token must come from the cluster
    mark = testbed.audit_mark()
    result = subprocess.run(["kubectl", "jxsecret", "vault", "env"], capture_output=True, text=True,
                            env=dict(env, HOME=str(tmp_path), XDG_RUNTIME_DIR=str(tmp_path)))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"error: getting credentials: exec: executable {plugin} returned neither a token "
                             'nor a client certificate and key (context "testbed")\n')
    assert testbed.requests_since(mark) == []


def test_oidc_auth_provider_without_a_usable_token(testbed, tmp_path):
    """The kubernetes client (auth-provider users) would log the problem and send the request anonymous."""
    admin = yaml.safe_load(open(testbed.kubeconfig))
    admin["users"][0]["user"] = {"auth-provider": {"name": "oidc", "config": {
        "client-id": "kubectl", "idp-issuer-url": "https://127.0.0.1:1", "id-token": "not-a-jwt"}}}
    path = tmp_path / "oidc.kubeconfig"
    path.write_text(yaml.safe_dump(admin))
    mark = testbed.audit_mark()
    result = testbed.jxsecret("verify", "-n", "jx-vault", kubeconfig=str(path))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ('error: getting credentials: auth-provider oidc gave no usable token (context "testbed"): '
                             "log in again, or fix the user in the kubeconfig\n")
    assert testbed.requests_since(mark) == []


def test_exec_plugin_asked_again_after_a_401(testbed, tmp_path):
    token = yaml.safe_load(open(testbed.exports["JXSECRET_TESTBED_TOKEN_KUBECONFIG"]))["users"][0]["user"]["token"]
    plugin = tmp_path / "rotating-plugin"
    runs = tmp_path / "runs"
    # The first answer is a token the API server no longer takes (rotated); the second is good.
    plugin.write_text(f"#!/bin/sh\necho x >> {runs}\n"
                      f"if [ $(wc -l < {runs}) = 1 ]; then t=revoked; else t={token}; fi\n"
                      "echo '{\"apiVersion\": \"client.authentication.k8s.io/v1\", \"kind\": \"ExecCredential\", "
                      "\"status\": {\"token\": \"'$t'\"}}'\n")
    plugin.chmod(0o755)
    assert verify_jx_vault(testbed, exec_kubeconfig(testbed, tmp_path, plugin)) == []
    assert runs.read_text() == "x\nx\n"  # asked again once, as kubectl does, then kept
