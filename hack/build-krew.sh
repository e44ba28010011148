#!/usr/bin/env bash
# Build krew from the Go module proxy into a cache outside the repo, keyed on hack/krew-version.env, named
# kubectl-krew (the name kubectl dispatches to), and krew's manifest validator (validate-krew-manifest).
# Each is skipped when it exists. Prints the bin directory on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/krew-version.env"
key=$(sha256sum "$here/krew-version.env" | cut -c1-12)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-jxsecret/krew/$key
bin=$cache/bin
mkdir -p "$bin"
exec 9>"$cache/.lock"
flock 9
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS= GOPROXY=${GOPROXY:-https://proxy.golang.org}
for tool in krew validate-krew-manifest; do
  name=$tool; [[ $tool == krew ]] && name=kubectl-krew
  [[ -x $bin/$name ]] && continue
  echo "build: $tool $KREW_VERSION: building" >&2
  GOBIN=$cache/gobin go install -trimpath -ldflags "-s -w" "sigs.k8s.io/krew/cmd/$tool@$KREW_VERSION" >&2
  mv "$cache/gobin/$tool" "$bin/$name"
done
echo "$bin"
