#!/usr/bin/env bash
# Builds the real Kubernetes control-plane binaries the tests run (etcd, kube-apiserver,
# kube-controller-manager) from the pinned Go modules in e2e/k8s-bin/, into a cache directory
# outside the source tree. Does nothing when the cached binaries match the pinned sources.
#
# Cache: ${LATTICE_K8S_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice/k8s-bin}/<key>/
# where <key> hashes the go.mod/go.sum/main.go files, the build flags and `go version`.
# The directory is linked at target/k8s-bin, where the test harness looks for it.
#
# Usage: scripts/build-k8s-bins.sh [--force]   (--force rebuilds even when the cache is current)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/go-tool-cache.sh
. "$repo/scripts/lib/go-tool-cache.sh"
tool=build-k8s-bins
src="$repo/e2e/k8s-bin"
cache_root=${LATTICE_K8S_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice/k8s-bin}
link="$repo/target/k8s-bin"
lock_name=.lock
go_tool_cache_args "$@"

# Only the pinned toolchain and the pinned module graph: never download a newer Go, never
# rewrite go.mod/go.sum during a build (a missing go.sum line is an error, not an edit).
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly

go_tool_cache_need_go "see the go lines of e2e/k8s-bin/*/go.mod for the version"
need_go=$(sed -n 's/^go \([0-9][0-9.]*\)$/\1/p' "$src"/*/go.mod | sort -V | tail -n 1)
have_go=$(go env GOVERSION)
case "$have_go" in
  go[0-9]*)
    have_go=${have_go#go}
    have_go=${have_go%% *}
    [ "$(printf '%s\n%s\n' "$need_go" "$have_go" | sort -V | head -n 1)" = "$need_go" ] \
      || go_tool_cache_die "Go $need_go or newer is needed (e2e/k8s-bin/*/go.mod), found $have_go"
    ;;
  *) ;; # a development toolchain: let the build itself say whether it is new enough
esac

k8s_version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$src/apiserver/go.mod")
[ -n "$k8s_version" ] || go_tool_cache_die "no k8s.io/kubernetes requirement in $src/apiserver/go.mod"
minor=$(echo "$k8s_version" | cut -d. -f2)
k8s_ldflags="-s -w \
  -X k8s.io/component-base/version.gitVersion=$k8s_version \
  -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=$minor \
  -X k8s.io/component-base/version.gitTreeState=clean"
etcd_ldflags="-s -w"

# The key covers everything that decides the output: toolchain, sources, pins and flags.
out="$cache_root/$(go_tool_cache_key "$src" "$GOFLAGS | $etcd_ldflags | $k8s_ldflags")"

build_into() {
  echo "build-k8s-bins: building etcd (e2e/k8s-bin/etcd) ..."
  (cd "$src/etcd" && go build -trimpath -ldflags="$etcd_ldflags" -o "$1/etcd" ./cmd/etcd)
  echo "build-k8s-bins: building kube-apiserver and kube-controller-manager $k8s_version (e2e/k8s-bin/apiserver) ..."
  (cd "$src/apiserver" && go build -trimpath -ldflags="$k8s_ldflags" -o "$1/" ./cmd/kube-apiserver ./cmd/kube-controller-manager)
}

smoke_check() {
  # `sed -n 1p` reads all output: no SIGPIPE.
  "$1/kube-apiserver" --version
  "$1/kube-controller-manager" --version
  "$1/etcd" --version | sed -n 1p
}

go_tool_cache_run
