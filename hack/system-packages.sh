#!/usr/bin/env bash
# Install the Debian packages the tests drive for real (hack/system-packages.txt: one per line, with a
# comment saying which tests need it), only those missing. Needs root or sudo; a no-op when all are there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/system-packages.txt" | grep -v '^$' || true)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
command -v apt-get >/dev/null || { echo "system-packages: install ${missing[*]} (no apt-get here)" >&2; exit 1; }
sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
echo "system-packages: installing ${missing[*]}" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
