#!/usr/bin/env python3
"""Render krew-manifest.yaml for the archives in a directory (make dist): spec.version from the package,
and per platform the uri and sha256 of DIR/kubectl-jxsecret_<version>_<os>_<arch>.tar.gz from its .sha256
file. A platform without an archive there is left out: never a placeholder. A release gathers every
platform's archive and .sha256 (each built by `make dist` on that platform) into one directory, then runs
this once. The uri points at the release (RELEASE_URL, default the GitHub release of the version)."""

import os
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def main(directory):
    version = "v" + re.search(r'__version__ = "(.+)"', (REPO / "kubectl_jxsecret" / "__init__.py").read_text())[1]
    manifest = yaml.safe_load((REPO / "krew-manifest.yaml").read_text())
    release = os.environ.get("RELEASE_URL",
                             f"https://github.com/jenkins-x-plugins/kubectl-jxsecret/releases/download/{version}")
    manifest["spec"]["version"] = version
    platforms = []
    for platform in manifest["spec"]["platforms"]:
        labels = platform["selector"]["matchLabels"]
        archive = f"kubectl-jxsecret_{version}_{labels['os']}_{labels['arch']}.tar.gz"
        sums = Path(directory) / f"{archive}.sha256"
        if not sums.is_file():
            continue
        sha256 = sums.read_text().split()[0].lower()
        if not re.fullmatch(r"[0-9a-f]{64}", sha256) or set(sha256) == {"0"}:
            sys.exit(f"error: {sums}: not a sha256")
        platforms.append({**platform, "uri": f"{release}/{archive}", "sha256": sha256})
    if not platforms:
        sys.exit(f"error: no kubectl-jxsecret_{version}_<os>_<arch>.tar.gz.sha256 in {directory}: run make dist")
    manifest["spec"]["platforms"] = platforms

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data):
            return True

    NoAliases.add_representer(str, lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))

    sys.stdout.write(yaml.dump(manifest, Dumper=NoAliases, sort_keys=False, width=120))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "dist")
