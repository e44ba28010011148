"""The Go template subset of secret schemas (model.templates): what renders, what is refused, and how."""

import pytest

from kubectl_jxsecret.model import bcrypt
from kubectl_jxsecret.model.templates import Lookup, TemplateError, parse_template, render

SECRETS = {("jx-git-operator", "jx-boot"): {"username": "bot", "password": "pw"},
           ("jx", "plain"): {"token": "t0k"}, ("jx", "colon"): {"user": "a:b", "password": "x"}}
STORE = {("nexus", "password"): "nx", ("docker", "username"): "du", ("docker", "password"): "dp"}
DATA = {"Requirements": {"cluster": {"registry": "gcr.io", "provider": "gke", "port": 8080, "tls": True},
                         "storage": {}}}


class Fake(Lookup):
    def secret(self, namespace, name, key):
        value = SECRETS.get((namespace or "jx", name), {}).get(key)
        if value is None:
            raise TemplateError(f"Secret {namespace or 'jx'}/{name} has no value for {key}")
        return value

    def extsecret(self, name, key):
        if (name, key) not in STORE:
            raise TemplateError(f"the store holds no value for jx/{name}.{key}")
        return STORE[(name, key)]


@pytest.mark.parametrize("template, rendered", [
    ("plain text", "plain text"),
    ('{{ extsecret "nexus" "password" }}', "nx"),
    ('<password>{{extsecret "nexus" "password"}}</password>', "<password>nx</password>"),
    ('{{ secret "jx-git-operator.jx-boot" "username" }}', "bot"),
    ('{{ secret "plain" "token" }}', "t0k"),  # no namespace: the ExternalSecret's
    ('{{ auth "jx-git-operator.jx-boot" "username" "password" }}', "bot:pw"),
    ('{{ extauth "docker" "username" "password" | b64enc }}', "ZHU6ZHA="),
    ('{{ "ZHU6ZHA=" | b64dec }}', "du:dp"),
    ("{{ .Requirements.cluster.registry }}/x", "gcr.io/x"),
    ("{{ .Requirements.cluster.port }} {{ .Requirements.cluster.tls }}", "8080 true"),
    ("{{ .Requirements.cluster.provider | upper | quote }}", '"GKE"'),
    ('{{ "  a  " | trim | squote }}', "'a'"),
    ("{{ `raw \\n` }}", "raw \\n"),
    ('{{ "tab\\there" }}', "tab\there"),
    ("a  {{- /* a comment */ -}}  b", "ab"),
    ('line1\n  {{- extsecret "nexus" "password" }}\n', "line1nx\n"),
    ('{"auths":{"{{ .Requirements.cluster.registry }}":'
     '{"auth":"{{ extauth "docker" "username" "password" | b64enc }}"}}}',
     '{"auths":{"gcr.io":{"auth":"ZHU6ZHA="}}}'),
])
def test_renders(template, rendered):
    assert render(template, Fake(), DATA) == rendered


@pytest.mark.parametrize("template, error", [
    ('{{ lookup "v1" "Secret" }}', "unknown function 'lookup' (supported: secret, extsecret, auth, extauth, "
                                   "htpasswdSecret, htpasswdExtSecret, b64enc, b64dec, quote, squote, trim, lower, "
                                   "upper)"),
    ("{{ if .Requirements.x }}a{{ end }}", "'if' is not supported (only values, functions and pipelines)"),
    ("{{ range .x }}{{ end }}", "'range' is not supported (only values, functions and pipelines)"),
    ('{{ extsecret "nexus" }}', "extsecret takes 2 arguments, got 1"),
    ('{{ "a" | auth "x" "y" "z" }}', "auth takes 3 arguments, got 4"),
    ("{{ b64enc }}", "b64enc takes 1 argument, got 0"),
    ("{{ }}", "empty action {{ }}"),
    ("{{ .a | }}", "empty command in pipeline {{ .a | }}"),
    ("{{ .a", "unclosed action: '{{' without '}}'"),
    ('{{ "a" "b" }}', 'unsupported syntax in {{ "a" "b" }}'),
    ("{{ $x := 1 }}", "unsupported syntax '$x' in {{ $x := 1 }}"),
    ("{{ extsecret nexus password }}", "extsecret: arguments must be strings or .fields, in "
                                       "{{ extsecret nexus password }}"),
])
def test_parse_errors_name_what_is_unsupported(template, error):
    with pytest.raises(TemplateError) as e:
        parse_template(template)
    assert str(e.value) == error


@pytest.mark.parametrize("template, error", [
    ("{{ .Requirements.cluster.project }}", "no value for .Requirements.cluster.project"),
    ("{{ .Values.x }}", "no value for .Values"),
    ("{{ .Requirements.storage }}", ".Requirements.storage is not a single value"),
    ('{{ extsecret "nexus" "username" }}', "the store holds no value for jx/nexus.username"),
    ('{{ secret "jx-git-operator.jx-boot" "token" }}', "Secret jx-git-operator/jx-boot has no value for token"),
    ('{{ auth "colon" "user" "password" }}', "auth: the user name in colon user contains ':'"),
])
def test_a_missing_input_is_an_error_never_a_blank(template, error):
    with pytest.raises(TemplateError) as e:
        render(template, Fake(), DATA)
    assert str(e.value) == error


@pytest.mark.parametrize("template, user, password", [
    ('{{ htpasswdSecret "jx-git-operator.jx-boot" "username" "password" }}', "bot", "pw"),
    ('{{ htpasswdExtSecret "docker" "username" "password" }}', "du", "dp"),
])
def test_htpasswd_is_the_user_and_a_bcrypt_hash_of_the_password(template, user, password, monkeypatch):
    monkeypatch.setattr(bcrypt, "DEFAULT_COST", 4)  # the same algorithm, 64 times faster
    name, _, hashed = render(template, Fake(), DATA).partition(":")
    assert (name, hashed[:7]) == (user, "$2b$04$")
    assert bcrypt.check(password, hashed)
    assert not bcrypt.check(password + "x", hashed)
