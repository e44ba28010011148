#!/usr/bin/env bash
# Build kube-apiserver, etcd, kwok and the External Secrets Operator from the Go module proxy into a cache outside the repo.
# Every step is skipped when its binary exists, so a re-run costs nothing.
# Prints the bin directory on the last line of stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"

# The ESO controller is not needed where the stand-in was asked for (hack/testbed).
needed=(kube-apiserver etcd kwok)
[[ ${JXSECRET_TESTBED_ESO:-real} == standin ]] || needed+=(eso)

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  # Prebuilt binaries (envtest convention): nothing to build, only check they are there.
  for b in "${needed[@]}"; do
    [[ -x "$KUBEBUILDER_ASSETS/$b" ]] || { echo "build: KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $b" >&2; exit 1; }
  done
  echo "$KUBEBUILDER_ASSETS"; exit 0
fi

key=$(sha256sum "$here/versions.env" | cut -c1-12)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-jxsecret/testbed/$key
bin=$cache/bin
mkdir -p "$bin"
# One build at a time per cache (a demo and a test testbed coming up together on a fresh machine).
exec 9>"$cache/.lock"
flock 9
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS= GOPROXY=${GOPROXY:-https://proxy.golang.org}

log() { echo "build: $*" >&2; }

build_kube_apiserver() {
  [[ -x $bin/kube-apiserver ]] && return
  local mod=$cache/k8smod
  if [[ ! -f $mod/.ready ]]; then
    log "kube-apiserver $K8S_VERSION: resolving modules"
    rm -rf "$mod"; mkdir -p "$mod"; cd "$mod"
    go mod init local.test/k8sbins >/dev/null 2>&1
    local gomod
    gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
    # k8s.io/kubernetes requires its staging modules at v0.0.0 with replaces to ./staging;
    # a consumer must replace each one with the published version itself.
    go mod edit -json "$gomod" | python3 -c '
import json, sys
m = json.load(sys.stdin)
names = {r["Path"] for r in m.get("Require") or [] if r["Version"] == "v0.0.0"}
names |= {r["Old"]["Path"] for r in m.get("Replace") or [] if r["New"]["Path"].startswith("./staging/")}
print("\n".join(sorted(names)))' > staging.txt
    local args=()
    while read -r p; do args+=("-replace=$p=$p@$K8S_STAGING_VERSION"); done < staging.txt
    go mod edit "${args[@]}"
    local godebug
    godebug=$(grep -E '^godebug ' "$gomod" || true)
    [[ -n $godebug ]] && echo "$godebug" >> go.mod
    printf 'package tools\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' > tools.go
    go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" >&2
    touch .ready
  fi
  cd "$mod"
  local commit
  commit=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | python3 -c 'import json,sys; print((json.load(sys.stdin).get("Origin") or {}).get("Hash",""))')
  local major minor
  major=${K8S_VERSION#v}; major=${major%%.*}
  minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
  local ld="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitCommit=$commit -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  log "kube-apiserver $K8S_VERSION: building (slow the first time)"
  go build -trimpath -ldflags "$ld" -o "$bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
}

build_etcd() {
  [[ -x $bin/etcd ]] && return
  local mod=$cache/etcdmod
  log "etcd $ETCD_VERSION: building"
  # etcd's server module has replace directives, so `go install` refuses it; build it from a wrapper module.
  rm -rf "$mod"; mkdir -p "$mod"; cd "$mod"
  go mod init local.test/etcdbin >/dev/null 2>&1
  printf 'package tools\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
  go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$bin/etcd.tmp" "$bin/etcd"
}

build_kwok() {
  [[ -x $bin/kwok ]] && return
  log "kwok $KWOK_VERSION: building"
  cd "$cache"
  GOBIN=$cache/gobin go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
  mv "$cache/gobin/kwok" "$bin/kwok"
}

build_eso() {
  [[ -x $bin/eso ]] && return
  local mod=$cache/esomod
  log "external-secrets $ESO_VERSION: resolving modules (about 300 MB)"
  # main.go is the module root; its go.mod replaces sprig with ESO's fork, and a replace only
  # counts in the main module, so the wrapper repeats it.
  rm -rf "$mod"; mkdir -p "$mod"; cd "$mod"
  go mod init local.test/esobin >/dev/null 2>&1
  go mod edit -replace=github.com/Masterminds/sprig/v3=github.com/external-secrets/sprig/v3@v3.3.0
  printf 'package tools\nimport _ "github.com/external-secrets/external-secrets"\n' > tools.go
  go get "github.com/external-secrets/external-secrets@$ESO_VERSION" >&2
  log "external-secrets $ESO_VERSION: building (about 4 minutes on 2 cores the first time)"
  go build -trimpath -ldflags "-s -w" -o "$bin/eso.tmp" github.com/external-secrets/external-secrets
  mv "$bin/eso.tmp" "$bin/eso"
}

build_etcd
build_kwok
build_kube_apiserver
if [[ " ${needed[*]} " == *" eso "* ]]; then build_eso; fi
echo "$bin"
