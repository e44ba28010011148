"""verify's rendering from verdicts: the table people read, colour only when asked for."""

import io

import pytest

from kubectl_jxsecret.cli import Environment
from kubectl_jxsecret.model.status import Location, State, Verdict
from kubectl_jxsecret.output import render_report, table
from kubectl_jxsecret.scan import Report, Selection


def verdict(name, state, missing=(), reason=""):
    at = tuple(Location(k, "ClusterSecretStore/vault", name, k) for k in missing)
    return Verdict(namespace="jx", name=name, api_version="external-secrets.io/v1", store="ClusterSecretStore/vault",
                   secret=name, state=state, missing_keys=missing, reason=reason, message="m", detail="d",
                   missing_at=at)


REPORT = Report(verdicts=[verdict("jx-boot", State.POPULATED, reason="SecretSynced"),
                          verdict("nexus", State.SYNC_ERROR, ("password",), "SecretSyncedError")])
HINT = ("The missing values belong in their stores (fill them with kubectl jxsecret edit or import):\n"
        "  jx/nexus: ClusterSecretStore/vault nexus: password\n")


class Tty(io.StringIO):
    def isatty(self):
        return True


def rendered(fmt, namespace=None, tty=False, environ=None):
    out, err = (Tty() if tty else io.StringIO()), io.StringIO()
    render_report(REPORT, fmt, Selection(namespace), Environment(stdout=out, stderr=err, environ=environ or {}))
    return out.getvalue(), err.getvalue()


def test_table_all_namespaces():
    out, err = rendered("table")
    assert out == ("NAMESPACE  NAME     STATUS     MISSING KEYS  REASON\n"
                   "jx         jx-boot  Populated                SecretSynced\n"
                   "jx         nexus    SyncError  password      SecretSyncedError\n")
    assert err == "1 of 2 ExternalSecrets not populated.\n" + HINT


def test_table_one_namespace_drops_the_column_and_wide_adds_detail():
    out, _ = rendered("wide", namespace="jx")
    header, _, nexus = out.splitlines()
    assert header.split() == ["NAME", "STATUS", "MISSING", "KEYS", "REASON", "SECRET", "STORE", "LAST", "SYNC",
                              "API", "VERSION", "MISSING", "AT", "MESSAGE"]
    assert nexus.endswith("external-secrets.io/v1  ClusterSecretStore/vault nexus: password  m: d")


def test_stale_is_populated_and_said_once():
    report = Report(verdicts=[verdict("a", State.STALE, reason="SecretSyncedError"), verdict("b", State.POPULATED)])
    out, err = io.StringIO(), io.StringIO()
    render_report(report, "table", Selection("jx"), Environment(stdout=out, stderr=err, environ={}))
    assert err.getvalue() == "1 ExternalSecret populated but stale: ESO cannot sync it (see -o wide).\n"


def test_colour_on_a_terminal_only_and_never_with_no_color():
    out, _ = rendered("table", tty=True)
    assert "\x1b[32mPopulated\x1b[0m" in out and "\x1b[31mSyncError\x1b[0m" in out
    assert "\x1b[" not in rendered("table", tty=True, environ={"NO_COLOR": "1"})[0]
    assert "\x1b[" not in rendered("table")[0]


def test_columns_stay_aligned_with_colour():
    plain = rendered("table")[0].splitlines()
    coloured = rendered("table", tty=True)[0].replace("\x1b[32m", "").replace("\x1b[31m", "").replace("\x1b[0m", "")
    assert coloured.splitlines() == plain


def test_name_output():
    assert rendered("name")[0] == "externalsecret.external-secrets.io/jx-boot\nexternalsecret.external-secrets.io/nexus\n"


def test_the_hint_names_ten_and_counts_the_rest():
    report = Report(verdicts=[verdict(f"s{i:02}", State.SYNC_ERROR, ("k",)) for i in range(12)])
    err = io.StringIO()
    render_report(report, "table", Selection("jx"), Environment(stdout=io.StringIO(), stderr=err, environ={}))
    lines = err.getvalue().splitlines()
    assert lines[0] == "12 of 12 ExternalSecrets not populated."
    assert lines[2:] == [f"  jx/s{i:02}: ClusterSecretStore/vault s{i:02}: k" for i in range(10)] + [
        "  … and 2 more (-o wide shows them all)"]


@pytest.mark.parametrize("rows, expected", [
    ([["a", "bb", "c"], ["aaaa", "b", "cccc"]], "N     S   L\na     bb  c\naaaa  b   cccc\n"),
    ([["a", "", ""], ["b", "x", ""]], "N  S  L\na\nb  x\n"),  # nothing trails a line
    ([["\x1b[32mok\x1b[0m", "x", "y"]], "N   S  L\n\x1b[32mok\x1b[0m  x  y\n"),  # colour takes no column
    ([["日本", "x", "y"], ["ab", "x", "y"]], "N     S  L\n日本  x  y\nab    x  y\n"),  # wide: two columns each
    ([["e\u0301", "x", "y"]], "N  S  L\ne\u0301  x  y\n"),  # a combining accent: none
    ([], ""),
])
def test_table_layout(rows, expected):
    out = io.StringIO()
    table(rows, ["n", "s", "l"], out)
    assert out.getvalue() == expected


def test_a_multi_line_message_stays_on_its_row():
    vault_error = "Error making API request.\n\nURL: GET http://vault:8200/v1/secret/data/x\nCode: 403.\x1b[2J"
    report = Report(verdicts=[verdict("nexus", State.SYNC_ERROR, ("password",), "SecretSyncedError")._replace(
        detail=vault_error)])
    out, err = io.StringIO(), io.StringIO()
    render_report(report, "wide", Selection("jx"), Environment(stdout=out, stderr=err, environ={}))
    header, row = out.getvalue().splitlines()
    assert row.endswith("m: Error making API request. URL: GET http://vault:8200/v1/secret/data/x Code: 403.\\x1b[2J")
