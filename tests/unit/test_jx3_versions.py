"""The Jenkins X version stream's own secret schemas (tests/fixtures/jx3-versions, every secret-schema.yaml of
jenkins-x/jx3-versions): each parses, and each template renders as Go's text/template with sprig renders it.

The expected outputs in tests/fixtures/jx3-versions-rendered/ were made by Go 1.26 text/template with
sprig v3.3.0's functions and jx's lookups answering from the SECRETS and STORE below (missingkey=error, as jx
runs it), not by this code.
"""

import json
from pathlib import Path

import pytest
import yaml

from kubectl_jxsecret.model import bcrypt
from kubectl_jxsecret.model.schema import Property, SchemaObject, parse_annotation, parse_file
from kubectl_jxsecret.model.templates import Lookup, TemplateError, render
from kubectl_jxsecret.schemas import Schemas

ROOT = Path(__file__).parents[1] / "fixtures"
VERSIONS = ROOT / "jx3-versions"
RENDERED = ROOT / "jx3-versions-rendered"
FILES = sorted(p.relative_to(VERSIONS).as_posix() for p in VERSIONS.rglob("secret-schema.yaml"))

SECRETS = {"jx.jx-boot": {"username": "bot", "password": "pw", "email": "bot@example.com"},
           "jx-git-operator.jx-boot": {"username": "bot", "password": "pw"},
           "jx.container-registry-auth": {"username": "ru", "password": "rp"},
           "jx.knative-docker-user-pass": {"username": "du", "password": "dp", "url": "https://r.example.com"},
           "jx.jenkins-x-bucketrepo": {"username": "bu", "password": "bp"},
           "jx.nexus": {"password": "np"}, "jx.jenkins-x-chartmuseum": {"username": "cu", "password": "cp"},
           "jx.sonatype": {"username": "su", "password": "sp"}, "jx.docker-hub": {"username": "hu", "password": "hp"},
           "jx.gpg": {"passphrase": "gp"}}
STORE = {**SECRETS, "jx.secret/data/jenkins-x-bucketrepo": {"username": "bu", "password": "bp"},
         "jx.tekton-git": {"username": "tu", "password": "tp"}, "jx.myrepo": {"username": "mu", "password": "mp"},
         "jx.jx-basic-auth-user-password": {"username": "admin", "password": "secret1"},
         "jx.cd-indicators": {"postgresql-host": "db", "postgresql-port": "5432", "postgresql-database": "ind",
                              "postgresql-username": "u", "grafana-datasource-postgresql-json-data":
                                  '{"sslmode": "disable", "postgresVersion": 1200, "maxOpenConns": 1000000}'},
         "jx.cd-indicators-postgresql-password": {"postgresql-password": "pp"}}
# jx-requirements.yml `spec`s of several kinds of cluster, with the defaults model.lookups adds.
REQUIREMENTS = {
    "gke": {"cluster": {"provider": "gke", "registry": "", "gitServer": "https://github.com"}, "storage": {}},
    "eks": {"cluster": {"provider": "eks", "registry": "1.dkr.ecr.aws.com", "gitServer": "https://github.com/"},
            "storage": {}},
    "aks-bucketrepo": {"cluster": {"provider": "aks", "registry": "x.azurecr.io", "gitServer": "https://gitlab.com",
                                   "azure": {"dns": {"resourceGroup": "rg", "subscriptionId": "s", "tenantId": "t"},
                                             "clusterNodes": {"clientID": "c"}}},
                       "storage": [{"name": "logs", "url": "gs://l"}, {"name": "repository", "url": "gs://r"}],
                       "repository": "bucketrepo"},
    "kind-custom": {"cluster": {"provider": "kind", "registry": "", "gitServer": "https://github.com"}, "storage": {},
                    "repository": "myrepo", "repositories": {"maven": {"releaseUrl": "https://m/r"}}},
    "github": {"cluster": {"provider": "kind", "registry": "", "gitServer": "x"}, "storage": {}, "repository": "github",
               "repositories": {"maven": {"releaseUrl": "https://m/r", "snapshotUrl": "https://m/s"}}},
}


class Answers(Lookup):
    """jx's lookups answering from SECRETS and STORE; what is not there is missing, as on a cluster."""

    def secret(self, namespace, name, key):
        return self.answer(SECRETS, f"{namespace or 'jx'}.{name}", key)

    def extsecret(self, name, key):
        return self.answer(STORE, f"jx.{name}", key)

    @staticmethod
    def answer(values, name, key):
        if not values.get(name, {}).get(key):
            raise TemplateError(f"no value for {name} {key}")
        return values[name][key]


def templates():
    for path in FILES:
        for obj in parse_file((VERSIONS / path).read_text(encoding="utf-8"), path).values():
            for prop in obj.properties:
                if prop.template:
                    yield path, obj.name, prop


def test_every_schema_of_the_version_stream_is_here():
    assert FILES == [
        "charts/bitnami/external-dns/secret-schema.yaml", "charts/cdf/tekton-pipeline/secret-schema.yaml",
        "charts/jenkins-x/bucketrepo/secret-schema.yaml", "charts/jenkins-x/chartmuseum/secret-schema.yaml",
        "charts/jenkins-x/jxboot-helmfile-resources/secret-schema.yaml",
        "charts/jenkins-x/lighthouse/secret-schema.yaml", "charts/jenkins-x/nexus/secret-schema.yaml",
        "charts/jenkins-x/tekton/secret-schema.yaml", "charts/jx3/bucketrepo/secret-schema.yaml",
        "charts/jx3/cd-indicators/secret-schema.yaml", "charts/jx3/jxboot-helmfile-resources/secret-schema.yaml",
        "charts/jxgh/jxboot-helmfile-resources/secret-schema.yaml"]


