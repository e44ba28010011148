"""The krew archive of `make dist`, installed by real krew (built from its Go module, hack/build-krew.sh)
into an isolated KREW_ROOT, then run through real kubectl against the testbed: version, verify, a Vault
tunnel, completion install and completion, then krew uninstall.
The pip-installed plugin is not on PATH here, so only the krew-installed copy can answer."""

import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from kubectl_jxsecret import __version__

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def build(script):
    """Run a cached build script; its last stdout line (if any) is what it reports."""
    result = subprocess.run(["bash", str(REPO / "hack" / script)], capture_output=True, text=True,
                            env={**os.environ, "PYTHON": sys.executable}, timeout=1800)
    if result.returncode != 0:
        pytest.fail(f"hack/{script} failed:\n{result.stderr}", pytrace=False)
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


@pytest.fixture(scope="module")
def dist():
    build("build-dist.sh")
    manifest = REPO / "dist" / "krew-manifest.yaml"
    (platform,) = yaml.safe_load(manifest.read_text())["spec"]["platforms"]
    labels = platform["selector"]["matchLabels"]
    archive = REPO / "dist" / f"kubectl-jxsecret_v{__version__}_{labels['os']}_{labels['arch']}.tar.gz"
    return manifest, archive


@pytest.fixture(scope="module")
def krew(testbed, dist, tmp_path_factory):
    """An isolated KREW_ROOT with the plugin installed from the archive; PATH: krew's bin, then kubectl and
    kubectl-krew, then the system (no pip copy of the plugin)."""
    krew_bin = Path(build("build-krew.sh"))
    root = tmp_path_factory.mktemp("krew-root")
    tools = tmp_path_factory.mktemp("tools")
    (tools / "kubectl").symlink_to(VENV_BIN / "kubectl")
    (tools / "kubectl-krew").symlink_to(krew_bin / "kubectl-krew")
    env = testbed.env(KREW_ROOT=str(root), KREW_NO_UPGRADE_CHECK="1", HOME=str(root / "home"),
                      PATH=f"{root / 'bin'}:{tools}:/usr/local/bin:/usr/bin:/bin")
    # Offline, krew list/uninstall want an index checkout to exist: an empty repository is enough.
    subprocess.run(["git", "init", "-q", str(root / "index" / "default")], check=True)
    manifest, archive = dist

    def run(*cmd, check=True, **extra):
        result = subprocess.run(cmd, capture_output=True, text=True, env={**env, **extra}, timeout=180)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stderr}")
        return result

    run.env = env  # for a process that runs on while a test talks to it (ui)
    installed = run("kubectl", "krew", "install", f"--manifest={manifest}", f"--archive={archive}")
    return root, run, installed


def test_the_archive_holds_regular_files_the_license_and_the_libraries(dist):
    manifest, archive = dist
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    assert [m.name for m in members if not (m.isfile() or m.isdir())] == []  # krew refuses links
    names = {m.name for m in members}
    assert {"LICENSE", "kubectl-jxsecret/kubectl-jxsecret"} <= names
    assert [n for n in names if n.startswith("kubectl-jxsecret/_internal/prompt_toolkit-")] != []


def test_the_rendered_manifest_names_the_archive_and_its_sha256(dist):
    manifest, archive = dist
    spec = yaml.safe_load(manifest.read_text())["spec"]
    assert spec["version"] == f"v{__version__}"
    (platform,) = spec["platforms"]
    assert platform["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert platform["uri"].endswith(f"/v{__version__}/{archive.name}")
    assert (archive.parent / f"{archive.name}.sha256").read_text() == f"{platform['sha256']}  {archive.name}\n"
    assert "0" * 64 not in manifest.read_text()


def test_krew_installs_it_and_prints_the_caveats(krew):
    root, run, installed = krew
    assert "Installed plugin: jxsecret" in installed.stderr
    assert "kubectl jxsecret completion install" in installed.stderr
    assert os.path.islink(root / "bin" / "kubectl-jxsecret")


def test_version_through_the_krew_copy(krew):
    root, run, _ = krew
    plugins = run("kubectl", "plugin", "list").stdout.split()
    assert [p for p in plugins if p.endswith("kubectl-jxsecret")] == [str(root / "bin" / "kubectl-jxsecret")]
    assert run("kubectl", "jxsecret", "version").stdout.startswith(f"kubectl-jxsecret {__version__} (python ")


def test_every_command_named_by_the_manifest_runs_in_the_krew_copy(krew, dist):
    """Each command line of the rendered manifest's description and caveats, with --help (several of them run
    until Ctrl-C or need a terminal): the bundle has the module of each (they are imported lazily)."""
    root, run, _ = krew
    manifest, _ = dist
    spec = yaml.safe_load(manifest.read_text())["spec"]
    text = spec["description"] + spec["caveats"]
    lines = [line.split("kubectl jxsecret ", 1)[1].split() for line in text.splitlines()
             if line.strip().startswith("kubectl jxsecret ")]
    assert len(lines) == 8
    for args in lines:
        result = run("kubectl", "jxsecret", *args, "--help", check=False)
        assert (result.returncode, result.stderr) == (0, ""), args
        path = " ".join(args[:next((i for i, a in enumerate(args) if a.startswith("-")), len(args))])
        assert result.stdout.startswith(f"usage: kubectl jxsecret {path} ")


def test_verify_through_the_krew_copy(krew, testbed, namespace):
    root, run, _ = krew
    testbed.vault().secrets.kv.v2.create_or_update_secret(path=f"{namespace}/app", secret={"token": "t0k"},
                                                          mount_point="secret")
    testbed.apply({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": "app", "namespace": namespace},
                   "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"}, "refreshInterval": "1h",
                            "data": [{"secretKey": "token", "remoteRef": {"key": f"{namespace}/app",
                                                                         "property": "token"}}]}})
    testbed.wait_until(lambda: testbed.ready(namespace, "app") == "True", timeout=60)
    result = run("kubectl", "jxsecret", "verify", "-n", namespace, "-o", "json")
    rows = json.loads(result.stdout)
    assert [(r["name"], r["populated"], r["missingKeys"]) for r in rows] == [("app", True, [])]


