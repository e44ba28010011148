"""Vault/OpenBao decisions without I/O: where a value lives (ESO's path rules), whether an address
is one and points inside the cluster, which address/token/CA wins among flags, environment and
cluster, and what Vault's health says.
"""

import json
import re
import urllib.parse
from typing import NamedTuple

# Jenkins X's defaults (jx-secret): Vault runs as pod vault-0 behind service vault in jx-vault.
JX_VAULT_NAMESPACE = "jx-vault"
JX_VAULT_SERVICE = "vault"
JX_VAULT_POD = "vault-0"
JX_VAULT_PORT = 8200
JX_TOKEN_SECRET, JX_TOKEN_KEY = "vault-unseal-keys", "vault-root"
JX_CA_SECRET, JX_CA_KEY = "vault-tls", "ca.crt"
ROOT_TOKEN_SOURCE = f"/{JX_TOKEN_SECRET} ({JX_TOKEN_KEY})"  # the end of its Setting.source


class KvPath(NamedTuple):
    mount: str
    path: str
    version: int  # 1 or 2

    def __str__(self):
        return f"{self.mount}/{self.path}"


def kv_path(store_path: str | None, version: str | int | None, key: str) -> KvPath:
    """Where ESO reads `remoteRef.key` (ESO providers/v1/vault buildPath).

    With a store `path` the key is relative to that mount (a leading `<mount>/` and, on KV v2, a
    following `data/` are tolerated and stripped); without one the key's first segment is the mount.
    """
    v = 1 if str(version).lstrip("v") == "1" else 2
    key = key.strip("/")
    if store_path:
        mount = store_path.strip("/")
        rest = key[len(mount) + 1:] if key.startswith(mount + "/") else key
    else:
        mount, _, rest = key.partition("/")
    if v == 2 and rest.startswith("data/"):
        rest = rest[len("data/"):]
    return KvPath(mount, rest, v)


class InCluster(NamedTuple):
    """A Vault reachable only inside the cluster: service `service` in `namespace`, on `port`."""

    namespace: str  # "" for a bare service name: inside the cluster it means the pod's own namespace
    service: str
    port: int
    scheme: str = "http"
    host: str = ""  # the name as the address has it, which an https Vault's certificate is for


# Two-label names under these are public (or reserved: RFC 2606, 6761), never <service>.<namespace>.
PUBLIC_SUFFIXES = frozenset({"com", "org", "net", "edu", "gov", "io", "dev", "app", "cloud", "ai", "co", "info",
                             "biz", "xyz", "example", "test", "invalid", "localhost", "local"})
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # RFC 1123: namespaces and services


def in_cluster_target(address: str, resolves: bool) -> InCluster | None:
    """Where Vault's `address` leads: the in-cluster service a tunnel must reach, or None to use the
    address as it is. `resolves`: does its host name resolve from here (I/O: the caller asks).

    In-cluster are names that do not resolve here and have the shape of cluster DNS: `svc`, `svc.ns`,
    `svc.ns.svc`, `svc.ns.svc.cluster.local`; a two-label name under a public suffix
    (`vault.example`) is not. IPs, loopback and everything that resolves are used as they are.
    """
    url = urllib.parse.urlsplit(address)
    host = (url.hostname or "").rstrip(".")
    labels = host.split(".")
    if resolves or host == "localhost" or host.replace(".", "").isdigit():
        return None
    if not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return None
    cluster_dns = labels[2:] in (["svc"], ["svc", "cluster", "local"])
    if len(labels) > 2 and not cluster_dns or len(labels) == 2 and labels[1] in PUBLIC_SUFFIXES:
        return None
    if not labels[0][0].isalpha():  # a Service name is an RFC 1035 label
        return None
    scheme = url.scheme or "http"
    return InCluster(namespace=labels[1] if len(labels) > 1 else "", service=labels[0],
                     port=url.port or (443 if scheme == "https" else JX_VAULT_PORT), scheme=scheme, host=host)


def is_loopback(address: str) -> bool:
    host = urllib.parse.urlsplit(address).hostname or ""
    return host == "localhost" or host == "::1" or host.startswith("127.")


EXAMPLE_ADDRESS = "https://vault.example.com:8200"


def address_problem(address: str) -> str | None:
    """Why `address` cannot be a Vault address, http(s)://HOST[:PORT][/PATH]; None when it can be one."""
    if any(c.isspace() for c in address):
        return "it contains a space or line break"
    try:
        url = urllib.parse.urlsplit(address)
    except ValueError:  # an unclosed [IPv6 bracket
        return f"it is not a URL, e.g. {EXAMPLE_ADDRESS}"
    if url.scheme not in ("http", "https"):
        return f"it needs http:// or https://, e.g. {EXAMPLE_ADDRESS}"
    if not url.hostname:
        return f"it has no host, e.g. {EXAMPLE_ADDRESS}"
    try:
        port = url.port
    except ValueError:  # not a number, or out of range
        port = 0
    if port == 0:
        return "its port is not a number from 1 to 65535"
    if "@" in url.netloc:
        return "it must not hold a user or password: Vault takes a token (VAULT_TOKEN)"
    if url.query or url.fragment:
        return "it must not have a query (?...) or fragment (#...)"
    return None


def quoted(address: str) -> str:
    """An address for a one-line message: quoted, line breaks escaped, any user:password@ masked."""
    return json.dumps(re.sub(r"//[^/@]*@", "//***@", address))


def address_error(setting: "Setting") -> str | None:
    problem = address_problem(setting.value)
    return f"{setting.source} {quoted(setting.value)} is not a Vault address: {problem}" if problem else None


def with_scheme(address: str, scheme: str) -> str:
    return scheme + address[address.index(":"):]


