#!/usr/bin/env bash
# Builds clusterctl (sigs.k8s.io/cluster-api/cmd/clusterctl) from the pinned wrapper module in
# e2e/clusterctl-bin/ into a cache directory outside the source tree, the way
# scripts/build-k8s-bins.sh caches the Kubernetes binaries; only the pivot benchmark uses it
# (`cargo bench -p lattice-e2e --bench pivot`, which runs `clusterctl move` side by side).
# Does nothing when the cached binary matches the pinned sources.
#
# Cache: ${LATTICE_K8S_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice/k8s-bin}/clusterctl-<key>/
# where <key> hashes the module's go.mod/go.sum/*.go, the build flags and `go version`.
# The directory is linked at target/clusterctl-bin, where the benchmark looks for it.
#
# Usage: scripts/build-clusterctl.sh [--force]
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/go-tool-cache.sh
. "$repo/scripts/lib/go-tool-cache.sh"
tool=build-clusterctl
src="$repo/e2e/clusterctl-bin"
cache_root=${LATTICE_K8S_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice/k8s-bin}
link="$repo/target/clusterctl-bin"
lock_name=.clusterctl.lock
go_tool_cache_args "$@"

# Only the pinned toolchain and module graph (a missing go.sum line is an error, not an edit).
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly
# `clusterctl version` below must not look for a newer release.
export CLUSTERCTL_DISABLE_VERSIONCHECK=true

go_tool_cache_need_go "see e2e/clusterctl-bin/go.mod for the version"

version=$(sed -n 's/^\(require\)\{0,1\}[[:space:]]*sigs\.k8s\.io\/cluster-api \(v[^ ]*\).*/\2/p' "$src/go.mod" | head -n 1)
[ -n "$version" ] || go_tool_cache_die "no sigs.k8s.io/cluster-api requirement in $src/go.mod"
ldflags="-s -w -X sigs.k8s.io/cluster-api/version.gitVersion=$version -X sigs.k8s.io/cluster-api/version.gitTreeState=clean"
out="$cache_root/clusterctl-$(go_tool_cache_key "$src" "$GOFLAGS | $ldflags")"

build_into() {
  echo "build-clusterctl: building clusterctl $version (e2e/clusterctl-bin) ..."
  (cd "$src" && go build -trimpath -ldflags="$ldflags" -o "$1/clusterctl" sigs.k8s.io/cluster-api/cmd/clusterctl)
}

smoke_check() { "$1/clusterctl" version; }

go_tool_cache_run
