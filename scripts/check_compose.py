#!/usr/bin/env python3
"""Checks compose.yaml's structure (no Docker engine runs in CI): it parses; a one-shot step
generates the identities; nats has JetStream with a persistent volume and a config file that
includes the generated users, runs the nats-server that scripts/nats-server.sh pins, and
publishes only its client port on 127.0.0.1 (host port SHOP_NATS_HOST_PORT, default 4222); a
one-shot step provisions as the admin before any service starts; every container of the shop's
image can build it; and every service has NATS_URL, its own seed as NATS_CREDS, its own volume for
its store, a health check that signs in as the operator, and a restart policy. A real Compose
validates the file in scripts/compose_config.sh."""
import pathlib
import re
import sys

import yaml

SERVICES = ["catalog", "inventory", "orders", "payments", "shipping", "support"]
ROOT = pathlib.Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "compose.yaml"
NATS_PORTS = ["127.0.0.1:${SHOP_NATS_HOST_PORT:-4222}:4222"]
SHOP_IMAGE = "shop-on-nats:latest"


def pinned_nats_version() -> str:
    script = (ROOT / "scripts" / "nats-server.sh").read_text()
    return re.search(r'^PINNED_VERSION="([0-9.]+)"', script, re.MULTILINE).group(1)


def main() -> int:
    compose = yaml.safe_load(COMPOSE.read_text())
    problems = []
    services = compose.get("services", {})
    nats = services.get("nats", {})
    if not nats.get("volumes"):
        problems.append("nats: no persistent volume")
    if not nats.get("configs") or "jetstream" not in compose.get("configs", {}).get("nats-config", {}).get("content", ""):
        problems.append("nats: no config file with jetstream")
    if "auth" not in " ".join(services.get("auth", {}).get("command", [])):
        problems.append("auth: no one-shot step that generates the identities")
    config = compose.get("configs", {}).get("nats-config", {}).get("content", "")
    if "include ./auth/authorization.conf" not in config:
        problems.append("nats: its config does not include the generated users")
    if nats.get("ports", []) != NATS_PORTS:
        problems.append(f"nats: publishes {nats.get('ports')}, not only {NATS_PORTS}")
    nats_image = f"nats:{pinned_nats_version()}-alpine"
    if nats.get("image") != nats_image:
        problems.append(f"nats: runs {nats.get('image')}, not the pinned {nats_image}")
    unbuildable = [n for n, s in services.items() if s.get("image") == SHOP_IMAGE and not s.get("build")]
    if unbuildable:
        problems.append(f"{', '.join(unbuildable)}: run {SHOP_IMAGE} without a build")
    provision = services.get("provision", {})
    provision_command = provision.get("command", [])
    if "provision" not in provision_command or "/auth/admin.nk" not in provision_command:
        problems.append("provision: no one-shot step that provisions as the admin")
    for name in SERVICES:
        service = services.get(name)
        if service is None:
            problems.append(f"{name}: missing")
            continue
        if service.get("image") != SHOP_IMAGE or not service.get("build"):
            problems.append(f"{name}: does not build and run {SHOP_IMAGE}")
        if "NATS_URL" not in (service.get("environment") or {}):
            problems.append(f"{name}: no NATS_URL")
        # one meaning of SHOP_DATA_DIR: the shop's data directory; the store is <dir>/<service>
        data_dir = (service.get("environment") or {}).get("SHOP_DATA_DIR")
        store = f"{name}-data:{data_dir}/{name}"
        if store not in (service.get("volumes") or []):
            problems.append(f"{name}: its store volume is not at SHOP_DATA_DIR/{name} ({data_dir}/{name})")
        tool = services.get("shopctl", {})
        if f"{name}-data:/shop/{name}" not in (tool.get("volumes") or []) or "/shop" not in tool.get("entrypoint", []):
            problems.append(f"shopctl: does not see {name}'s store where {name} has it, for rebuild")
        if not service.get("healthcheck", {}).get("test"):
            problems.append(f"{name}: no health check")
        if not service.get("restart"):
            problems.append(f"{name}: no restart policy")
        if f"shop-{name}" not in (service.get("command") or []):
            problems.append(f"{name}: does not run shop-{name}")
        if (service.get("environment") or {}).get("NATS_CREDS") != f"/auth/{name}.nk":
            problems.append(f"{name}: does not sign in with its own seed")
        if "/auth/operator.nk" not in service.get("healthcheck", {}).get("test", []):
            problems.append(f"{name}: its health check does not sign in as the operator")
        if service.get("depends_on", {}).get("provision", {}).get("condition") != "service_completed_successfully":
            problems.append(f"{name}: may start before provisioning")
    # a second instance of a service that shares its partitions (docs/scaling.md)
    for name, service in services.items():
        base = name.rsplit("-", 1)[0]
        if base not in SERVICES or name == base:
            continue
        environment = service.get("environment") or {}
        data_dir = environment.get("SHOP_DATA_DIR")
        if environment.get("SHOP_INSTANCE") != name:
            problems.append(f"{name}: its SHOP_INSTANCE is not {name}")
        if environment.get("SHOP_SCALE_OUT") != "true":
            problems.append(f"{name}: shares {base}'s partitions without SHOP_SCALE_OUT")
        if "SHOP_SCALE_OUT" not in (services.get(base, {}).get("environment") or {}):
            problems.append(f"{base}: cannot be given SHOP_SCALE_OUT for {name} to join it")
        if f"{name}-data:{data_dir}/{name}" not in (service.get("volumes") or []):
            problems.append(f"{name}: its store volume is not at SHOP_DATA_DIR/{name}")
        if f"shop-{base}" not in (service.get("command") or []):
            problems.append(f"{name}: does not run shop-{base}")
        if environment.get("NATS_CREDS") != f"/auth/{base}.nk":
            problems.append(f"{name}: does not sign in as {base}")
    instances = [n for n in services if n in SERVICES or n.rsplit("-", 1)[0] in SERVICES]
    volumes = [
        v.split(":")[0]
        for s in instances
        for v in services.get(s, {}).get("volumes", [])
        if not v.endswith(":ro")
    ]
    if len(volumes) != len(set(volumes)):
        problems.append("services share a volume; each owns its store")
    for problem in problems:
        print(f"FAIL compose.yaml: {problem}")
    checks = len(SERVICES) + 6
    print(f"compose: {checks - len(problems)} of {checks} parts without problems, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