@pytest.mark.parametrize("path", FILES)
def test_each_parses_with_what_jx_reads(path):
    objects = parse_file((VERSIONS / path).read_text(encoding="utf-8"), path)
    assert objects and all(o.properties for o in objects.values())
    assert all(p.question for o in objects.values() for p in o.properties)  # jx requires one


def test_what_the_fields_mean():
    """One property of each kind, read from the version stream as jx reads it."""
    read = {name: parse_file((VERSIONS / path).read_text(encoding="utf-8"), path)
            for name, path in (("tekton", "charts/jx3/jxboot-helmfile-resources/secret-schema.yaml"),
                               ("nexus", "charts/jenkins-x/nexus/secret-schema.yaml"),
                               ("lighthouse", "charts/jenkins-x/lighthouse/secret-schema.yaml"))}
    username = read["tekton"]["tekton-git"].property("username")  # has `key:`, which jx does not read
    assert (username.generator, username.mask, username.default_value) == ("gitOperator.username", False, "")
    assert read["tekton"]["tekton-git"].mandatory is True
    password = read["nexus"]["nexus"].property("password")
    assert (password.default_value, password.min_length, password.max_length, password.mask) == ("admin123", 5, 41,
                                                                                                 True)
    assert read["lighthouse"]["lighthouse-hmac-token"].property("token").generator == "hmac"
    htpasswd = read["tekton"]["jx-basic-auth-htpasswd"].property("auth")
    assert (htpasswd.only_template_if_blank, htpasswd.retry) == (True, True)


@pytest.mark.parametrize("path, name, prop", list(templates()), ids=lambda v: getattr(v, "name", v))
@pytest.mark.parametrize("cluster", REQUIREMENTS)
def test_every_template_renders_for_every_kind_of_cluster(path, name, prop, cluster, monkeypatch):
    monkeypatch.setattr(bcrypt, "DEFAULT_COST", 4)
    data = {"Requirements": REQUIREMENTS[cluster]}
    if path.startswith("charts/jenkins-x/bucketrepo/") and isinstance(REQUIREMENTS[cluster]["storage"], list):
        # The old chart reads the old requirements (storage a map), as Go does: it fails on jx 3's list.
        with pytest.raises(TemplateError) as e:
            render(prop.template, Answers(), data)
        assert str(e.value) == "hasKey: expected a map, got a list"
        return
    assert render(prop.template, Answers(), data).strip()


GOLDEN = sorted(p.name for p in RENDERED.glob("*.txt"))


@pytest.mark.parametrize("golden", GOLDEN)
def test_rendered_exactly_as_go_renders_it(golden):
    """<chart>__<object>__<property>__<cluster>.txt: what Go made of that template on that cluster."""
    chart, obj, prop, cluster = golden[:-len(".txt")].split("__")
    path = next(p for p in FILES if p.split("/")[1] + "-" + p.split("/")[2] == chart)
    template = parse_file((VERSIONS / path).read_text(encoding="utf-8"), path)[obj].property(prop).template
    expected = (RENDERED / golden).read_text(encoding="utf-8")
    assert render(template, Answers(), {"Requirements": REQUIREMENTS[cluster]}) == expected


def test_there_are_golden_outputs_for_the_templates_that_branch():
    assert len(GOLDEN) == 16


@pytest.mark.parametrize("path", FILES)
def test_each_object_as_jx_writes_it_in_the_annotation_reads_the_same(path):
    """jx copies a schema object into the ExternalSecret's secret.jenkins-x.io/schema-object annotation as
    JSON; read from there, it is the object the file gives."""
    text = (VERSIONS / path).read_text(encoding="utf-8")
    for raw in yaml.safe_load(text)["spec"]["objects"]:
        assert parse_annotation(json.dumps(raw), "es") == parse_file(text, path)[raw["name"]]


def test_an_annotation_jx_secret_wrote():
    """Verbatim from jenkins-x-plugins/jx-secret (Apache-2.0), pkg/cmd/populate/test_data/populate/vaultsecrets/
    jx-basic-auth-htpasswd.yaml."""
    annotation = ('{"name":"jx-basic-auth-htpasswd","properties":[{"name":"auth","question":"the htpasswd format '
                  'basic auth for Ingress","help":"The htpasswd encoded user and password for basic auth ingresses",'
                  '"template":"{{ htpasswdSecret \\"jx-basic-auth-user-password\\" \\"username\\" '
                  '\\"password\\" }}"}]}\n')
    assert parse_annotation(annotation, "es") == SchemaObject("jx-basic-auth-htpasswd", False, (Property(
        "auth", "the htpasswd format basic auth for Ingress", "The htpasswd encoded user and password for basic auth "
        "ingresses", template='{{ htpasswdSecret "jx-basic-auth-user-password" "username" "password" }}'),))


@pytest.mark.parametrize("version, repo", [
    ("1.1.169", "jxgh"), ("1.0.53", "jx3"), ("1.0.22", "jenkins-x"),
    ("", "jenkins-x"), ("9.9.9", "jenkins-x"),  # no version, or one no directory pins: the first in name order
])
def test_the_chart_version_picks_the_repo_directory(version, repo):
    found = Schemas(schema_dir=str(VERSIONS)).in_chart("jxboot-helmfile-resources", "tekton-container-registry-auth",
                                                       version)
    path = f"charts/{repo}/jxboot-helmfile-resources/secret-schema.yaml"
    assert found == parse_file((VERSIONS / path).read_text(encoding="utf-8"), path)["tekton-container-registry-auth"]
