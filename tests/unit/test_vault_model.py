"""Where values live in Vault, which addresses are in-cluster, and which setting wins."""

import pytest

from kubectl_jxsecret.model.vault import InCluster, KvPath, in_cluster_target, kv_path, resolve


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
