"""Each kind of kubeconfig user reaches the real API server: client certificate and bearer token
through the light transport, an exec credential plugin through the kubernetes client."""

import base64
import json
import os
import stat
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
