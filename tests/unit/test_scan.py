"""The pure parts of the scan: which ExternalSecrets are selected, what a Secret is reduced to, which
Warning event explains a sync error, and how RBAC gaps are reported."""

import pytest

from kubectl_jxsecret.cli import build_parser
from kubectl_jxsecret.model.externalsecret import ExternalSecret
from kubectl_jxsecret.scan import Report, Selection, keep_latest, summarise


def es(name, mandatory=False):
    meta = {"name": name, "namespace": "jx"}
    if mandatory:
        meta["annotations"] = {"secret.jenkins-x.io/schema-object": '{"mandatory": true}'}
    return ExternalSecret({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": meta})


@pytest.mark.parametrize("argv, expected", [
    ([], Selection()),
    (["-n", "jx"], Selection(namespace="jx")),
    (["-n", "jx", "-A"], Selection()),  # -A wins, as in kubectl
    (["-l", "team=web", "-f", "lighthouse"], Selection(selector="team=web", name_filter=("lighthouse",))),
    (["-f", "lighthouse", "--filter", "nexus"], Selection(name_filter=("lighthouse", "nexus"))),
])
def test_selection_from_the_flags(argv, expected):
    assert Selection.from_args(build_parser().parse_args(["verify", *argv])) == expected


@pytest.mark.parametrize("selection, name, mandatory, wanted", [
    (Selection(), "anything", False, True),
    (Selection(name_filter=("hook",)), "lighthouse-hmac-token", False, False),
    (Selection(name_filter=("hmac",)), "lighthouse-hmac-token", False, True),
    (Selection(mandatory_only=True), "jx-boot", False, False),
    (Selection(mandatory_only=True), "jx-boot", True, True),
    (Selection(name_filter=("boot",), mandatory_only=True), "jx-boot", True, True),
    (Selection(name_filter=("nexus", "hmac")), "lighthouse-hmac-token", False, True),  # any of them
    (Selection(name_filter=("nexus", "hook")), "lighthouse-hmac-token", False, False),
    (Selection(name_filter=("",)), "anything", False, True),  # -f '' matches everything, as before
])
def test_selection_wants(selection, name, mandatory, wanted):
    assert selection.wants(es(name, mandatory)) is wanted


def many(n):
    return [f"ns-{i}" for i in range(n)]


@pytest.mark.parametrize("denied, warnings", [
    ({}, []),
    ({"Secrets": ["jx"]}, ["cannot list Secrets in namespace jx: forbidden"]),
    ({"Secrets": ["a", "b"]}, ["cannot list Secrets in 2 namespaces (a, b): forbidden"]),
    ({"Secrets": many(12)},
     [f"cannot list Secrets in 12 namespaces ({', '.join(many(10))}, …): forbidden"]),
    ({"externalsecrets.external-secrets.io": ["a"], "Secrets": ["b"]},
     ["cannot list externalsecrets.external-secrets.io in namespace a: forbidden",
      "cannot list Secrets in namespace b: forbidden"]),
])
def test_rbac_gaps_are_one_line_per_resource(denied, warnings):
    report = Report()
    for resource, namespaces in denied.items():
        for ns in namespaces:
            report.deny(resource, ns)
    assert report.warnings == warnings


def secret(ns, name, **data):
    return {"metadata": {"namespace": ns, "name": name}, "data": data}


@pytest.mark.parametrize("secrets, wanted, summaries", [
    ([secret("jx", "a", user="dQ==", password="")], None, {("jx", "a"): {"user": True, "password": False}}),
    ([secret("jx", "a", k="dg=="), secret("other", "b", k="dg==")], {"jx"}, {("jx", "a"): {"k": True}}),
    ([{"metadata": {"namespace": "jx", "name": "no-data"}}], None, {("jx", "no-data"): {}}),
    ([], {"jx"}, {}),
])
def test_secrets_are_reduced_to_key_emptiness(secrets, wanted, summaries):
    assert summarise(iter(secrets), wanted) == summaries


def event(uid, message, last=None, event_time=None):
    ev = {"involvedObject": {"uid": uid}, "message": message}
    if last:
        ev["lastTimestamp"] = last
    if event_time:
        ev["eventTime"] = event_time
    return ev


@pytest.mark.parametrize("events, latest", [
    ([event("u1", "old", "2026-01-01T00:00:00Z"), event("u1", " new \n", "2026-01-02T00:00:00Z")],
     {"u1": ("2026-01-02T00:00:00Z", "new")}),
    ([event("u1", "new", "2026-01-02T00:00:00Z"), event("u1", "old", "2026-01-01T00:00:00Z")],
     {"u1": ("2026-01-02T00:00:00Z", "new")}),
    ([event("u1", "series", event_time="2026-01-03T00:00:00.000000Z")],  # events.k8s.io style: eventTime only
     {"u1": ("2026-01-03T00:00:00.000000Z", "series")}),
    ([event("someone-else", "not ours", "2026-01-01T00:00:00Z")], {}),
    ([{"message": "no object"}], {}),
])
def test_the_latest_warning_event_explains_a_sync_error(events, latest):
    found = {}
    keep_latest(found, iter(events), {"u1"})
    assert found == latest


def test_events_already_kept_survive_a_page_that_fails():
    def pages():
        yield event("u1", "first page", "2026-01-01T00:00:00Z")
        raise RuntimeError("second page failed")

    found = {}
    with pytest.raises(RuntimeError):
        keep_latest(found, pages(), {"u1"})
    assert found == {"u1": ("2026-01-01T00:00:00Z", "first page")}
