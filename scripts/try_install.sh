#!/usr/bin/env bash
# Follows the README's Install section as a new user would, in a temporary folder: copies this
# checkout to <tmp>/app/idlewatcher-provider, writes the files the README shows (the blocks after a
# `<!-- try_install: file NAME -->` line) into <tmp>/app, and runs its shell blocks (after
# `<!-- try_install: run -->`) there, each in its own bash with -e, word for word. `deno install
# --global` installs into <tmp>/deno/bin, which is put first on PATH.
#
# Usage: bash scripts/try_install.sh [COMMAND...]
#   COMMAND  run afterwards in <tmp>/app, with the installed `idlewatcher` on PATH
#
# Exits with the first failing block's code (or COMMAND's); removes the folder on exit.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/idlewatcher-try-install-XXXXXX")"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/app/idlewatcher-provider" "$work/blocks"
# The checkout as it is now, committed or not: the files git tracks or would track.
(cd "$repo" && git ls-files --cached --others --exclude-standard -z |
  tar --null --ignore-failed-read -c -T - 2>/dev/null) | tar -x -C "$work/app/idlewatcher-provider"

export DENO_INSTALL_ROOT="$work/deno"
export PATH="$DENO_INSTALL_ROOT/bin:$PATH"

# Splits the README into numbered blocks: f<N>.<name> to write, r<N>.sh to run, in order.
awk -v out="$work/blocks" '
  /^<!-- try_install: file [^ ]+ -->$/ { pending = "f" (++n) "." $4; next }
  /^<!-- try_install: run -->$/ { pending = "r" (++n) ".sh"; next }
  /^```/ {
    if (inside) { inside = 0; close(target); next }
    if (pending != "") { inside = 1; target = out "/" pending; pending = ""; printf "" > target; next }
  }
  inside { print > target }
' "$repo/README.md"

count=0
for block in $(ls "$work/blocks" | sort -t. -k1.2n); do
  count=$((count + 1))
  case "$block" in
  f*) cp "$work/blocks/$block" "$work/app/${block#*.}" ;;
  r*)
    echo "try_install: README block $block" >&2
    (cd "$work/app" && bash -e "$work/blocks/$block")
    ;;
  esac
done
if ((count == 0)); then
  echo "try_install: no try_install blocks found in README.md" >&2
  exit 1
fi

if (($# > 0)); then
  cd "$work/app"
  "$@"
fi
