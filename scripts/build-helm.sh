#!/usr/bin/env bash
# Builds helm (helm.sh/helm/v4/cmd/helm, pinned below) from its Go module into a cache directory
# outside the source tree, the way scripts/build-k8s-bins.sh caches the Kubernetes binaries. The
# chart tests (e2e/tests/helm_charts.rs) run it: `helm lint`, `helm template`.
# Does nothing when the cached binary matches the pinned version, flags and Go toolchain.
#
# Cache: ${LATTICE_K8S_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice/k8s-bin}/helm-<key>/
# where <key> hashes the version, the build flags and `go version`.
# The directory is linked at target/helm-bin, where the tests look for it (or $LATTICE_HELM_BIN_DIR).
#
# Usage: scripts/build-helm.sh [--force]
set -euo pipefail

# The pinned release. `go install` of a module version checks every downloaded module against
# go.sum of that release and the Go checksum database, so the version pins the whole graph.
HELM_VERSION=v4.3.2

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/go-tool-cache.sh
. "$repo/scripts/lib/go-tool-cache.sh"
tool=build-helm
cache_root=${LATTICE_K8S_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice/k8s-bin}
link="$repo/target/helm-bin"
lock_name=.helm.lock
go_tool_cache_args "$@"

# Only the local toolchain; no module-mode flags (`go install pkg@version` ignores any go.mod).
export GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0
go_tool_cache_need_go "helm $HELM_VERSION needs the Go version its go.mod names"

ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
out="$cache_root/helm-$(go_tool_cache_key "" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION | CGO_ENABLED=0 | $ldflags")"

build_into() {
  echo "build-helm: building helm $HELM_VERSION (helm.sh/helm/v4/cmd/helm) ..."
  GOBIN="$1" go install -trimpath -ldflags="$ldflags" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
}

smoke_check() {
  local version
  version=$("$1/helm" version --template '{{.Version}}')
  [ "$version" = "$HELM_VERSION" ] || go_tool_cache_die "built helm reports $version, expected $HELM_VERSION"
  echo "build-helm: helm $version"
}

go_tool_cache_run
