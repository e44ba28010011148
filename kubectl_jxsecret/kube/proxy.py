"""Which proxy, if any, a request to the API server goes through: client-go's rules (Go's
net/http/httpproxy, as kubectl uses them). Standard library only, no I/O.

The cluster's `proxy-url` wins for every host. Otherwise HTTPS_PROXY (for an https server) or
HTTP_PROXY (for http), upper case before lower case, unless NO_PROXY (or no_proxy) matches the
server: `*`, an IP address or CIDR, a domain (`example.com` matches it and its subdomains,
`.example.com` and `*.example.com` only subdomains), each with an optional `:port`. localhost and
loopback addresses never go through an environment proxy.
"""

import urllib.parse
from collections.abc import Mapping

from ..errors import ConfigError

DEFAULT_PORTS = {"http": 80, "https": 443}


def environment_value(environ: Mapping[str, str], name: str) -> str:
    """HTTPS_PROXY before https_proxy, as Go reads them."""
    return environ.get(name.upper()) or environ.get(name.lower()) or ""


def proxy_for(server: str, cluster: dict, environ: Mapping[str, str]) -> urllib.parse.SplitResult | None:
    """The proxy (scheme http, host, port, optional user:password) for requests to `server`, or None."""
    if cluster.get("proxy-url"):
        return parse_proxy(cluster["proxy-url"], "the kubeconfig cluster's proxy-url")
    target = urllib.parse.urlsplit(server)
    scheme = target.scheme.lower()
    name = "HTTPS_PROXY" if scheme == "https" else "HTTP_PROXY"
    value = environment_value(environ, name)
    if not value or bypass(target.hostname or "", target.port or DEFAULT_PORTS.get(scheme, 443),
                           environment_value(environ, "NO_PROXY")):
        return None
    return parse_proxy(value, name)


def parse_proxy(value: str, origin: str) -> urllib.parse.SplitResult:
    # Go takes a proxy without a scheme ("proxy:3128") as http://.
    url = urllib.parse.urlsplit(value if "://" in value else f"http://{value}")
    try:
        port = url.port
    except ValueError:
        raise ConfigError(f"proxy {redacted(url)} (from {origin}) has an invalid port: fix it") from None
    if url.scheme.lower() != "http":
        raise ConfigError(f"proxy {redacted(url)} (from {origin}): only http:// proxies are supported, "
                          f"not {url.scheme}://")
    if not url.hostname:
        raise ConfigError(f"proxy {value!r} (from {origin}) names no host: fix it")
    return url._replace(netloc=url.netloc if port else f"{url.netloc}:80")


def redacted(url: urllib.parse.SplitResult) -> str:
    """The proxy's address without its password, for messages."""
    host = url.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = ""
    try:
        port = f":{url.port}" if url.port else ""
    except ValueError:
        pass
    return f"{url.scheme}://{host}{port}"


def bypass(host: str, port: int, no_proxy: str) -> bool:
    """Whether a request to host:port goes direct, by Go's httpproxy rules (useProxy)."""
    host = host.strip().lower().strip("[]")
    if not host or host == "localhost":
        return True
    ip = _ip(host)
    if ip is not None and ip.is_loopback:
        return True
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:
            import ipaddress

            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if ip is not None and ip.version == network.version and ip in network:
                return True
            continue
        entry_host, entry_port = _split_host_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        entry_ip = _ip(entry_host)
        if entry_ip is not None:
            if ip is not None and ip == entry_ip:
                return True
            continue
        if entry_host.startswith("*."):
            entry_host = entry_host[1:]
        if entry_host.startswith("."):
            if host.endswith(entry_host):
                return True
        elif host == entry_host or host.endswith("." + entry_host):
            return True
    return False


def _ip(text: str):
    import ipaddress  # only with a proxy set: most users have none

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _split_host_port(entry: str) -> tuple[str, int | None]:
    """("example.com", 8443) of "example.com:8443", ("::1", None) of "::1", ("::1", 80) of "[::1]:80"."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if port.isdigit():
            return host, int(port)
    return entry, None
