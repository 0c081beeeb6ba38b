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
src="$repo/e2e/k8s-bin"
cache_root=${LATTICE_K8S_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice/k8s-bin}
link="$repo/target/k8s-bin"
force=false
case "${1:-}" in
  --force) force=true ;;
  "") ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

# Only the pinned toolchain and the pinned module graph: never download a newer Go, never
# rewrite go.mod/go.sum during a build (a missing go.sum line is an error, not an edit).
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly

die() { echo "build-k8s-bins: $*" >&2; exit 1; }

command -v go >/dev/null || die "'go' is not on PATH; install Go (see the go lines of e2e/k8s-bin/*/go.mod for the version)"
need_go=$(sed -n 's/^go \([0-9][0-9.]*\)$/\1/p' "$src"/*/go.mod | sort -V | tail -n 1)
have_go=$(go env GOVERSION)
case "$have_go" in
  go[0-9]*)
    have_go=${have_go#go}
    have_go=${have_go%% *}
    [ "$(printf '%s\n%s\n' "$need_go" "$have_go" | sort -V | head -n 1)" = "$need_go" ] \
      || die "Go $need_go or newer is needed (e2e/k8s-bin/*/go.mod), found $have_go"
    ;;
  *) ;; # a development toolchain: let the build itself say whether it is new enough
esac

k8s_version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$src/apiserver/go.mod")
[ -n "$k8s_version" ] || die "no k8s.io/kubernetes requirement in $src/apiserver/go.mod"
minor=$(echo "$k8s_version" | cut -d. -f2)
k8s_ldflags="-s -w \
  -X k8s.io/component-base/version.gitVersion=$k8s_version \
  -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=$minor \
  -X k8s.io/component-base/version.gitTreeState=clean"
etcd_ldflags="-s -w"

# The key covers everything that decides the output: toolchain, sources, pins and flags.
key=$( {
    go version
    echo "$GOFLAGS | $etcd_ldflags | $k8s_ldflags"
    find "$src" -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort | while read -r f; do
      echo "${f#"$src"/}"
      cat "$f"
    done
  } | sha256sum | cut -c1-16)
out="$cache_root/$key"

link() {
  mkdir -p "$repo/target"
  # A real directory there (not our link) would make ln create the link inside it.
  if [ -e "$link" ] && [ ! -L "$link" ]; then rm -rf "$link"; fi
  ln -sfn "$out" "$link"
}

mkdir -p "$cache_root"
# One build at a time per cache (several worktrees or test runs may start at once): the others
# wait here and then find the result complete.
if command -v flock >/dev/null; then
  exec 9>"$cache_root/.lock"
  flock 9
fi

if [ -f "$out/.complete" ] && ! $force; then
  echo "build-k8s-bins: up to date ($out)"
  link
  exit 0
fi

tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

echo "build-k8s-bins: building etcd (e2e/k8s-bin/etcd) ..."
(cd "$src/etcd" && go build -trimpath -ldflags="$etcd_ldflags" -o "$tmp/etcd" ./cmd/etcd)
echo "build-k8s-bins: building kube-apiserver and kube-controller-manager $k8s_version (e2e/k8s-bin/apiserver) ..."
(cd "$src/apiserver" && go build -trimpath -ldflags="$k8s_ldflags" -o "$tmp/" ./cmd/kube-apiserver ./cmd/kube-controller-manager)

# Smoke-check the results before publishing them (`sed -n 1p` reads all output: no SIGPIPE).
"$tmp/kube-apiserver" --version
"$tmp/kube-controller-manager" --version
"$tmp/etcd" --version | sed -n 1p
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "build-k8s-bins: built into $out"
link
