"""Vault/OpenBao decisions without I/O: where a value lives (ESO's path rules), whether an address
is one and points inside the cluster, which address/token/CA wins among flags, environment and
cluster, and what Vault's health says.
"""

import json
import re
import urllib.parse
from dataclasses import dataclass

# Jenkins X's defaults (jx-secret): Vault runs as pod vault-0 behind service vault in jx-vault.
JX_VAULT_NAMESPACE = "jx-vault"
JX_VAULT_SERVICE = "vault"
JX_VAULT_POD = "vault-0"
JX_VAULT_PORT = 8200
JX_TOKEN_SECRET, JX_TOKEN_KEY = "vault-unseal-keys", "vault-root"
JX_CA_SECRET, JX_CA_KEY = "vault-tls", "ca.crt"


@dataclass(frozen=True)
class KvPath:
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


@dataclass(frozen=True)
class InCluster:
    """A Vault reachable only inside the cluster: service `service` in `namespace`, on `port`."""

    namespace: str
    service: str
    port: int
    scheme: str = "http"


def in_cluster_target(address: str) -> InCluster | None:
    """`http://vault.jx-vault:8200`, `https://vault.jx-vault.svc.cluster.local:8200` -> the service;
    None for addresses that resolve outside the cluster (localhost, public names, IPs)."""
    url = urllib.parse.urlsplit(address)
    host = (url.hostname or "").rstrip(".")
    parts = host.split(".")
    if len(parts) == 2 or (len(parts) >= 3 and parts[2] == "svc" and (len(parts) == 3 or parts[3:] == ["cluster", "local"])):
        if all(parts) and not host.replace(".", "").isdigit():
            default_port = 443 if url.scheme == "https" else JX_VAULT_PORT
            return InCluster(namespace=parts[1], service=parts[0], port=url.port or default_port,
                             scheme=url.scheme or "http")
    return None


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


@dataclass(frozen=True)
class Setting:
    value: str
    source: str  # where it came from, for `vault env` and error messages (never the value itself)


@dataclass(frozen=True)
class VaultSettings:
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
    Jenkins X Secrets hold (`token`, `ca_cert`); missing entries are simply absent. `vault_namespace`
    (-n) is the Kubernetes namespace of the Jenkins X default address, jx-vault unless given.
    """
    default = (f"http://{JX_VAULT_SERVICE}.{vault_namespace or JX_VAULT_NAMESPACE}:{JX_VAULT_PORT}",
               "the Jenkins X default with -n" if vault_namespace else "the Jenkins X default")
    address = first((flags.get("address"), "--vault-addr"), (env.get("VAULT_ADDR"), "VAULT_ADDR"),
                    (env.get("BAO_ADDR"), "BAO_ADDR"), (store.get("server"), "the SecretStore's server"), default)
    # No --vault-token flag: a token in argv is visible to every user of the machine (ps).
    token = first((env.get("VAULT_TOKEN"), "VAULT_TOKEN"),
                  (env.get("BAO_TOKEN"), "BAO_TOKEN"), (token_file, "~/.vault-token"),
                  (store.get("token"), "the SecretStore's auth.tokenSecretRef"),
                  (cluster.get("token"), f"Secret {JX_TOKEN_SECRET} ({JX_TOKEN_KEY})"))
    ca_cert = first((flags.get("ca_cert"), "--vault-ca-cert"), (env.get("VAULT_CACERT"), "VAULT_CACERT"),
                    (env.get("BAO_CACERT"), "BAO_CACERT"), (cluster.get("ca_cert"), f"Secret {JX_CA_SECRET} ({JX_CA_KEY})"))
    # Not VAULT_NAMESPACE: Jenkins X used it for the *Kubernetes* namespace of Vault, the Vault CLI for
    # an Enterprise namespace; guessing wrong would send every request to a namespace that is not there.
    namespace = first((flags.get("namespace"), "--vault-namespace"), (store.get("namespace"), "the SecretStore's namespace"))
    return VaultSettings(address, token, ca_cert, namespace)
