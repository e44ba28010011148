"""The Go templates of secret schemas (model.templates): what renders, what is refused, and how. Outputs of
control flow and functions were checked against Go 1.26 text/template with sprig v3.3.0."""

import re
from pathlib import Path

import pytest

from kubectl_jxsecret.model import bcrypt
from kubectl_jxsecret.model.templates import (FUNCTIONS, KEYWORDS, Lookup, MissingInput, TemplateError, parse_template,
                                             render)

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


@pytest.mark.parametrize("template, rendered", [
    # Go's control flow, as the version stream uses it (each output checked against Go 1.26 text/template).
    ('{{ if eq .Requirements.cluster.provider "gke" }}g{{ else if eq .Requirements.cluster.provider "eks" }}e'
     '{{ else }}o{{ end }}', "g"),
    ('{{ if eq .Requirements.cluster.provider "eks" }}e{{ else }}o{{ end }}', "o"),
    ('{{ if and (hasKey .Requirements "repository") (eq .Requirements.repository "none") }}n{{ else }}x{{ end }}',
     "x"),  # and stops at the first false: .Requirements.repository is never read
    ('{{ and "a" "b" }}|{{ and "" "b" }}|{{ or "" "b" }}|{{ or "a" "b" }}|{{ or "" 0 }}|{{ not "" }}', "b||b|a|0|true"),
    ('{{ "b" | and "a" }}{{ "" | or "z" }}{{ "a" | eq "a" }}', "bztrue"),
    ("{{ with .Requirements.cluster }}{{ .provider }}{{ else }}none{{ end }}", "gke"),
    ("{{ range $k, $v := .Requirements.cluster }}{{ $k }}={{ $v }};{{ end }}",
     "port=8080;provider=gke;registry=gcr.io;tls=true;"),  # a map in key order
    ("{{ range .Requirements.storage }}x{{ else }}empty{{ end }}", "empty"),
    ('{{ $p := .Requirements.cluster.provider }}{{ if eq $p "aws" "gke" }}cloud {{ $p }}{{ end }}', "cloud gke"),
    ('{{ eq 1 1 }} {{ ne "a" "b" }} {{ lt 1 2 }} {{ gt "b" "a" }} {{ le 2.5 2.5 }} {{ ge 1 2 }}',
     "true true true true true false"),
    ('{{ default "d" "" }}|{{ default "d" "v" }}|{{ "" | default "p" }}|{{ 0 | default 5 }}|{{ empty "" }}',
     "d|v|p|5|true"),
    ('{{ hasKey .Requirements "cluster" }} {{ hasKey .Requirements "nope" }} {{ contains "cr" "gcr.io" }}',
     "true false true"),
    ('{{ range $k, $v := fromJson "{\\"b\\": 2, \\"a\\": true, \\"c\\": 12500000}" }}{{ $k }}={{ $v }};{{ end }}',
     "a=true;b=2;c=1.25e+07;"),  # JSON numbers are Go float64s, printed as Go prints them
    ("{{ 1.5 }} {{ 100000.0 }} {{ 1000000.0 }} {{ -3 }} {{ true }}", "1.5 100000 1e+06 -3 true"),
    ('{{ "tab\\t \\"q\\" \\u00e9 \\u200b \\x01" | quote }}', '"tab\\t \\"q\\" \u00e9 \\u200b \\x01"'),  # Go's %q
    ('{{ (secret "plain" "token") | upper }}', "T0K"),
    ("a{{ if true }}\n  b\n{{- end }}\nc", "a\n  b\nc"),
    # jx reads a missing Secret key as "": empty in a condition, replaced by default
    ('{{ if secret "plain" "nothere" }}set{{ else }}unset{{ end }}', "unset"),
    ('{{ secret "plain" "url" | default "https://index.docker.io/v1/" | quote }}', '"https://index.docker.io/v1/"'),
    ('{{ extsecret "nexus" "username" | default "admin" }}', "admin"),
    ('{{ if not (eq .Requirements.cluster.registry (secret "plain" "url")) }}differ{{ end }}', "differ"),
    ("{{ .Requirements.cluster.snapshotUrl | default .Requirements.cluster.registry }}", "gcr.io"),
])
def test_go_control_flow_and_functions(template, rendered):
    assert render(template, Fake(), DATA) == rendered


