"""Which value populate gives each property, and from where (model.populate): precedence, passes, checks."""

import pytest

from kubectl_jxsecret.model.generators import Unavailable
from kubectl_jxsecret.model.plan import Destination, Ref, StoreRef
from kubectl_jxsecret.model.populate import (DEFAULT, GENERATOR, KEPT, PERSON, TEMPLATE, Target, decide, source_of,
                                              wanted)
from kubectl_jxsecret.model.schema import Property
from kubectl_jxsecret.model.templates import MissingInput, TemplateError

VAULT = StoreRef("ClusterSecretStore", "vault")
PATH = Destination(VAULT, "app")


def target(key, prop=None, name="app", path=PATH):
    return Target(Ref("jx", name, path, key, key), prop)


T, G, D = Property("p", template="t"), Property("p", generator="password"), Property("p", default_value="d")
ALL = Property("p", template="t", generator="hmac", default_value="d")
BLANK_ONLY = Property("p", template="t", only_template_if_blank=True)


@pytest.mark.parametrize("prop, is_set, overwrite, source", [
    (None, False, False, PERSON), (None, True, False, KEPT), (None, True, True, KEPT),
    (Property("p"), False, False, PERSON), (Property("p", question="q"), True, True, KEPT),
    (T, False, False, TEMPLATE), (T, True, False, TEMPLATE),  # a template wins over the value set
    (BLANK_ONLY, True, False, KEPT), (BLANK_ONLY, False, False, TEMPLATE), (BLANK_ONLY, True, True, TEMPLATE),
    (ALL, True, False, TEMPLATE),
    (G, False, False, GENERATOR), (G, True, False, KEPT), (G, True, True, GENERATOR),
    (Property("p", generator="hmac", default_value="d"), False, False, GENERATOR),
    (D, False, False, DEFAULT), (D, True, False, KEPT), (D, True, True, DEFAULT),
])
def test_precedence_template_then_set_value_then_generator_then_default(prop, is_set, overwrite, source):
    assert source_of(prop, is_set, overwrite) == source


def run(targets, current=None, overwrite=False, generate=None, render=None):
    planned = {}
    generate = generate or (lambda prop: f"gen-{prop.generator}")
    render = render or (lambda t: "rendered")
    return decide(targets, current or {}, overwrite, generate, render, planned), planned


def test_templates_run_after_generators_and_read_what_they_made():
    seen = []

    def render(t):
        seen.append(dict(planned_ref))
        return "user:" + planned_ref[(PATH, "password")]

    targets = [target("auth", Property("auth", template="x")),
               target("password", Property("password", generator="hmac"))]
    planned_ref = {}
    decisions = decide(targets, {}, False, lambda p: "h" * 41, render, planned_ref)
    assert [(d.target.ref.secret_key, d.source, d.value) for d in decisions] == [
        ("auth", TEMPLATE, "user:" + "h" * 41), ("password", GENERATOR, "h" * 41)]
    assert seen == [{(PATH, "password"): "h" * 41}]
    assert wanted(decisions) == {PATH: {"auth": "user:" + "h" * 41, "password": "h" * 41}}


def test_a_value_read_twice_is_decided_once_by_the_reader_with_a_generator():
    plain = target("token", None, name="a-plain")
    generated = target("token", Property("token", generator="hmac"), name="b-generated")
    decisions, _ = run([plain, generated])
    assert [(d.target.name, d.source) for d in decisions] == [("jx/b-generated.token", GENERATOR)]


def test_set_values_are_kept_and_not_written():
    decisions, _ = run([target("password", G), target("user", D)], {PATH: {"password": "old", "user": "me"}})
    assert [d.source for d in decisions] == [KEPT, KEPT]
    assert wanted(decisions) == {}


@pytest.mark.parametrize("prop, value, problem", [
    (Property("p", default_value="abc", min_length=5), None,
     "the default value is 3 characters, fewer than minLength 5"),
    (Property("p", template="t", max_length=3), "rendered",
     "the template value is 8 characters, more than maxLength 3"),
    (Property("p", template="t", pattern="^[0-9]+$"), "rendered", "the template value does not match pattern ^[0-9]+$"),
])
def test_every_value_written_is_checked_against_the_schema(prop, value, problem):
    [d] = run([target("p", prop)])[0]
    assert (d.problem, d.writes) == (problem, False)
    assert wanted([d]) == {}


def test_failures_become_problems_or_people():
    def render(t):
        raise TemplateError("Secret jx/x has no value for y")

    def generate(prop):
        raise Unavailable("Secret jx/jx-boot has no username")

    decisions, _ = run([target("missing", Property("missing", template="t")),
                        target("git", Property("git", generator="gitOperator.username")),
                        target("free", Property("free"))],
                       generate=generate, render=render)
    assert [(d.target.ref.secret_key, d.source, d.problem, d.reason) for d in decisions] == [
        ("missing", TEMPLATE, "template: Secret jx/x has no value for y", ""),
        ("git", PERSON, "", "Secret jx/jx-boot has no username"),
        ("free", PERSON, "", "no template, generator or defaultValue in its schema")]


def test_a_template_whose_input_is_not_there_waits_for_a_person():
    def render(t):
        raise MissingInput("no ExternalSecret jx/sonatype")

    [d], _ = run([target("settings.xml", Property("settings.xml", template="t"))], render=render)
    assert (d.source, d.problem, d.reason, d.writes) == (
        PERSON, "", "its template needs an input that is not there: no ExternalSecret jx/sonatype", False)


def test_describe_never_shows_a_value():
    [d] = run([target("p", Property("p", generator="password"))], generate=lambda p: "canary-value")[0]
    assert d.describe() == "jx/app.p: generator password"
    assert "canary-value" not in repr(d)
