"""krew-manifest.yaml against the rules of krew's own validation (internal/index/validation) and
krew-index CI (see the team notes); real `kubectl krew install --manifest` comes with packaging."""

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
