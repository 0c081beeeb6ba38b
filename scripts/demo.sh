#!/usr/bin/env bash
# The main job: a cell with its embedded Postgres, local test clusters (real etcd +
# kube-apiserver), one agent per cluster, every spec in examples/ applied end to end; prints what
# was applied where. Everything it starts is stopped when it exits.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/build-k8s-bins.sh
cargo build --workspace --bins --locked
exec ./target/debug/lattice-demo "$@"
