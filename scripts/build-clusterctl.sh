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
src="$repo/e2e/clusterctl-bin"
cache_root=${LATTICE_K8S_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice/k8s-bin}
link="$repo/target/clusterctl-bin"
force=false
case "${1:-}" in
  --force) force=true ;;
  "") ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

# Only the pinned toolchain and module graph (a missing go.sum line is an error, not an edit).
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly
# `clusterctl version` below must not look for a newer release.
export CLUSTERCTL_DISABLE_VERSIONCHECK=true

die() { echo "build-clusterctl: $*" >&2; exit 1; }
command -v go >/dev/null || die "'go' is not on PATH; install Go (see e2e/clusterctl-bin/go.mod for the version)"

version=$(sed -n 's/^\(require\)\{0,1\}[[:space:]]*sigs\.k8s\.io\/cluster-api \(v[^ ]*\).*/\2/p' "$src/go.mod" | head -n 1)
[ -n "$version" ] || die "no sigs.k8s.io/cluster-api requirement in $src/go.mod"
ldflags="-s -w -X sigs.k8s.io/cluster-api/version.gitVersion=$version -X sigs.k8s.io/cluster-api/version.gitTreeState=clean"

key=$( {
    go version
    echo "$GOFLAGS | $ldflags"
    find "$src" -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort | while read -r f; do
      echo "${f#"$src"/}"
      cat "$f"
    done
  } | sha256sum | cut -c1-16)
out="$cache_root/clusterctl-$key"

link() {
  mkdir -p "$repo/target"
  if [ -e "$link" ] && [ ! -L "$link" ]; then rm -rf "$link"; fi
  ln -sfn "$out" "$link"
}

mkdir -p "$cache_root"
if command -v flock >/dev/null; then
  exec 9>"$cache_root/.clusterctl.lock"
  flock 9
fi

if [ -f "$out/.complete" ] && ! $force; then
  echo "build-clusterctl: up to date ($out)"
  link
  exit 0
fi

tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
echo "build-clusterctl: building clusterctl $version (e2e/clusterctl-bin) ..."
(cd "$src" && go build -trimpath -ldflags="$ldflags" -o "$tmp/clusterctl" sigs.k8s.io/cluster-api/cmd/clusterctl)
"$tmp/clusterctl" version
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "build-clusterctl: built into $out"
link
