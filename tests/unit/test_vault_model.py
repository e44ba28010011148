"""Where values live in Vault, which addresses are in-cluster, and which setting wins."""

import pytest

from kubectl_jxsecret.model.vault import (STATE_HINTS, InCluster, KvPath, Setting, address_error, address_problem,
                                           changed_meanwhile, clusters_vault, health_state, in_cluster_target, kv_path, resolve,
                                           tunnel_reaches, uses_root_token, with_scheme)


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


def svc(namespace, service, host, port=8200, scheme="http"):
    return InCluster(namespace, service, port, scheme, host)


@pytest.mark.parametrize("address, resolves, expected", [
    # cluster DNS names that do not resolve here: a tunnel to the service
    ("http://vault:8200", False, svc("", "vault", "vault")),  # a bare name: the namespace is the caller's problem
    ("http://vault.jx-vault:8200", False, svc("jx-vault", "vault", "vault.jx-vault")),
    ("https://vault.jx-vault.svc:8200", False, svc("jx-vault", "vault", "vault.jx-vault.svc", scheme="https")),
    ("https://vault.jx-vault.svc.cluster.local:8200", False,
     svc("jx-vault", "vault", "vault.jx-vault.svc.cluster.local", scheme="https")),
    ("https://vault.jx-vault.svc.cluster.local.", False,
     svc("jx-vault", "vault", "vault.jx-vault.svc.cluster.local", 443, "https")),
    ("http://openbao.vault.svc", False, svc("vault", "openbao", "openbao.vault.svc")),
    ("http://VAULT.JX-VAULT:8200", False, svc("jx-vault", "vault", "vault.jx-vault")),  # DNS ignores case
    # the same names where they resolve (a pod, /etc/hosts): used as they are
    ("http://vault.jx-vault:8200", True, None),
    ("https://vault.jx-vault.svc.cluster.local:8200", True, None),
    ("http://vault:8200", True, None),
    # public names: never a service, resolving or not
    ("https://vault.example", False, None),
    ("https://vault.example.com", False, None),
    ("https://vault.example.com", True, None),
    ("https://vault.corp.example.com:8200", False, None),
    ("http://vault.io:8200", False, None),
    ("http://vault.jx-vault.svc.other.domain:8200", False, None),  # .svc, but not under cluster.local
    # IPs and loopback
    ("http://127.0.0.1:8200", False, None),
    ("http://localhost:8200", False, None),
    ("http://[::1]:8200", False, None),
    ("http://10.0.0.5:8200", False, None),
    # not a Service or namespace name (RFC 1123 / 1035)
    ("http://vault_1.jx-vault:8200", False, None),
    ("http://1vault.jx-vault:8200", False, None),
])
def test_in_cluster_target(address, resolves, expected):
    assert in_cluster_target(address, resolves) == expected


SERVER = "https://api:6443"
OUR_TUNNEL = {"server": SERVER, "namespace": "jx-vault", "service": "vault", "port": 8200, "local_port": 4321,
              "scheme": "http"}


@pytest.mark.parametrize("address, source, resolves, tunnels, expected", [
    # the Jenkins X default and the store's server: the cluster's
    ("http://vault.jx-vault:8200", "the Jenkins X default", False, [], svc("jx-vault", "vault", "vault.jx-vault")),
    ("http://vault.jx-vault:8200", "the Jenkins X default", True, [], svc("jx-vault", "vault", "vault.jx-vault")),
    ("http://vault.jx:8200", "the SecretStore's server", False, [], svc("jx", "vault", "vault.jx")),
    ("https://vault.corp.example.com", "the SecretStore's server", True, [], None),  # an external Vault
    # typed in-cluster names: when unambiguous, or when they do not resolve here
    ("http://vault.jx-vault:8200", "--vault-addr", False, [], svc("jx-vault", "vault", "vault.jx-vault")),
    ("http://vault.corp:8200", "VAULT_ADDR", True, [], None),  # may be a public name
    ("http://vault.jx-vault.svc:8200", "VAULT_ADDR", True, [], svc("jx-vault", "vault", "vault.jx-vault.svc")),
    ("http://vault:8200", "BAO_ADDR", False, [], None),  # no namespace to read a Secret from
    # typed addresses of another Vault
    ("https://vault.example.com", "--vault-addr", True, [], None),
    ("http://10.0.0.5:8200", "VAULT_ADDR", True, [], None),
    # a local port: the cluster's only if one of our tunnels to this API server listens there
    ("http://127.0.0.1:4321", "VAULT_ADDR", False, [OUR_TUNNEL], InCluster("jx-vault", "vault", 8200)),
    ("http://localhost:4321", "VAULT_ADDR", False, [OUR_TUNNEL], InCluster("jx-vault", "vault", 8200)),
    ("http://127.0.0.1:8200", "VAULT_ADDR", False, [OUR_TUNNEL], None),  # another port: kubectl port-forward?
    ("http://127.0.0.1:4321", "VAULT_ADDR", False, [{**OUR_TUNNEL, "server": "https://other:6443"}], None),
    ("http://127.0.0.1:4321", "VAULT_ADDR", False, [], None),
])
def test_clusters_vault(address, source, resolves, tunnels, expected):
    assert clusters_vault(Setting(address, source), resolves, SERVER, tunnels) == expected


