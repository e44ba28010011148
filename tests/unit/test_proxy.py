"""Which proxy a request to the API server takes: client-go's rules (Go's httpproxy), as tables."""

import pytest

from kubectl_jxsecret.errors import ConfigError
from kubectl_jxsecret.kube.proxy import bypass, proxy_for


@pytest.mark.parametrize("host, port, no_proxy, direct", [
    ("api.example.com", 443, "", False),
    ("api.example.com", 443, "*", True),
    ("api.example.com", 443, "example.com", True),  # a domain matches itself and its subdomains
    ("example.com", 443, "example.com", True),
    ("example.com", 443, ".example.com", False),  # a leading dot: subdomains only
    ("api.example.com", 443, ".example.com", True),
    ("api.example.com", 443, "*.example.com", True),
    ("badexample.com", 443, "example.com", False),  # a suffix is not a subdomain
    ("api.example.com", 6443, "example.com:6443", True),  # with a port, that port only
    ("api.example.com", 443, "example.com:6443", False),
    ("API.Example.COM", 443, " other.org , EXAMPLE.com ", True),  # case and spaces do not matter
    ("10.1.2.3", 443, "10.0.0.0/8", True),  # CIDR
    ("11.1.2.3", 443, "10.0.0.0/8", False),
    ("10.1.2.3", 443, "10.1.2.3", True),  # one IP
    ("10.1.2.3", 6443, "10.1.2.3:443", False),
    ("fd00::1", 443, "fd00::/8", True),
    ("fd00::1", 443, "[fd00::1]:443", True),
    ("10.1.2.3", 443, "example.com", False),
    ("localhost", 443, "", True),  # never through an environment proxy
    ("127.0.0.1", 443, "", True),
    ("::1", 443, "", True),
    ("api.example.com", 443, "10.0.0.0/8,,bad/cidr", False),  # what cannot match is ignored
])
def test_no_proxy_matching(host, port, no_proxy, direct):
    assert bypass(host, port, no_proxy) is direct


@pytest.mark.parametrize("server, cluster, environ, expected", [
    ("https://api.example.com", {}, {}, None),
    ("https://api.example.com", {}, {"HTTPS_PROXY": "http://proxy:3128"}, "http://proxy:3128"),
    ("https://api.example.com", {}, {"https_proxy": "proxy:3128"}, "http://proxy:3128"),  # no scheme: http
    ("https://api.example.com", {}, {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:2"},
     "http://upper:1"),
    ("https://api.example.com", {}, {"HTTP_PROXY": "http://proxy:3128"}, None),  # http's proxy is not https's
    ("http://api.example.com", {}, {"HTTP_PROXY": "http://proxy:3128"}, "http://proxy:3128"),
    ("https://api.example.com", {}, {"HTTPS_PROXY": "http://proxy", "NO_PROXY": "example.com"}, None),
    ("https://api.example.com", {}, {"HTTPS_PROXY": "http://proxy", "no_proxy": "example.com"}, None),
    ("https://api.example.com:6443", {}, {"HTTPS_PROXY": "http://proxy", "NO_PROXY": "example.com:443"},
     "http://proxy:80"),
    ("https://127.0.0.1:6443", {}, {"HTTPS_PROXY": "http://proxy:3128"}, None),  # loopback: direct
    # The kubeconfig's proxy-url wins, for any host, whatever NO_PROXY says.
    ("https://127.0.0.1:6443", {"proxy-url": "http://corp:8080"}, {"NO_PROXY": "*"}, "http://corp:8080"),
    ("https://api.example.com", {"proxy-url": "http://u:p@corp:8080"}, {}, "http://u:p@corp:8080"),
])
def test_proxy_for(server, cluster, environ, expected):
    proxy = proxy_for(server, cluster, environ)
    assert (proxy.geturl() if proxy else None) == expected


@pytest.mark.parametrize("value, message", [
    ("socks5://proxy:1080", "proxy socks5://proxy:1080 (from HTTPS_PROXY): only http:// proxies are supported"),
    ("https://user:secret@proxy:3128", "proxy https://proxy:3128 (from HTTPS_PROXY): only http:// proxies"),
    ("http://proxy:99999", "proxy http://proxy (from HTTPS_PROXY) has an invalid port"),
    ("http://:3128", "names no host"),
])
def test_unusable_proxies_are_one_clear_error_without_the_password(value, message):
    with pytest.raises(ConfigError) as caught:
        proxy_for("https://api.example.com", {}, {"HTTPS_PROXY": value})
    assert message in str(caught.value)
    assert "secret" not in str(caught.value)
