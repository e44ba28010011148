"""wait without a cluster: its options, what counts as a change, how it ends and what it prints."""

import io

import pytest

from kubectl_jxsecret import cli, output
from kubectl_jxsecret.commands.wait import Options, Outcome, changes, in_between, merge
from kubectl_jxsecret.errors import UsageError
from kubectl_jxsecret.model.status import State, Verdict
from kubectl_jxsecret.scan import Selection


def options(*argv):
    return Options.from_args(cli.build_parser().parse_args(["wait", *argv]))


@pytest.mark.parametrize("argv, timeout, poll, selection", [
    ([], 1800, 2, Selection()),
    (["--timeout", "10m", "--poll", "500ms"], 600, 0.5, Selection()),
    (["--poll", "0"], 1800, 0.1, Selection()),  # a floor: where a watch is forbidden, each poll is a LIST
    (["-n", "jx", "--mandatory", "-f", "hmac"], 1800, 2, Selection("jx", None, ("hmac",), mandatory_only=True)),
])
def test_options_from_the_flags(argv, timeout, poll, selection):
    o = options(*argv)
    o.validate()
    assert (o.timeout_seconds, o.poll_seconds, o.selection) == (timeout, poll, selection)


@pytest.mark.parametrize("argv, message", [
    (["--timeout", "soon"], 'invalid value "soon" for --timeout'),
    (["--poll", "fast"], 'invalid value "fast" for --poll'),
    (["--timeout=-5s"], 'invalid value "-5s" for --timeout'),
])
def test_validate_refuses_bad_durations(argv, message):
    with pytest.raises(UsageError, match=message):
        options(*argv).validate()


def test_a_bad_duration_is_refused_before_the_kubeconfig_is_read():
    err = io.StringIO()
    env = cli.Environment(stdout=io.StringIO(), stderr=err, environ={})
    code = cli.main(["kubectl-jxsecret", "wait", "--kubeconfig", "/nonexistent", "--timeout", "soon"], env)
    assert code == 2
    assert err.getvalue().startswith('error: invalid value "soon" for --timeout')


def verdict(name, state=State.POPULATED, missing=(), reason="", message=""):
    return Verdict(namespace="jx", name=name, api_version="external-secrets.io/v1", store="ClusterSecretStore/vault",
                   secret=name, state=state, missing_keys=missing, reason=reason, message=message)


def keyed(*verdicts):
    return {(v.namespace, v.name, v.api_version): v for v in verdicts}


NEXUS_ERROR = verdict("nexus", State.SYNC_ERROR, ("password",), "SecretSyncedError", "could not get secret data")


@pytest.mark.parametrize("previous, current, changed", [
    ([NEXUS_ERROR], [NEXUS_ERROR], []),
    # The operator's message changing alone is not news: the state and missing keys are.
    ([NEXUS_ERROR], [verdict("nexus", State.SYNC_ERROR, ("password",), "SecretSyncedError", "other words")], []),
    ([NEXUS_ERROR], [verdict("nexus")], ["nexus"]),
    ([NEXUS_ERROR], [verdict("nexus", State.KEYS_MISSING, ("password",))], ["nexus"]),
    ([verdict("a", State.KEYS_MISSING, ("x", "y"))], [verdict("a", State.KEYS_MISSING, ("y",))], ["a"]),
    ([verdict("a")], [verdict("a"), verdict("b")], ["b"]),  # a new ExternalSecret
    ([verdict("a"), verdict("b")], [verdict("a")], []),  # one deleted: nothing to announce
])
def test_changes(previous, current, changed):
    assert [v.name for v in changes(keyed(*previous), keyed(*current))] == changed


def key(v):
    return v.namespace, v.name, v.api_version


DETAILED = NEXUS_ERROR._replace(detail="key apps/nexus: Secret does not exist")


