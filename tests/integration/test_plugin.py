"""Real kubectl finds the plugin on PATH, dispatches to it, and asks it for completions."""

import subprocess

import pytest

from kubectl_jxsecret import __version__

pytestmark = pytest.mark.integration


def test_kubectl_dispatches_to_the_plugin(testbed):
    result = testbed.kubectl("jxsecret", "version")
    assert result.stdout.startswith(f"kubectl-jxsecret {__version__} ")


def test_kubectl_passes_our_exit_code_through(testbed):
    result = testbed.kubectl("jxsecret", "no-such-command", check=False)
    assert result.returncode == 2
    assert result.stderr == ('error: unknown command "no-such-command" for "kubectl jxsecret"\n'
                             "see 'kubectl jxsecret -h' for help\n")


def test_kubectl_plugin_list_sees_it(testbed):
    result = testbed.kubectl("plugin", "list", "--name-only", check=False)
    assert "kubectl-jxsecret" in result.stdout.split()


def test_kubectl_completion_calls_our_completer(testbed):
    result = testbed.kubectl("__complete", "jxsecret", "")
    lines = result.stdout.splitlines()
    assert "version\tprint the plugin version" in lines
    assert lines[-1] == ":4"
    assert "About to call:" in result.stderr and "kubectl_complete-jxsecret" in result.stderr


def test_namespace_completion_asks_the_live_cluster(testbed):
    lines = testbed.kubectl("__complete", "jxsecret", "verify", "-n", "jx-").stdout.splitlines()
    assert lines == ["jx-production", "jx-staging", "jx-vault", ":4"]


def test_externalsecret_names_and_stores_come_from_the_live_cluster(testbed, namespace):
    testbed.apply(*[{"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                     "metadata": {"name": name, "namespace": namespace},
                     "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
                              "data": [{"secretKey": "k", "remoteRef": {"key": "x", "property": "k"}}]}}
                    for name in ("lighthouse-hmac", "lighthouse-oauth", "nexus")])
    for words in (["verify", "-n", namespace, "light"], ["verify", "-n", namespace, "-f", "light"],
                  ["edit", f"--namespace={namespace}", "--filter=light"]):
        lines = testbed.kubectl("__complete", "jxsecret", *words).stdout.splitlines()
        prefix = "--filter=" if words[-1].startswith("--filter=") else ""
        assert lines == [f"{prefix}lighthouse-hmac", f"{prefix}lighthouse-oauth", ":4"], words
    stores = testbed.kubectl("__complete", "jxsecret", "vault", "env", "--store", "ClusterSecretStore/v").stdout
    assert stores.splitlines() == ["ClusterSecretStore/vault", ":4"]


def test_completion_wrapper_for_krew_installs(testbed, tmp_path):
    """krew links only kubectl-jxsecret: the shell wrapper in completions/ must stand in for the entry point."""
    import shutil
    from pathlib import Path

    wrapper = Path(__file__).resolve().parents[2] / "completions" / "kubectl_complete-jxsecret"
    shutil.copy(wrapper, tmp_path)
    path = f"{tmp_path}:{testbed.env()['PATH']}"  # first on PATH wins over the pip entry point
    result = testbed.run("kubectl", "__complete", "jxsecret", "vault", "", PATH=path)
    assert f"About to call: {tmp_path}/kubectl_complete-jxsecret vault" in result.stderr
    assert result.stdout.splitlines()[0].startswith("portforward\t")


def test_live_completion_of_a_cluster_that_never_answers_gives_nothing(testbed, tmp_path):
    """A server that accepts and never answers: after the deadline (1 s) no candidates, no error text, exit 0;
    the subprocess timeout (far above the deadline) only turns a hang into a failure."""
    import socket

    import yaml

    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    config = tmp_path / "hole.kubeconfig"
    config.write_text(yaml.safe_dump({
        "clusters": [{"name": "hole", "cluster": {"server": f"http://127.0.0.1:{hole.getsockname()[1]}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "hole", "context": {"cluster": "hole", "user": "u"}}], "current-context": "hole"}))
    try:
        for words in (["verify", "-n", ""], ["verify", "-f", ""], ["vault", "env", "--store", ""],
                      ["replicate", "--to", ""]):
            result = subprocess.run(["kubectl-jxsecret", "__complete", *words], capture_output=True, text=True,
                                    env=testbed.env(KUBECONFIG=str(config)), timeout=15)
            assert (result.returncode, result.stdout, result.stderr) == (0, ":4\n", ""), words
    finally:
        hole.close()


def test_replicate_to_completes_the_permanent_environments_namespaces(testbed):
    """Environments dev (Development, namespace jx), staging and production (Permanent) live in jx."""
    lines = testbed.kubectl("__complete", "jxsecret", "replicate", "--to", "").stdout.splitlines()
    assert lines == ["jx-production", "jx-staging", ":4"]
    lines = testbed.kubectl("__complete", "jxsecret", "replicate", "--from", "jx-staging", "--to", "").stdout
    assert lines.splitlines() == [":4"]  # no Environments there
