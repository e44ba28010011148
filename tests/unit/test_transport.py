"""Which kubeconfig users take the light transport, and the headers they send."""

import pytest

from kubectl_jxsecret.errors import ConfigError
from kubectl_jxsecret.kube.transport import auth_header, needs_kubernetes_client


@pytest.mark.parametrize("cluster, user, heavy", [
    ({"server": "https://x"}, {"client-certificate-data": "x", "client-key-data": "y"}, False),
    ({"server": "https://x"}, {"token": "t"}, False),
    ({"server": "https://x"}, {"tokenFile": "/t"}, False),
    ({"server": "https://x"}, {}, False),
    ({"server": "https://x"}, {"exec": {"command": "aws"}}, False),  # our own exec plugin runner
    ({"server": "https://x"}, {"auth-provider": {"name": "oidc"}}, True),
    ({"server": "https://x", "proxy-url": "http://proxy:3128"}, {"token": "t"}, False),  # proxies are ours too
])
def test_needs_kubernetes_client(cluster, user, heavy):
    assert needs_kubernetes_client(cluster, user) is heavy


def test_auth_headers(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    assert auth_header({"token": "t"}) == "Bearer t"
    assert auth_header({"tokenFile": str(token_file)}) == "Bearer from-file"
    assert auth_header({"username": "u", "password": "p"}) == "Basic dTpw"
    assert auth_header({}) is None
    with pytest.raises(ConfigError, match="cannot read the token file /nonexistent"):
        auth_header({"tokenFile": "/nonexistent"})


def test_impersonation_headers():
    from kubectl_jxsecret.kube.transport import impersonation_headers

    pairs = impersonation_headers({"as": "jane", "as-groups": ["dev", "ops"], "as-user-extra": {"scopes": ["a"]}})
    assert pairs == [("Impersonate-User", "jane"), ("Impersonate-Group", "dev"), ("Impersonate-Group", "ops"),
                     ("Impersonate-Extra-scopes", "a")]
    assert impersonation_headers({"token": "t"}) == []


@pytest.mark.parametrize("status, header, wait", [
    (429, "2", 2),
    (503, "1", 1),
    (500, " 0 ", 0),
    (429, None, None),  # no Retry-After: the answer stands
    (429, "Wed, 21 Oct 2026 07:28:00 GMT", None),  # client-go takes whole seconds only
    (409, "1", None),  # a conflict is not asked again
    (200, "1", None),
])
def test_retry_after_follows_client_go(status, header, wait):
    from kubectl_jxsecret.kube.client import retry_after

    assert retry_after(status, header) == wait
