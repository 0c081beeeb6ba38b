#!/usr/bin/env bash
# Builds the real Kubernetes control-plane binaries the tests run (etcd, kube-apiserver,
# kube-controller-manager) from the pinned Go modules in e2e/k8s-bin/, into a cache directory
# outside the source tree. Does nothing when the cached binaries match the pinned sources.
#
# Cache: ${LATTICE_K8S_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice/k8s-bin}/<key>/
# where <key> hashes the go.mod/go.sum/main.go files, this script and `go version`.
# The directory is linked at target/k8s-bin, where the test harness looks for it.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
src="$repo/e2e/k8s-bin"
cache_root=${LATTICE_K8S_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice/k8s-bin}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

command -v go >/dev/null || { echo "build-k8s-bins: 'go' is not on PATH; install Go 1.25 or newer" >&2; exit 1; }

key=$( {
    go version
    cat "$0"
    find "$src" -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort | xargs cat
  } | sha256sum | cut -c1-16)
out="$cache_root/$key"

link() {
  mkdir -p "$repo/target"
  ln -sfn "$out" "$repo/target/k8s-bin"
}

if [ -f "$out/.complete" ]; then
  echo "build-k8s-bins: up to date ($out)"
  link
  exit 0
fi

k8s_version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$src/apiserver/go.mod")
[ -n "$k8s_version" ] || k8s_version=$(grep -E '^\s*k8s.io/kubernetes v' "$src/apiserver/go.mod" | awk '{print $2}')
minor=$(echo "$k8s_version" | cut -d. -f2)
ldflags="-s -w \
  -X k8s.io/component-base/version.gitVersion=$k8s_version \
  -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=$minor \
  -X k8s.io/component-base/version.gitTreeState=clean"

tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

echo "build-k8s-bins: building etcd (e2e/k8s-bin/etcd) ..."
(cd "$src/etcd" && go build -trimpath -ldflags="-s -w" -o "$tmp/etcd" ./cmd/etcd)
echo "build-k8s-bins: building kube-apiserver and kube-controller-manager $k8s_version (e2e/k8s-bin/apiserver) ..."
(cd "$src/apiserver" && go build -trimpath -ldflags="$ldflags" -o "$tmp/" ./cmd/kube-apiserver ./cmd/kube-controller-manager)

"$tmp/kube-apiserver" --version
"$tmp/etcd" --version | head -1
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "build-k8s-bins: built into $out"
link
