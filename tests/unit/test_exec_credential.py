"""kubeconfig exec credential plugins: what their answer means, when they run again, how they fail."""

import datetime
import io
import json
import sys

import pytest

from kubectl_jxsecret.errors import ConfigError
from kubectl_jxsecret.kube.exec_credential import Credential, ExecPlugin, cluster_info, credential_of

V1 = "client.authentication.k8s.io/v1"


def answer(status, api_version=V1, kind="ExecCredential"):
    return json.dumps({"apiVersion": api_version, "kind": kind, "status": status})


UTC = datetime.timezone.utc


@pytest.mark.parametrize("stdout, expected", [
    (answer({"token": "t"}), Credential(token="t")),
    (answer({"token": "t", "expirationTimestamp": "2030-01-02T03:04:05Z"}),
     Credential(token="t", expiry=datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))),
    (answer({"clientCertificateData": "CERT", "clientKeyData": "KEY"}), Credential(cert=b"CERT", key=b"KEY")),
    (answer({"token": "t"}, "client.authentication.k8s.io/v1beta1"),
     "exec plugin is configured to use API version client.authentication.k8s.io/v1, "
     "plugin returned version client.authentication.k8s.io/v1beta1"),
    (answer({}), "executable p returned neither a token nor a client certificate and key"),
    (answer({"clientCertificateData": "CERT"}), "executable p returned neither a token nor a client certificate and key"),
    (answer({"token": "t", "expirationTimestamp": "soon"}), "executable p returned an invalid expirationTimestamp"),
    ("not json", "executable p printed no ExecCredential JSON on stdout"),
    (answer({"token": "t"}, kind="Other"), "executable p printed no ExecCredential JSON on stdout"),
    ("", "executable p printed no ExecCredential JSON on stdout"),
])
def test_credential_of(stdout, expected):
    if isinstance(expected, Credential):
        assert vars(credential_of(stdout, V1, "p")) == vars(expected)
    else:
        with pytest.raises(ValueError) as e:
            credential_of(stdout, V1, "p")
        assert str(e.value) == expected


def test_a_credential_never_shows_its_token_or_key():
    credential = credential_of(answer({"token": "canary-token"}), V1, "p")
    pem = credential_of(answer({"clientCertificateData": "canary-cert", "clientKeyData": "canary-key"}), V1, "p")
    assert "canary" not in repr(credential) + str(credential) + repr(pem) + str(pem)


def plugin(tmp_path, status, **spec):
    """An exec plugin that counts its runs and answers `status`."""
    script = tmp_path / "plugin"
    script.write_text(f"#!{sys.executable}\nimport json, os\n"
                      f"open({str(tmp_path / 'runs')!r}, 'a').write(os.environ['KUBERNETES_EXEC_INFO'] + '\\n')\n"
                      f"print(json.dumps({{'apiVersion': {V1!r}, 'kind': 'ExecCredential', 'status': {status!r}}}))\n")
    script.chmod(0o755)
    return ExecPlugin({"apiVersion": V1, "command": str(script), "interactiveMode": "Never", **spec},
                      {"server": "https://api:6443", "certificate-authority-data": "Q0E="}, "ctx", stdin=io.StringIO())


def runs(tmp_path):
    return [json.loads(line) for line in (tmp_path / "runs").read_text().splitlines()]


def test_a_credential_is_kept_until_it_expires(tmp_path):
    later = (datetime.datetime.now(UTC) + datetime.timedelta(hours=1)).isoformat()
    p = plugin(tmp_path, {"token": "t", "expirationTimestamp": later})
    assert p.get().token == p.get().token == "t"
    assert len(runs(tmp_path)) == 1
    p.forget()  # the API server said 401
    p.get()
    assert len(runs(tmp_path)) == 2


def test_an_expired_credential_is_asked_for_again(tmp_path):
    p = plugin(tmp_path, {"token": "t", "expirationTimestamp": "2000-01-01T00:00:00Z"})
    p.get()
    p.get()
    assert len(runs(tmp_path)) == 2


def test_exec_info_and_cluster_info(tmp_path):
    p = plugin(tmp_path, {"token": "t"}, provideClusterInfo=True, env=[{"name": "X", "value": "1"}])
    p.get()
    assert runs(tmp_path) == [{"apiVersion": V1, "kind": "ExecCredential", "spec": {
        "interactive": False, "cluster": {"server": "https://api:6443", "certificate-authority-data": "Q0E="}}}]


def test_cluster_info_reads_the_ca_file(tmp_path):
    (tmp_path / "ca.crt").write_bytes(b"CA")
    assert cluster_info({"server": "s", "certificate-authority": str(tmp_path / "ca.crt"),
                         "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"a": 1}}]}) == \
        {"server": "s", "certificate-authority-data": "Q0E=", "config": {"a": 1}}


@pytest.mark.parametrize("spec, message", [
    ({"interactiveMode": "Always"}, 'getting credentials: exec plugin cannot support interactive mode: standard input '
                                    'is not a terminal (context "ctx")'),
    ({"apiVersion": "client.authentication.k8s.io/v1alpha1"},
     'getting credentials: exec plugin: invalid apiVersion "client.authentication.k8s.io/v1alpha1" (context "ctx"): '
     "use client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1 in the kubeconfig user"),
    ({"command": "/nonexistent/plugin"},
     'getting credentials: exec: executable /nonexistent/plugin not found (context "ctx"): install it, or fix the '
     "user in the kubeconfig"),
    ({"command": "/etc"}, 'getting credentials: exec: executable /etc cannot be run: Permission denied (context "ctx")'),
])
def test_plugin_failures_are_one_line(tmp_path, spec, message):
    p = plugin(tmp_path, {"token": "t"})
    p.spec.update(spec)
    p.command = p.spec["command"]
    with pytest.raises(ConfigError) as e:
        p.get()
    assert str(e.value) == message
