"""--help, version and completion must not import the heavy libraries (~1 s together)."""

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("kubernetes", "hvac", "questionary", "prompt_toolkit", "tabulate")

PROBE = """
import json, sys
from kubectl_jxsecret import cli
try:
    cli.main(["kubectl-jxsecret", *ARGS])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [
    ["--help"],
    ["version"],
    ["version", "-o", "json"],
    ["version", "-h"],
    ["verify", "--help"],
    ["wait", "-h"],
    ["edit", "--help"],
    ["__complete", "edit", "-"],
    ["populate", "--help"],
    ["rotate", "-h"],
    ["new", "--help"],
    ["replicate", "--help"],
    ["copy", "-h"],
    ["__complete", "replicate", "--"],
    ["__complete", "copy", "--to", ""],
    ["convert", "--help"],
    ["__complete", "convert", "--"],
    ["__complete", "populate", "--"],
    ["__complete", "rotate", "--schema-dir", ""],
    ["vault", "portforward", "--help"],
    ["ui", "--help"],
    ["__complete", "ui", "--"],
    ["__complete", "vault", ""],
    ["__complete", ""],
    ["__complete", "version", "--"],
    ["__complete", "version", "-o", ""],
    ["completion", "--help"],
    ["completion", "bash"],
    ["__complete", "completion", ""],
    ["__complete", "replicate", "--to", ""],
])
def test_fast_path_imports_nothing_heavy(args):
    code = PROBE.replace("ARGS", repr(args)).replace("HEAVY", repr(HEAVY))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported = json.loads(result.stderr.strip().splitlines()[-1])
    assert imported == []


def test_the_shared_flags_need_only_the_standard_library():
    # Every parser (so --help and completion) is built from kubectl_jxsecret.flags.
    code = ("import json, sys\nbefore = set(sys.modules)\nimport kubectl_jxsecret.flags\n"
            "print(json.dumps(sorted(set(sys.modules) - before)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported = json.loads(result.stdout)
    ours = {"kubectl_jxsecret", "kubectl_jxsecret.flags"}
    assert [m for m in imported if m not in ours and m.split(".")[0] not in sys.stdlib_module_names] == []
    assert "kubectl_jxsecret.flags" in imported


# What the start-up paths must not import, with the cost that put each here: urllib3 (~45 ms), http.client (email,
# ~7 ms), concurrent.futures (logging, ~5 ms), tabulate (importlib.metadata, wcwidth: ~30 ms), dataclasses (inspect:
# ~8 ms), tempfile (shutil, random: ~5 ms).
SLOW = ("urllib3", "http", "email", "logging", "concurrent", "kubernetes", "tabulate", "wcwidth", "importlib.metadata",
        "dataclasses", "inspect", "tempfile", "shutil")


def test_verify_and_tunnel_paths_import_nothing_slow():
    # verify (its table too) and vault portforward talk to the API server through the light transport.
    code = ("import io, json, sys\n"
            "from kubectl_jxsecret import output, tunnel, tunnel_records\n"
            "from kubectl_jxsecret.commands import vault, verify\n"
            "from kubectl_jxsecret.kube import portforward\n"
            "from kubectl_jxsecret.kube.transport import LightTransport\n"
            "LightTransport({'server': 'https://api.example.com:6443', 'insecure-skip-tls-verify': True},"
            " {'token': 't', 'as': 'jane'}, 'ctx', {'HTTPS_PROXY': 'http://proxy:3128'})\n"
            "output.table([['a', 'b']], ['n', 'm'], io.StringIO())\n"
            f"print(json.dumps(sorted(m for m in sys.modules if {{m, m.split('.')[0]}} & set({SLOW!r}))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


# What kubectl writes (kubectl config set-cluster/set-credentials/set-context), for a server where nothing listens.
UNREACHABLE_KUBECONFIG = """\
apiVersion: v1
clusters:
- cluster:
    insecure-skip-tls-verify: true
    server: https://127.0.0.1:9
  name: nowhere
contexts:
- context:
    cluster: nowhere
    namespace: jx
    user: admin
  name: nowhere
current-context: nowhere
kind: Config
preferences: {}
users:
- name: admin
  user:
    token: not-a-real-token
"""


def test_verify_path_reads_the_kubeconfig_and_parses_its_flags_without_yaml_shutil_idna_or_gettext(tmp_path):
    # A small verify's own time is mostly start-up: PyYAML for the kubeconfig (~10 ms), shutil for argparse's
    # terminal width (~2 ms), argparse's gettext look-ups (~1.5 ms) and the idna codec getaddrinfo ran the
    # server's name through (~1.3 ms) were a fifth of it.
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG)
    code = ("import gettext, json, sys\n"
            "calls = []\n"
            "dgettext = gettext.dgettext\n"
            "gettext.dgettext = lambda *args: calls.append(args) or dgettext(*args)\n"
            "from kubectl_jxsecret import cli\n"
            f"code = cli.main(['kubectl-jxsecret', 'verify', '--kubeconfig', {str(kubeconfig)!r}])\n"
            "print(json.dumps([code, sorted(m for m in ('yaml', 'shutil', 'encodings.idna') if m in sys.modules),"
            " len(calls)]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env=dict(os.environ, LANG="en_US.UTF-8"))
    assert result.stderr.startswith("error: cannot reach the API server https://127.0.0.1:9")
    assert json.loads(result.stdout) == [1, [], 0]
