# Shared by the scripts that build pinned Go tools into a cache outside the source tree
# (scripts/build-k8s-bins.sh, build-clusterctl.sh, build-helm.sh). Source it, set the variables
# below, define `build_into DIR` (builds the tool into DIR) and `smoke_check DIR` (runs the built
# binaries once), then call `go_tool_cache_run`.
#
#   tool        name used in messages and errors (e.g. build-helm)
#   cache_root  directory holding one subdirectory per cache key
#   out         the cache directory of this key (usually "$cache_root/<name>-<key>")
#   link        the link in target/ the tests look at (points at "$out")
#   lock_name   file name of the lock in "$cache_root" (one build per tool at a time)
#
# The key comes from `go_tool_cache_key SRC FLAGS`: `go version`, the flags line and every
# go.mod/go.sum/*.go file under SRC (SRC may be empty when the version is pinned in FLAGS).
# shellcheck shell=bash

# Prints a message naming the tool and exits 1.
go_tool_cache_die() { echo "$tool: $*" >&2; exit 1; }

# Reads the common arguments: `--force` rebuilds even when the cache is current.
go_tool_cache_args() {
  force=false
  case "${1:-}" in
    --force) force=true ;;
    "") ;;
    *) echo "usage: $0 [--force]" >&2; exit 2 ;;
  esac
  [ "$#" -le 1 ] || { echo "usage: $0 [--force]" >&2; exit 2; }
}

# Fails with a hint unless `go` is on PATH.
go_tool_cache_need_go() {
  command -v go >/dev/null || go_tool_cache_die "'go' is not on PATH; install Go ($1)"
}

# Prints the 16-hex-digit cache key of SRC (a directory or "") and the FLAGS line.
go_tool_cache_key() {
  local src=$1 flags=$2
  {
    go version
    echo "$flags"
    if [ -n "$src" ]; then
      find "$src" -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort | while read -r f; do
        echo "${f#"$src"/}"
        cat "$f"
      done
    fi
  } | sha256sum | cut -c1-16
}

# Points "$link" at "$out".
go_tool_cache_link() {
  mkdir -p "$(dirname "$link")"
  # A real directory there (not our link) would make ln create the link inside it.
  if [ -e "$link" ] && [ ! -L "$link" ]; then rm -rf "$link"; fi
  ln -sfn "$out" "$link"
}

# Builds into "$out" unless it is complete already (or --force), then links it.
go_tool_cache_run() {
  mkdir -p "$cache_root"
  # One build at a time per cache (several worktrees or test runs may start at once): the others
  # wait here and then find the result complete.
  if command -v flock >/dev/null; then
    exec 9>"$cache_root/$lock_name"
    flock 9
  fi
  if [ -f "$out/.complete" ] && ! $force; then
    echo "$tool: up to date ($out)"
    go_tool_cache_link
    return 0
  fi
  tmp="$out.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  build_into "$tmp"
  # Check the results before publishing them.
  smoke_check "$tmp"
  touch "$tmp/.complete"
  rm -rf "$out"
  mv "$tmp" "$out"
  trap - EXIT
  echo "$tool: built into $out"
  go_tool_cache_link
}