FULL_ENV = {"VAULT_ADDR": "http://env:8200", "VAULT_TOKEN": "env-token", "VAULT_CACERT": "/env.pem",
            "BAO_ADDR": "http://bao:8200", "BAO_TOKEN": "bao-token", "BAO_CACERT": "/bao.pem"}
STORE = {"server": "http://vault.jx-vault:8200", "token": "store-token", "namespace": "team"}
CLUSTER = {"token": "jx-root", "ca_cert": "/cluster.pem", "namespace": "jx-vault"}


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
     ("jx-root", "Secret jx-vault/vault-unseal-keys (vault-root)"), ("/cluster.pem", "Secret vault-tls (ca.crt)")),
    ({}, {}, None, {}, {}, ("http://vault.jx-vault:8200", "the Jenkins X default"), None, None),
    ({}, {"VAULT_ADDR": ""}, "", {}, {}, ("http://vault.jx-vault:8200", "the Jenkins X default"), None, None),
])
def test_discovery_precedence(flags, env, token_file, store, cluster, addr, token, ca):
    s = resolve(flags, env, token_file, store, cluster)
    assert (s.address.value, s.address.source) == addr
    assert (s.token and (s.token.value, s.token.source)) == token
    assert (s.ca_cert and (s.ca_cert.value, s.ca_cert.source)) == ca


@pytest.mark.parametrize("env, store, root", [
    ({}, {}, True),
    ({"VAULT_TOKEN": "mine"}, {}, False),
    ({}, {"token": "store-token"}, False),
])
def test_uses_root_token(env, store, root):
    assert uses_root_token(resolve({}, env, None, store, CLUSTER)) is root


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


@pytest.mark.parametrize("message, reason", [
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for "
     "'vault.example.com'. (_ssl.c:1006)", "hostname mismatch"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is not valid for "
     "'127.0.0.1'. (_ssl.c:1006)", "hostname mismatch"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)",
     "certificate verify failed"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate",
     "certificate verify failed"),
    ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", "plain HTTP"),
    ("[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure", "TLS handshake failed"),
])
def test_tls_reason(message, reason):
    from kubectl_jxsecret.stores.vault import tls_reason

    assert tls_reason(Exception(message)) == reason


@pytest.mark.parametrize("planned, now, values, taken", [
    ({"a": "1"}, {"a": "1", "b": "theirs"}, {"a": "2"}, []),  # they changed another property: merge
    ({"a": "1"}, {"a": "theirs"}, {"a": "2"}, ["a"]),  # they changed ours: never overwrite it
    (None, {"a": "theirs"}, {"a": "2"}, ["a"]),  # they created it after we found nothing
    ({"a": "1"}, {"a": "2"}, {"a": "2"}, []),  # they wrote what we write: nothing is lost
    ({"a": "1"}, {}, {"a": "2"}, ["a"]),  # they deleted it: writing would undo their delete
    ({"a": "1", "b": "1"}, {"a": "x", "b": "y"}, {"b": "2", "a": "2"}, ["a", "b"]),
])
def test_changed_meanwhile(planned, now, values, taken):
    assert changed_meanwhile(planned, now, values) == taken
