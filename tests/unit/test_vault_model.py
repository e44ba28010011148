"""Where values live in Vault, which addresses are in-cluster, and which setting wins."""

import pytest

from kubectl_jxsecret.model.vault import (STATE_HINTS, InCluster, KvPath, Setting, address_error, address_problem,
                                           health_state, in_cluster_target, kv_path, resolve, tunnel_reaches,
                                           with_scheme)


@pytest.mark.parametrize("store_path, version, key, expected", [
    ("secret", "v2", "jx/boot", KvPath("secret", "jx/boot", 2)),
    ("secret", "v2", "secret/jx/boot", KvPath("secret", "jx/boot", 2)),  # leading mount tolerated
    ("secret", "v2", "secret/data/jx/boot", KvPath("secret", "jx/boot", 2)),  # and KV v2's data/
    ("secret", "v2", "/jx/boot/", KvPath("secret", "jx/boot", 2)),
    ("kv1", "v1", "jx/boot", KvPath("kv1", "jx/boot", 1)),
    ("kv1", "v1", "kv1/data/x", KvPath("kv1", "data/x", 1)),  # on KV v1 data/ is a real path segment
    (None, "v2", "secret/data/jx/boot", KvPath("secret", "jx/boot", 2)),  # no store path: first segment
    (None, "v2", "secret/jx/boot", KvPath("secret", "jx/boot", 2)),
    ("", "v1", "kv1/x", KvPath("kv1", "x", 1)),
    ("team/secret", "v2", "app", KvPath("team/secret", "app", 2)),  # nested mount
    ("secret", None, "x", KvPath("secret", "x", 2)),  # ESO's default is v2
])
def test_kv_path(store_path, version, key, expected):
    assert kv_path(store_path, version, key) == expected


@pytest.mark.parametrize("address, expected", [
    ("http://vault.jx-vault:8200", InCluster("jx-vault", "vault", 8200)),
    ("https://vault.jx-vault.svc:8200", InCluster("jx-vault", "vault", 8200, "https")),
    ("https://vault.jx-vault.svc.cluster.local:8200", InCluster("jx-vault", "vault", 8200, "https")),
    ("http://openbao.vault.svc", InCluster("vault", "openbao", 8200)),
    ("https://vault.jx-vault.svc.cluster.local.", InCluster("jx-vault", "vault", 443, "https")),
    ("http://127.0.0.1:8200", None),
    ("http://localhost:8200", None),
    ("https://vault.example.com", None),
    ("https://vault.corp.example.com:8200", None),
    ("http://10.0.0.5:8200", None),
])
def test_in_cluster_target(address, expected):
    assert in_cluster_target(address) == expected


FULL_ENV = {"VAULT_ADDR": "http://env:8200", "VAULT_TOKEN": "env-token", "VAULT_CACERT": "/env.pem",
            "BAO_ADDR": "http://bao:8200", "BAO_TOKEN": "bao-token", "BAO_CACERT": "/bao.pem"}
STORE = {"server": "http://vault.jx-vault:8200", "token": "store-token", "namespace": "team"}
CLUSTER = {"token": "jx-root", "ca_cert": "/cluster.pem"}


@pytest.mark.parametrize("flags, env, token_file, store, cluster, addr, token, ca", [
    ({"address": "http://flag:8200", "ca_cert": "/flag.pem"}, FULL_ENV, "file", STORE, CLUSTER,
     ("http://flag:8200", "--vault-addr"), ("env-token", "VAULT_TOKEN"), ("/flag.pem", "--vault-ca-cert")),
    ({}, FULL_ENV, "file", STORE, CLUSTER,
     ("http://env:8200", "VAULT_ADDR"), ("env-token", "VAULT_TOKEN"), ("/env.pem", "VAULT_CACERT")),
    ({}, {k: v for k, v in FULL_ENV.items() if k.startswith("BAO_")}, "file", STORE, CLUSTER,
     ("http://bao:8200", "BAO_ADDR"), ("bao-token", "BAO_TOKEN"), ("/bao.pem", "BAO_CACERT")),
    ({}, {}, "file", STORE, CLUSTER,
     ("http://vault.jx-vault:8200", "the SecretStore's server"), ("file", "~/.vault-token"),
     ("/cluster.pem", "Secret vault-tls (ca.crt)")),
    ({}, {}, None, STORE, CLUSTER, ("http://vault.jx-vault:8200", "the SecretStore's server"),
     ("store-token", "the SecretStore's auth.tokenSecretRef"), ("/cluster.pem", "Secret vault-tls (ca.crt)")),
    ({}, {}, None, {}, CLUSTER, ("http://vault.jx-vault:8200", "the Jenkins X default"),
     ("jx-root", "Secret vault-unseal-keys (vault-root)"), ("/cluster.pem", "Secret vault-tls (ca.crt)")),
    ({}, {}, None, {}, {}, ("http://vault.jx-vault:8200", "the Jenkins X default"), None, None),
    ({}, {"VAULT_ADDR": ""}, "", {}, {}, ("http://vault.jx-vault:8200", "the Jenkins X default"), None, None),
])
def test_discovery_precedence(flags, env, token_file, store, cluster, addr, token, ca):
    s = resolve(flags, env, token_file, store, cluster)
    assert (s.address.value, s.address.source) == addr
    assert (s.token and (s.token.value, s.token.source)) == token
    assert (s.ca_cert and (s.ca_cert.value, s.ca_cert.source)) == ca