def test_vault_tunnel_through_the_krew_copy(krew):
    """The bundled interpreter's ssl and threads: a tunnel to the in-cluster OpenBao."""
    root, run, _ = krew
    env = {k: "" for k in ("VAULT_ADDR", "VAULT_TOKEN", "BAO_ADDR", "BAO_TOKEN")}
    result = run("kubectl", "jxsecret", "vault", "wait", "--timeout", "60s", **env)
    assert result.stdout == "vault http://vault.jx-vault:8200: unsealed\n"


def test_ui_through_the_krew_copy_serves_its_page_and_files(krew, namespace):
    """The page, script and style sheet are package data: the bundle must hold them."""
    import re
    import signal
    import urllib.request

    root, run, _ = krew
    ui = subprocess.Popen(["kubectl", "jxsecret", "ui", "--no-browser", "-n", namespace], env=run.env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = "".join(ui.stdout.readline() for _ in range(3))
        base, token = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", banner).groups()
        served = {}
        for path in ("/", "/app.js", "/app.css"):
            request = urllib.request.Request(base + path, headers={"Cookie": f"jxsecret-ui={token}"})
            with urllib.request.urlopen(request, timeout=10) as answer:
                served[path] = (answer.status, answer.headers.get_content_type())
    finally:
        ui.send_signal(signal.SIGTERM)
        ui.wait(15)
    assert served == {"/": (200, "text/html"), "/app.js": (200, "text/javascript"),
                      "/app.css": (200, "text/css")}
    assert ui.returncode == 0


def test_completion_install_through_the_krew_copy(krew):
    root, run, _ = krew
    target = root / "bin" / "kubectl_complete-jxsecret"
    first = run("kubectl", "jxsecret", "completion", "install").stdout
    assert first.startswith(f"installed {target}: ")
    assert run("kubectl", "jxsecret", "completion", "install").stdout == (
        f"{target} is already installed: nothing to do\n")
    result = run("kubectl", "__complete", "jxsecret", "vault", "")
    assert f"About to call: {target} vault" in result.stderr
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["portforward", "env", "wait", ":4"]
    namespaces = run("kubectl", "__complete", "jxsecret", "verify", "-n", "jx-prod").stdout
    assert namespaces.splitlines() == ["jx-production", ":4"]


def test_zz_krew_uninstall_removes_it(krew):
    root, run, _ = krew
    result = run("kubectl", "krew", "uninstall", "jxsecret")
    assert "Uninstalled plugin: jxsecret" in result.stderr
    assert not os.path.lexists(root / "bin" / "kubectl-jxsecret")
    assert not (root / "store" / "jxsecret").exists()


@pytest.mark.parametrize("which", ["template", "rendered"])
def test_krew_validator_accepts_the_manifest(dist, which, tmp_path):
    """krew's own validate-krew-manifest (what krew-index CI runs). It wants the file named after the plugin."""
    manifest, _ = dist
    source = REPO / "krew-manifest.yaml" if which == "template" else manifest
    (tmp_path / "jxsecret.yaml").write_text(source.read_text())
    validator = Path(build("build-krew.sh")) / "validate-krew-manifest"
    result = subprocess.run([str(validator), "-manifest", str(tmp_path / "jxsecret.yaml"), "-skip-install"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_krew_validator_installs_the_archive_from_its_uri(dist, tmp_path):
    """The validator's install check downloads each platform's uri: here, the archive served on 127.0.0.1."""
    import functools
    import http.server
    import threading

    manifest, archive = dist
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(archive.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rendered = subprocess.run([sys.executable, str(REPO / "hack" / "render-manifest.py"), str(archive.parent)],
                                  capture_output=True, text=True, check=True,
                                  env={**os.environ, "RELEASE_URL": f"http://127.0.0.1:{server.server_port}"}).stdout
        (tmp_path / "jxsecret.yaml").write_text(rendered)
        validator = Path(build("build-krew.sh")) / "validate-krew-manifest"
        path = f"{validator.parent}:{VENV_BIN}:/usr/local/bin:/usr/bin:/bin"  # kubectl, kubectl-krew
        result = subprocess.run([str(validator), "-manifest", str(tmp_path / "jxsecret.yaml")], capture_output=True,
                                text=True, timeout=300, env={**os.environ, "HOME": str(tmp_path), "PATH": path,
                                                             "KREW_NO_UPGRADE_CHECK": "1"})
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    assert "all 1 spec.platforms installed fine" in result.stderr
