#!/usr/bin/env python3
"""Decodes every golden fixture with the stock `msgpack` package (default options) and checks
that it equals its JSON twin: proof that a Python consumer reads our events as documented."""
import json
import pathlib
import sys

import msgpack

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "events" / "fixtures"


def main() -> int:
    packed = sorted(FIXTURES.glob("*.msgpack"))
    if not packed:
        print(f"no fixtures found in {FIXTURES}", file=sys.stderr)
        return 1
    failures = 0
    for path in packed:
        twin = path.with_suffix(".json")
        try:
            decoded = msgpack.unpackb(path.read_bytes())
            expected = json.loads(twin.read_text())
        except Exception as error:  # report every broken fixture, not just the first
            print(f"FAIL {path.name}: {error}")
            failures += 1
            continue
        if decoded != expected:
            print(f"FAIL {path.name}: decoded {decoded!r} != twin {expected!r}")
            failures += 1
    print(f"fixtures: {len(packed) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
