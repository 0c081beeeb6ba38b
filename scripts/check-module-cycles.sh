#!/usr/bin/env bash
# Fails when modules of a workspace crate depend on each other in a circle (the rule:
# docs/architecture.md, "No circles"). Reads the sources only; needs no Kubernetes binaries.
# `scripts/test.sh` runs the same test as part of the whole suite.
#
# cargo-modules was tried first (0.27.0, the last that builds with our rustc 1.95): `cargo install
# --locked` took 27.5 min on the 2-core machine, and `cargo modules dependencies --acyclic` reports
# item-level "circles" (a type and its own method, e.g. `PolicySetVersion` and
# `PolicySetVersion::empty`), even with --no-fns --no-types --no-traits, so it fails on every crate
# without saying anything about modules. The check is therefore a test in the e2e crate
# (`lattice_e2e::module_graph`).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test -p lattice-e2e --locked --test module_cycles "$@"