def test_vault_namespace_never_comes_from_vault_namespace_env():
    # Jenkins X used VAULT_NAMESPACE for the Kubernetes namespace of Vault: never send it to Vault.
    s = resolve({}, {"VAULT_NAMESPACE": "jx-vault"}, None, {}, {})
    assert s.namespace is None
    assert resolve({"namespace": "team"}, {}, None, {"namespace": "other"}, {}).namespace.value == "team"


NEEDS_SCHEME = "it needs http:// or https://, e.g. https://vault.example.com:8200"


@pytest.mark.parametrize("address, problem", [
    ("http://vault.jx-vault:8200", None),
    ("https://vault.example.com", None),
    ("https://vault.example.com:8200/prefix", None),  # behind a path-routing proxy
    ("http://127.0.0.1:8200", None),
    ("http://[::1]:8200", None),
    ("notaurl", NEEDS_SCHEME),
    ("vault.example.com:8200", NEEDS_SCHEME),  # urlsplit takes the host for a scheme
    ("127.0.0.1:8200", NEEDS_SCHEME),
    ("tcp://vault:8200", NEEDS_SCHEME),
    ("", NEEDS_SCHEME),
    ("https://", "it has no host, e.g. https://vault.example.com:8200"),
    ("http://:8200", "it has no host, e.g. https://vault.example.com:8200"),
    ("http://vault:99999", "its port is not a number from 1 to 65535"),
    ("http://vault:port", "its port is not a number from 1 to 65535"),
    ("http://vault:0", "its port is not a number from 1 to 65535"),
    ("http://vault:8200\n", "it contains a space or line break"),  # a variable read from a file
    (" http://vault:8200", "it contains a space or line break"),
    ("http://[::1:8200", "it is not a URL, e.g. https://vault.example.com:8200"),
    ("https://user:pass@vault:8200", "it must not hold a user or password: Vault takes a token (VAULT_TOKEN)"),
    ("https://vault:8200?x=1", "it must not have a query (?...) or fragment (#...)"),
])
def test_address_problem(address, problem):
    assert address_problem(address) == problem


@pytest.mark.parametrize("setting, message", [
    (Setting("notaurl", "--vault-addr"), f'--vault-addr "notaurl" is not a Vault address: {NEEDS_SCHEME}'),
    (Setting("http://v:1\n", "VAULT_ADDR"),
     'VAULT_ADDR "http://v:1\\n" is not a Vault address: it contains a space or line break'),
    (Setting("https://me:secret@vault", "BAO_ADDR"),  # the password never reaches the message
     'BAO_ADDR "https://***@vault" is not a Vault address: it must not hold a user or password: '
     "Vault takes a token (VAULT_TOKEN)"),
    (Setting("http://vault.jx-vault:8200", "the Jenkins X default"), None),
])
def test_address_error_names_the_setting(setting, message):
    assert address_error(setting) == message


@pytest.mark.parametrize("health, state", [
    ({"initialized": True, "sealed": False}, "unsealed"),
    ({"initialized": True, "sealed": True}, "sealed"),
    ({"initialized": False, "sealed": True}, "not initialised"),
    ({}, "not initialised"),
])
def test_health_state(health, state):
    assert health_state(health) == state
    assert (state in STATE_HINTS) == (state != "unsealed")  # every state we wait in says what to do


TUNNEL = {"server": "https://api:6443", "namespace": "jx-vault", "service": "vault", "port": 8200, "local_port": 4321}


@pytest.mark.parametrize("record, server, target, reaches", [
    (TUNNEL, "https://api:6443", InCluster("jx-vault", "vault", 8200), True),
    (TUNNEL, "https://api:6443", InCluster("jx-vault", "vault", 8200, "https"), True),  # scheme is Vault's, not the tunnel's
    (TUNNEL, "https://other:6443", InCluster("jx-vault", "vault", 8200), False),  # another cluster's Vault
    (TUNNEL, "https://api:6443", InCluster("vault", "vault", 8200), False),
    (TUNNEL, "https://api:6443", InCluster("jx-vault", "openbao", 8200), False),
    (TUNNEL, "https://api:6443", InCluster("jx-vault", "vault", 8201), False),
    ({**TUNNEL, "local_port": None}, "https://api:6443", InCluster("jx-vault", "vault", 8200), False),
    ({}, "https://api:6443", InCluster("jx-vault", "vault", 8200), False),
])
def test_tunnel_reaches(record, server, target, reaches):
    assert tunnel_reaches(record, server, target) is reaches


def test_default_address_follows_vaults_namespace():
    s = resolve({}, {}, None, {}, {}, vault_namespace="openbao")
    assert (s.address.value, s.address.source) == ("http://vault.openbao:8200", "the Jenkins X default with -n")
    s = resolve({}, {"VAULT_ADDR": "http://127.0.0.1:8200"}, None, {}, {}, vault_namespace="openbao")
    assert (s.address.value, s.address.source) == ("http://127.0.0.1:8200", "VAULT_ADDR")  # -n is only the default's


@pytest.mark.parametrize("address, scheme, expected", [
    ("https://127.0.0.1:8200", "http", "http://127.0.0.1:8200"),
    ("http://vault.jx-vault:8200", "https", "https://vault.jx-vault:8200"),
])
def test_with_scheme(address, scheme, expected):
    assert with_scheme(address, scheme) == expected
