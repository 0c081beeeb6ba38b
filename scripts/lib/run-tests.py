#!/usr/bin/env python3
"""Runs the workspace's test targets (every lib, bin and integration-test binary, and the doc
tests) as separate `cargo test` invocations, several at a time.

Why: most of the suite waits on real processes (kube-apiservers, Postgres, agents), so running
the binaries one after another, as `cargo test --workspace` does, leaves the machine idle. Each
target keeps its own process, so tests that share a cluster inside one binary still share it.

Each target's output goes to target/test-logs/<target>.log; a line per finished target is printed
as it ends, the full log of every failed target at the end, then a summary. Exits 1 if any target
failed. Every target runs even after a failure (like --no-fail-fast), so one run shows them all.

Usage: run-tests.py [--jobs N] [-- extra cargo test arguments]
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

# Targets known to take minutes, started first so the long poles overlap the short ones.
# Measured on a fresh clone (2 cores): the order matters more than the figures.
KNOWN_SLOW = [
    "lattice-cell/test/quota_concurrency",
    "lattice-e2e/test/pivot",
    "lattice-e2e/test/chaos",
    "lattice-e2e/test/demo",
    "lattice-e2e/test/compliance_live",
    "lattice-e2e/test/multi_cluster",
    "lattice-e2e/test/faults",
    "lattice-e2e/test/metrics",
    "lattice-e2e/test/helm_charts",
    "lattice-e2e/test/lattice_cluster",
]


def list_targets():
    """Every test binary of the workspace, from cargo's own build plan (no guessing of names).

    The binaries are run directly rather than through `cargo test -p …`: selecting one package
    changes cargo's feature unification, which would rebuild the dependencies once per package.
    """
    out = subprocess.run(
        ["cargo", "test", "--workspace", "--locked", "--no-run", "--message-format=json"],
        check=True,
        stdout=subprocess.PIPE,
    ).stdout.decode()
    targets = {}
    for line in out.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
            continue
        if not msg.get("profile", {}).get("test"):
            continue
        manifest = msg["manifest_path"]
        package = package_name(manifest)
        kind = msg["target"]["kind"][0]
        name = "lib" if kind in ("lib", "rlib", "proc-macro") else f"{kind}/{msg['target']['name']}"
        targets[(package, name)] = Target(
            label=f"{package}/{name}",
            command=[msg["executable"]],
            cwd=os.path.dirname(manifest),
            env={"CARGO_MANIFEST_DIR": os.path.dirname(manifest), "CARGO_PKG_NAME": package},
        )
    return [targets[k] for k in sorted(targets)]


class Target:
    def __init__(self, label, command, cwd=None, env=None):
        self.label = label
        self.command = command
        self.cwd = cwd
        self.env = env or {}


_package_names = {}


def package_name(manifest_path):
    if not _package_names:
        meta = subprocess.run(
            ["cargo", "metadata", "--no-deps", "--format-version=1", "--locked"],
            check=True,
            stdout=subprocess.PIPE,
        ).stdout
        for package in json.loads(meta)["packages"]:
            _package_names[package["manifest_path"]] = package["name"]
    return _package_names[manifest_path]


def order(targets):
    by_label = {t.label: t for t in targets}
    slow = [by_label[s] for s in KNOWN_SLOW if s in by_label]
    return slow + [t for t in targets if t.label not in KNOWN_SLOW]


def split_extra(extra):
    """`cargo test`-style arguments to (arguments for each test binary, for the doc tests).

    A name filter and everything after `--` go to the test binaries; `--no-fail-fast` is what
    this runner does anyway and is dropped.
    """
    if "--" in extra:
        at = extra.index("--")
        before, after = extra[:at], extra[at + 1 :]
    else:
        before, after = extra, []
    before = [a for a in before if a != "--no-fail-fast"]
    unknown = [a for a in before if a.startswith("-")]
    if unknown:
        sys.exit(f"run-tests: cannot pass {' '.join(unknown)} to the test binaries; "
                 "give a name filter and harness flags after --, e.g. `foo -- --nocapture`")
    return before + after


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("LATTICE_TEST_JOBS", "3")))
    parser.add_argument("extra", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    extra = split_extra(args.extra[1:] if args.extra[:1] == ["--"] else args.extra)

    logs = os.path.join("target", "test-logs")
    os.makedirs(logs, exist_ok=True)
    doc = Target("doc-tests", ["cargo", "test", "--workspace", "--locked", "--doc", "--"])
    targets = order(list_targets()) + [doc]
    print(f"run-tests: {len(targets)} targets, {args.jobs} at a time; logs in {logs}/", flush=True)

    lock = threading.Lock()
    results = []
    started = time.monotonic()

    def run(target):
        path = os.path.join(logs, target.label.replace("/", "__") + ".log")
        begin = time.monotonic()
        with open(path, "wb") as log:
            code = subprocess.run(
                target.command + extra,
                cwd=target.cwd,
                env={**os.environ, **target.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            ).returncode
        seconds = time.monotonic() - begin
        passed, failed = count_results(path)
        with lock:
            results.append((target, code, seconds, path, passed, failed))
            state = "ok" if code == 0 else f"FAILED (exit {code})"
            print(
                f"[{time.monotonic() - started:7.1f}s] {state:>16}  {target.label}"
                f"  {passed} passed, {failed} failed, {seconds:.1f}s",
                flush=True,
            )

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(run, targets))

    failures = [r for r in results if r[1] != 0]
    for target, code, _, path, _, _ in failures:
        print(f"\n===== {target.label} (exit {code}): {path} =====", flush=True)
        with open(path, "rb") as log:
            sys.stdout.write(log.read().decode(errors="replace"))
    total_passed = sum(r[4] for r in results)
    total_failed = sum(r[5] for r in results)
    wall = time.monotonic() - started
    slowest = sorted(results, key=lambda r: -r[2])[:5]
    print(f"\nrun-tests: {total_passed} tests passed, {total_failed} failed, "
          f"{len(failures)} of {len(results)} targets failed, {wall / 60:.1f} min wall clock")
    print("run-tests: slowest: " + ", ".join(f"{r[0].label} {r[2]:.0f}s" for r in slowest))
    if failures:
        print("run-tests: failed targets: " + " ".join(r[0].label for r in failures))
        sys.exit(1)


def count_results(path):
    """Sums the `test result:` lines of a target's log (a doc-test run has one per crate)."""
    passed = failed = 0
    with open(path, "rb") as log:
        for line in log.read().decode(errors="replace").splitlines():
            if line.startswith("test result:"):
                parts = line.replace(";", "").split()
                passed += int(parts[parts.index("passed") - 1])
                failed += int(parts[parts.index("failed") - 1])
    return passed, failed


if __name__ == "__main__":
    main()
