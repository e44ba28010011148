#!/usr/bin/env bash
# make dist: a self-contained krew archive for this platform, its sha256, and the krew manifest rendered for it:
#   dist/kubectl-jxsecret_<version>_<os>_<arch>.tar.gz (+ .sha256), dist/krew-manifest.yaml
# A PyInstaller one-dir build (no Python needed on the user's machine) from a separate venv with a normal
# (non-editable) install; regular files and directories only (krew refuses symlinks and hard links);
# a reproducible tar. Cached by content: the same sources, Python and platform give the cached archive.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' kubectl_jxsecret/__init__.py)
os=$(uname -s | tr '[:upper:]' '[:lower:]')
case $(uname -m) in x86_64|amd64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
name=kubectl-jxsecret_v${version}_${os}_${arch}
log() { echo "dist: $*" >&2; }

# The key: every file that goes into the build, the build recipe, the Python and the platform.
key=$( { find kubectl_jxsecret -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum
         sha256sum setup.cfg pyproject.toml LICENSE hack/build-dist.sh hack/dist-entry.py hack/dist-requirements.txt
         "$PYTHON" -c 'import sys, platform; print(sys.version, platform.machine())'; } | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-jxsecret/dist
mkdir -p "$cache" dist
exec 9>"$cache/.lock"
flock 9

if [[ ! -f $cache/$key/$name.tar.gz ]]; then
  venv=$cache/venv-$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-$(sha256sum hack/dist-requirements.txt | cut -c1-8)
  if [[ ! -x $venv/bin/pyinstaller ]]; then
    log "build venv $venv"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip >&2
    "$venv/bin/pip" install -q -r hack/dist-requirements.txt >&2
  fi
  log "installing kubectl-jxsecret $version into the build venv"
  work=$(mktemp -d "$cache/work.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # From a copy: a normal install from the tree would leave build/ behind in it.
  mkdir "$work/src"
  cp -r setup.cfg pyproject.toml README.md LICENSE kubectl_jxsecret "$work/src/"
  "$venv/bin/pip" install -q "$work/src" >&2
  "$venv/bin/pip" install -q --no-deps --force-reinstall "$work/src" >&2
  log "PyInstaller one-dir build (about a minute)"
  export PYTHONHASHSEED=0 SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
  strip=(); [[ $os == linux ]] && strip=(--strip)
  # Commands are imported lazily (importlib), so PyInstaller sees none of them: collect them all, and the
  # package's data files (the ui's page).
  (cd "$work" && "$venv/bin/pyinstaller" --log-level WARN --noconfirm --onedir --name kubectl-jxsecret \
      "${strip[@]}" --collect-submodules kubectl_jxsecret --collect-data kubectl_jxsecret --distpath "$work/pyi" --workpath "$work/build" \
      --specpath "$work" "$OLDPWD/hack/dist-entry.py" >&2)
  # krew takes regular files and directories only: -L turns any symlink into a copy (no hard links either).
  mkdir "$work/stage"
  cp -rL "$work/pyi/kubectl-jxsecret" "$work/stage/"
  cp LICENSE "$work/stage/"
  bad=$(find "$work/stage" ! -type f ! -type d)
  [[ -z $bad ]] || { log "not a regular file or directory: $bad"; exit 1; }
  mkdir -p "$cache/$key"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" -C "$work/stage" \
      -cf - LICENSE kubectl-jxsecret | gzip -n -9 > "$cache/$key/$name.tar.gz.tmp"
  mv "$cache/$key/$name.tar.gz.tmp" "$cache/$key/$name.tar.gz"
  # Keep the three newest builds: every change of the sources makes a new one (about 25 MB each).
  ls -1dt "$cache"/[0-9a-f]*/ | tail -n +4 | xargs -r rm -rf
else
  log "$name.tar.gz is cached for these sources ($cache/$key)"
fi

cp "$cache/$key/$name.tar.gz" "dist/$name.tar.gz"
(cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
"$PYTHON" hack/render-manifest.py dist > dist/krew-manifest.yaml
log "dist/$name.tar.gz ($(du -k "dist/$name.tar.gz" | cut -f1) KiB), dist/$name.tar.gz.sha256, dist/krew-manifest.yaml"