@pytest.mark.parametrize("current, fresh, everything, merged, announced", [
    # The first answer: everything, nothing announced as a change (log.waiting lists it).
    ([], [verdict("a"), NEXUS_ERROR], True, ["a", "nexus"], ["a", "nexus"]),
    # One re-judged: the others stay as they were.
    ([verdict("a"), NEXUS_ERROR], [verdict("nexus")], False, ["a", "nexus"], ["nexus"]),
    ([verdict("a"), NEXUS_ERROR], [NEXUS_ERROR], False, ["a", "nexus"], []),
    # Gone, or no longer selected (None): dropped, not announced.
    ([verdict("a"), NEXUS_ERROR], [("jx", "a", "external-secrets.io/v1")], False, ["nexus"], []),
    # Listed again: what the LIST lacks is gone.
    ([verdict("a"), NEXUS_ERROR], [NEXUS_ERROR, verdict("b")], True, ["b", "nexus"], ["b"]),
])
def test_merge(current, fresh, everything, merged, announced):
    fresh = {(key(f) if isinstance(f, Verdict) else f): (f if isinstance(f, Verdict) else None) for f in fresh}
    result, news = merge({key(v): v for v in current}, fresh, everything)
    assert ([k[1] for k in result], [v.name for v in news]) == (merged, announced)


def test_merge_keeps_the_warning_event_of_a_verdict_whose_state_did_not_change():
    result, news = merge({key(DETAILED): DETAILED}, {key(NEXUS_ERROR): NEXUS_ERROR}, everything=False)
    assert (result[key(DETAILED)].detail, news) == ("key apps/nexus: Secret does not exist", [])


STALE = verdict("nexus", State.STALE, (), "SecretSyncedError", "could not get secret data")
SECRET_MISSING = verdict("nexus", State.SECRET_MISSING, ("password",), "SecretSynced", "secret synced")


@pytest.mark.parametrize("current, fresh, expected", [
    ([NEXUS_ERROR], [STALE], True),  # ESO wrote the Secret; its status follows
    ([NEXUS_ERROR], [SECRET_MISSING], True),  # polled: its status seen before its Secret
    ([verdict("nexus")], [STALE], False),  # populated before: ESO cannot sync now, it really is stale
    ([SECRET_MISSING], [SECRET_MISSING], False),  # judged again, unchanged: nothing to wait for
    ([], [STALE], False),  # never seen: the first answer believes it
    ([NEXUS_ERROR], [verdict("nexus")], False),
])
def test_in_between(current, fresh, expected):
    assert in_between({key(v): v for v in current}, {key(v): v for v in fresh}) is expected


@pytest.mark.parametrize("outcome, code", [
    (Outcome((verdict("a"),), populated=True, timeout=60), 0),
    (Outcome((NEXUS_ERROR,), populated=False, timeout=60), 3),
    (Outcome((NEXUS_ERROR,), populated=False, timeout=60, warned=True), 3),
    # Everything it could read is populated, but RBAC or the API hid the rest: an error.
    (Outcome((verdict("a"),), populated=False, timeout=60, warned=True), 1),
    (Outcome((), populated=False, timeout=60, warned=True), 1),
])
def test_exit_status(outcome, code):
    assert outcome.exit_status == code


def streams():
    out, err = io.StringIO(), io.StringIO()
    return cli.Environment(stdout=out, stderr=err, environ={}), out, err


def test_the_log_shows_what_it_waits_for_then_each_change():
    env, out, err = streams()
    log = output.WaitLog(env, clock=iter(["10:00:00", "10:00:07"]).__next__)
    log.waiting([verdict("a"), NEXUS_ERROR])
    log.warning("cannot list Secrets in namespace x: forbidden")
    log.changed([verdict("nexus")])
    assert out.getvalue() == ("10:00:00 waiting for 1 of 2 ExternalSecrets:\n"
                              "  jx/nexus: SyncError (missing password): SecretSyncedError: could not get secret data\n"
                              "10:00:07 jx/nexus: Populated\n")
    assert err.getvalue() == "warning: cannot list Secrets in namespace x: forbidden\n"


def test_nothing_to_wait_for_prints_no_waiting_list():
    env, out, _ = streams()
    output.WaitLog(env).waiting([verdict("a")])
    assert out.getvalue() == ""


@pytest.mark.parametrize("outcome, stdout, stderr", [
    (Outcome((verdict("a"), verdict("b")), populated=True, timeout=60), "all 2 ExternalSecrets populated\n", ""),
    (Outcome((verdict("a"), NEXUS_ERROR), populated=False, timeout=150), "",
     "error: timed out after 2m30s; 1 ExternalSecrets not populated:\n"
     "  jx/nexus: SyncError (missing password): SecretSyncedError: could not get secret data\n"),
])
def test_the_outcome(outcome, stdout, stderr):
    env, out, err = streams()
    output.render_wait_outcome(outcome, env)
    assert (out.getvalue(), err.getvalue()) == (stdout, stderr)