@pytest.mark.parametrize("template, error", [
    ('{{ lookup "v1" "Secret" }}', "unknown function 'lookup' (supported: secret, extsecret, auth, extauth, "
                                   "htpasswdSecret, htpasswdExtSecret, b64enc, b64dec, quote, squote, trim, lower, "
                                   "upper, and, or, not, eq, ne, lt, le, gt, ge, default, empty, hasKey, contains, "
                                   "fromJson)"),
    ('{{ define "x" }}{{ end }}', "'define' is not supported (supported: if, else, with, range, end)"),
    ("{{ range .x }}{{ break }}{{ end }}", "'break' is not supported (supported: if, else, with, range, end)"),
    ("{{ if .a }}x", "{{ end }} missing: a block is not closed"),
    ("{{ if .a }}x{{ else }}y{{ else }}z{{ end }}", "unexpected {{ else }}"),
    ("x{{ end }}", "unexpected {{ end }}"),
    ("{{ else }}", "unexpected {{ else }}"),
    ('{{ extsecret "nexus" }}', "extsecret takes 2 arguments, got 1"),
    ('{{ "a" | auth "x" "y" "z" }}', "auth takes 3 arguments, got 4"),
    ("{{ b64enc }}", "b64enc takes 1 argument, got 0"),
    ('{{ eq "a" }}', "eq takes at least 2 arguments, got 1"),
    ('{{ default "a" "b" "c" }}', "default takes 1 to 2 arguments, got 3"),
    ("{{ }}", "empty action {{ }}"),
    ("{{ .a | }}", "empty command in pipeline {{ .a | }}"),
    ("{{ .a", "unclosed action: '{{' without '}}'"),
    ('{{ "a" "b" }}', 'unsupported syntax in {{ "a" "b" }}'),
    ("{{ $x }}", "undefined variable $x in {{ $x }}"),
    ("{{ (eq 1 1 }}", "unclosed ( in {{ (eq 1 1 }}"),
    ("{{ $x = 1 }}", "undefined variable $x in {{ $x = 1 }}"),
    ("{{ extsecret nexus password }}", "unknown function 'nexus' (supported: secret, extsecret, auth, extauth, "
                                      "htpasswdSecret, htpasswdExtSecret, b64enc, b64dec, quote, squote, trim, "
                                      "lower, upper, and, or, not, eq, ne, lt, le, gt, ge, default, empty, hasKey, "
                                      "contains, fromJson)"),
    ('{{ quote upper "a" }}', "upper: a function as an argument needs parentheses, in {{ quote upper \"a\" }}"),
    ("{{/* a comment */ .a }}", "comment ends before closing delimiter"),
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
    ('{{ secret "plain" "nothere" | quote }}', "Secret jx/plain has no value for nothere"),
    ('{{ auth "plain" "token" "nothere" }}', "Secret jx/plain has no value for nothere"),
    ('{{ if true }}{{ extsecret "nexus" "username" }}{{ end }}', "the store holds no value for jx/nexus.username"),
    ("{{ .Requirements.cluster.nothere | default .Requirements.cluster.nothere2 }}",
     "no value for .Requirements.cluster.nothere2"),
    ("{{ range $k, $v := .Requirements }}{{ $v }}{{ end }}", "$v is not a single value"),
    ('{{ eq 1 "1" }}', "eq: cannot compare an integer with a string"),
    ("{{ lt true false }}", "lt: cannot order a bool and a bool"),
    ('{{ range "abc" }}{{ end }}', 'range: cannot iterate over a string, in {{ range "abc" }}'),
    ('{{ hasKey .Requirements.cluster.registry "x" }}', "hasKey: expected a map, got a string"),
    ('{{ fromJson "{nope" }}', "fromJson: the value is not valid JSON"),
    ('{{ contains "a" 1 }}', "contains: expected a string, got an integer"),
    ("{{ .Requirements.cluster.port.x }}", ".Requirements.cluster.port is not a map: no field x"),
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


def test_the_readme_names_exactly_the_functions_there_are():
    """README's populate section lists what templates can call: every function, and nothing else."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("**Templates** are Go's"):readme.index("Anything else (`define`")]
    first_column = [re.split(r"(?<!\\) \| ", line)[0] for line in table.splitlines()
                    if line.startswith("| `") and "``" not in line]  # the row of string syntax names no function
    spans = [span for column in first_column for span in re.findall(r"`([^`]+)`", column)]
    named = {m.group(1) for m in (re.match(r"[{\s(…|\\-]*([a-z][A-Za-z0-9]*)", span) for span in spans) if m}
    assert named - {"f"} - set(KEYWORDS) == set(FUNCTIONS)


@pytest.mark.parametrize("template, missing", [
    ('{{ extsecret "nexus" "username" }}', True),
    ('{{ auth "plain" "token" "nothere" }}', True),
    ('{{ secret "plain" "nothere" | b64enc }}', True),
    ("{{ .Requirements.cluster.project }}", True),
    ('{{ auth "colon" "user" "password" }}', False),
    ("{{ .Requirements.storage }}", False),
    ('{{ eq 1 "1" }}', False),
    ('{{ range fromJson (extsecret "nexus" "username") }}{{ end }}', True),
    ('{{ fromJson "{nope" }}', False),
])
def test_a_missing_input_is_told_from_a_broken_template(template, missing):
    """populate lets a value whose input is not there wait for it; a broken template stops it."""
    with pytest.raises(TemplateError) as e:
        render(template, Fake(), DATA)
    assert isinstance(e.value, MissingInput) is missing