def health_state(health: dict) -> str:
    """sys/health as the one word `vault wait` reports."""
    if not health.get("initialized"):
        return "not initialised"
    return "sealed" if health.get("sealed") else "unsealed"


# What to do about a state, named in `vault wait`'s messages.
STATE_HINTS = {
    "sealed": "unseal it with 'vault operator unseal' (OpenBao: 'bao operator unseal') and an unseal key",
    "not initialised": "initialise it with 'vault operator init' (OpenBao: 'bao operator init')",
}


def tunnel_reaches(record: dict, server: str, target: InCluster) -> bool:
    """Does a recorded `vault portforward` tunnel (tunnel_records) reach the in-cluster Vault `target`
    of the API server `server`? Any context of that server will do: the tunnel is the same."""
    return (record.get("server") == server and record.get("namespace") == target.namespace
            and record.get("service") == target.service and record.get("port") == target.port
            and isinstance(record.get("local_port"), int))


# Sources a person typed: such an address may be any Vault, not the cluster's.
TYPED = ("--vault-addr", "VAULT_ADDR", "BAO_ADDR")
STORE_SERVER = "the SecretStore's server"


def clusters_vault(address: "Setting", resolves: bool, server: str, tunnels: list[dict]) -> InCluster | None:
    """The cluster's own Vault that `address` reaches, or None. Only there may the tokens read from the
    cluster go (Jenkins X's root token above all): an address the user typed may be another Vault.

    The cluster's own are: an in-cluster service address (one the user typed too, if its name is
    unambiguous or does not resolve here: `vault.corp` may be a public name), and the local port of one
    of our open `vault portforward` tunnels (`tunnels`, tunnel_records) to a Vault of API server `server`.
    """
    target = in_cluster_target(address.value, resolves=False)  # the shape of its name
    unambiguous = target is not None and len(target.host.split(".")) > 2
    if target and target.namespace and (address.source not in TYPED or unambiguous or not resolves):
        return target
    if is_loopback(address.value):
        port = urllib.parse.urlsplit(address.value).port
        for record in tunnels:
            if record.get("server") == server and record.get("local_port") == port:
                return InCluster(record.get("namespace"), record.get("service"), record.get("port"),
                                 record.get("scheme", "http"))
    return None


def uses_root_token(settings: "VaultSettings") -> bool:
    """Is the token Jenkins X's root token (which a command says, once)?"""
    return bool(settings.token and settings.token.source.endswith(ROOT_TOKEN_SOURCE))


class Setting(NamedTuple):
    value: str
    source: str  # where it came from, for `vault env` and error messages (never the value itself)


class VaultSettings(NamedTuple):
    address: Setting | None
    token: Setting | None
    ca_cert: Setting | None  # a PEM file path
    namespace: Setting | None = None  # Vault Enterprise / OpenBao namespace, not a Kubernetes one


def first(*candidates: tuple[str | None, str]) -> Setting | None:
    for value, source in candidates:
        if value:
            return Setting(value, source)
    return None


def resolve(flags: dict, env: dict, token_file: str | None, store: dict, cluster: dict,
            vault_namespace: str | None = None) -> VaultSettings:
    """The discovery order, documented in the README: flags, then VAULT_* (then BAO_*) variables, then
    ~/.vault-token, then the cluster (the ESO store, Jenkins X's vault-unseal-keys / vault-tls).

    `store` holds what the ESO SecretStore says (`server`, `token`, `namespace`); `cluster` what the
    Jenkins X Secrets hold (`token`, `ca_cert`, and the `namespace` they are in); missing entries are
    absent. `vault_namespace` (-n) is the Kubernetes namespace of the Jenkins X default address, jx-vault
    unless given.
    """
    default = (f"http://{JX_VAULT_SERVICE}.{vault_namespace or JX_VAULT_NAMESPACE}:{JX_VAULT_PORT}",
               "the Jenkins X default with -n" if vault_namespace else "the Jenkins X default")
    address = first((flags.get("address"), "--vault-addr"), (env.get("VAULT_ADDR"), "VAULT_ADDR"),
                    (env.get("BAO_ADDR"), "BAO_ADDR"), (store.get("server"), STORE_SERVER), default)
    # No --vault-token flag: a token in argv is visible to every user of the machine (ps).
    token = first((env.get("VAULT_TOKEN"), "VAULT_TOKEN"),
                  (env.get("BAO_TOKEN"), "BAO_TOKEN"), (token_file, "~/.vault-token"),
                  (store.get("token"), "the SecretStore's auth.tokenSecretRef"),
                  (cluster.get("token"), f"Secret {cluster.get('namespace')}{ROOT_TOKEN_SOURCE}"))
    ca_cert = first((flags.get("ca_cert"), "--vault-ca-cert"), (env.get("VAULT_CACERT"), "VAULT_CACERT"),
                    (env.get("BAO_CACERT"), "BAO_CACERT"), (cluster.get("ca_cert"), f"Secret {JX_CA_SECRET} ({JX_CA_KEY})"))
    # Not VAULT_NAMESPACE: Jenkins X used it for the *Kubernetes* namespace of Vault, the Vault CLI for
    # an Enterprise namespace; guessing wrong would send every request to a namespace that is not there.
    namespace = first((flags.get("namespace"), "--vault-namespace"), (store.get("namespace"), "the SecretStore's namespace"))
    return VaultSettings(address, token, ca_cert, namespace)


def changed_meanwhile(planned: dict | None, now: dict | None, values: dict) -> list[str]:
    """The properties we are about to write that another writer changed since our plan read them:
    writing over those would lose their value. Other properties they changed are merged and kept."""
    planned, now = planned or {}, now or {}
    return sorted(p for p in values if now.get(p) != planned.get(p) and now.get(p) != values[p])
