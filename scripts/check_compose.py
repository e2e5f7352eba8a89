#!/usr/bin/env python3
"""Checks compose.yaml's structure (no Docker engine runs in CI): it parses, nats has JetStream
with a persistent volume and a config file, and every service has an image or a build, NATS_URL,
a volume for its store, a health check and a restart policy."""
import pathlib
import sys

import yaml

SERVICES = ["catalog", "inventory", "orders", "payments", "shipping", "support"]
COMPOSE = pathlib.Path(__file__).resolve().parent.parent / "compose.yaml"


def main() -> int:
    compose = yaml.safe_load(COMPOSE.read_text())
    problems = []
    services = compose.get("services", {})
    nats = services.get("nats", {})
    if not nats.get("volumes"):
        problems.append("nats: no persistent volume")
    if not nats.get("configs") or "jetstream" not in compose.get("configs", {}).get("nats-config", {}).get("content", ""):
        problems.append("nats: no config file with jetstream")
    for name in SERVICES:
        service = services.get(name)
        if service is None:
            problems.append(f"{name}: missing")
            continue
        if not (service.get("image") or service.get("build")):
            problems.append(f"{name}: no image or build")
        if "NATS_URL" not in (service.get("environment") or {}):
            problems.append(f"{name}: no NATS_URL")
        if not service.get("volumes"):
            problems.append(f"{name}: no volume for its store")
        if not service.get("healthcheck", {}).get("test"):
            problems.append(f"{name}: no health check")
        if not service.get("restart"):
            problems.append(f"{name}: no restart policy")
        if f"shop-{name}" not in (service.get("command") or []):
            problems.append(f"{name}: does not run shop-{name}")
    volumes = [v.split(":")[0] for s in SERVICES for v in services.get(s, {}).get("volumes", [])]
    if len(volumes) != len(set(volumes)):
        problems.append("services share a volume; each owns its store")
    for problem in problems:
        print(f"FAIL compose.yaml: {problem}")
    print(f"compose: {len(SERVICES) + 1 - len(problems)} passed, {len(problems)} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
