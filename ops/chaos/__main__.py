"""python -m ops.chaos --seconds 120 --seed 7   (make chaos SECONDS=120)"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from ops.chaos.faults import FAULTS
from ops.chaos.run import ChaosOptions, run_chaos


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.chaos",
        description="Run every service as replicas under load while faults are injected, then check that "
        "nothing was lost or doubled. Exit code 1 when an invariant does not hold.",
        epilog="example: python -m ops.chaos --seconds 300 --fault-every 8 --seed 42",
    )
    parser.add_argument("--seconds", type=float, default=120, help="how long the load and the faults last")
    parser.add_argument("--fault-every", type=float, default=10, help="seconds between faults")
    parser.add_argument("--replicas", type=int, default=2, help="processes per service")
    parser.add_argument("--rate", type=float, default=20, help="commands per second the load aims at")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--faults",
        default=",".join(FAULTS),
        help=f"which faults, comma-separated (default: all of {', '.join(FAULTS)})",
    )
    parser.add_argument("--logs", type=Path, default=Path(".tandem/chaos"), help="where the processes' logs go")
    arguments = parser.parse_args()
    options = ChaosOptions(
        seconds=arguments.seconds,
        fault_every=arguments.fault_every,
        replicas=arguments.replicas,
        rate=arguments.rate,
        seed=arguments.seed,
        logs=arguments.logs,
        faults=tuple(arguments.faults.split(",")),
    )
    report = asyncio.run(run_chaos(options))
    print(report.render())
    return 0 if report.holds else 1


if __name__ == "__main__":
    sys.exit(main())
