"""krew-manifest.yaml (the template `make dist` renders) against the rules of krew's own validation
(internal/index/validation) and krew-index CI (see the team notes); real `kubectl krew install` of the
rendered manifest is tests/integration/test_krew.py."""

import re
from pathlib import Path

import yaml

MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[2] / "krew-manifest.yaml").read_text())
SUPPORTED = {("linux", a) for a in ("386", "amd64", "arm", "arm64", "ppc64le")} | \
    {("darwin", a) for a in ("386", "amd64", "arm64")} | {("windows", a) for a in ("386", "amd64", "arm64")}


def test_header_and_name():
    assert MANIFEST["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2"
    assert MANIFEST["kind"] == "Plugin"
    assert re.fullmatch(r"[\w-]+", MANIFEST["metadata"]["name"])


def test_spec_fields():
    spec = MANIFEST["spec"]
    assert re.fullmatch(r"v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", spec["version"])  # semver with a leading v
    assert "\n" not in spec["shortDescription"] and len(spec["shortDescription"]) <= 50  # krew search cuts at 50
    assert spec["description"].strip()
    assert "completion install" in spec["caveats"]
    assert "vault portforward" in spec["caveats"]
    assert "kubectl jxsecret verify" in spec["description"]  # examples (test_promises checks each one parses)


def test_version_is_the_package_version():
    from kubectl_jxsecret import __version__

    assert MANIFEST["spec"]["version"] == f"v{__version__}"


def test_linux_and_darwin_on_amd64_and_arm64_each_with_the_license():
    platforms = MANIFEST["spec"]["platforms"]
    assert sorted((p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"]) for p in platforms) == [
        ("darwin", "amd64"), ("darwin", "arm64"), ("linux", "amd64"), ("linux", "arm64")]
    for p in platforms:
        assert {"from": "LICENSE", "to": "."} in p["files"]
        assert p["bin"] == "kubectl-jxsecret"


def test_platforms():
    seen = set()
    for p in MANIFEST["spec"]["platforms"]:
        labels = p["selector"]["matchLabels"]
        assert set(labels) == {"os", "arch"}
        pair = (labels["os"], labels["arch"])
        assert pair in SUPPORTED and pair not in seen  # no pair matched by two platforms
        seen.add(pair)
        assert p["uri"].endswith((".tar.gz", ".zip"))
        assert re.fullmatch(r"[a-f0-9]{64}", p["sha256"])  # lower case only
        assert not p["bin"].startswith("/") and ".." not in p["bin"]
        assert "files" not in p or p["files"]
