"""Pairing's command line.

    python -m tandem_pairing.entrypoints.cli contracts [--check]

`contracts` writes the published event contracts (JSON Schema and AsyncAPI) to
`services/pairing/contracts/`; with `--check`, it only says whether they are up to date.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tandem_kernel.contracts import EventContracts

from tandem_pairing.entrypoints.app import registry, service

__all__ = ["CONTRACTS", "contracts", "main"]

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
"""Where the checked-in contract documents live (this service's source tree)."""


def contracts() -> EventContracts:
    """The contracts of the events pairing publishes, generated from the code."""
    return EventContracts.of(registry(), service=service.name, topic=f"tandem.{service.name}.v1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tandem-pairing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    published = commands.add_parser("contracts", help="write the event contracts (JSON Schema, AsyncAPI)")
    published.add_argument("--check", action="store_true", help="only check that the files are up to date")
    args = parser.parse_args(argv)

    generated = contracts()
    if args.check:
        on_disk = {name: json.loads((CONTRACTS / name).read_text()) for name in ("events.schema.json", "asyncapi.json")}
        stale = on_disk != {"events.schema.json": generated.events, "asyncapi.json": generated.asyncapi}
        print("contracts are out of date: run `contracts` and commit them" if stale else "contracts are up to date")
        return 1 if stale else 0
    for path in generated.write(CONTRACTS):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
