"""verify without a cluster: its options and its exit status."""

import pytest

from kubectl_jxsecret import cli
from kubectl_jxsecret.commands.verify import Options, exit_status
from kubectl_jxsecret.flags import KubeFlags
from kubectl_jxsecret.model.status import State, Verdict
from kubectl_jxsecret.scan import Report, Selection


@pytest.mark.parametrize("argv, expected", [
    (["verify"], Options(KubeFlags(), Selection(), "table")),
    (["get", "-o", "wide"], Options(KubeFlags(), Selection(), "wide")),
    (["verify", "--kubeconfig", "/k", "--context", "prod", "-n", "jx", "--request-timeout", "5s", "-l", "a=b"],
     Options(KubeFlags("/k", "prod", "jx", "5s"), Selection("jx", "a=b"), "table")),
    # -A looks everywhere; -n still reaches the kubeconfig's namespace, as kubectl does.
    (["verify", "-A", "-n", "jx"], Options(KubeFlags(namespace="jx"), Selection(), "table")),
])
def test_options_from_the_flags(argv, expected):
    assert vars(Options.from_args(cli.build_parser().parse_args(argv))) == vars(expected)


def verdict(state):
    return Verdict(namespace="jx", name="a", api_version="external-secrets.io/v1", store="", secret="a",
                   state=state, missing_keys=())


@pytest.mark.parametrize("states, denied, code", [
    ([], False, 0),
    ([State.POPULATED, State.POPULATED], False, 0),
    ([State.POPULATED, State.KEYS_MISSING], False, 3),
    ([State.UNKNOWN], False, 3),
    ([State.POPULATED], True, 1),  # something could not be checked: not a clean bill of health
    ([State.SYNC_ERROR], True, 1),
])
def test_exit_status(states, denied, code):
    report = Report(verdicts=[verdict(s) for s in states])
    if denied:
        report.deny("Secrets", "other")
    assert exit_status(report) == code
