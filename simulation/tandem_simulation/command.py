"""`tandem simulate`: the whole platform (as `tandem run`), then a simulated company plays a program
year through the public HTTP APIs; the platform stays up to be explored (Ctrl-C stops it).

The ground truth of what was played is written to `.tandem/simulation.json`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tandem_simulation.play import Play

if TYPE_CHECKING:
    from tandem_kernel.devidentity import DevIdentity

__all__ = ["Simulate", "command"]

TRUTH_FILE = Path(".tandem") / "simulation.json"


class Simulate:
    """The `simulate` subcommand (entry point `tandem.commands`)."""

    name = "simulate"
    summary = (
        "The whole platform locally, then a simulated company (deterministic from --seed) plays a program "
        "year through the public HTTP APIs: enrollment, approvals, pairing, sessions, feedback, a rotation, "
        "the survey. Prints the dashboard, the API docs and demo tokens; stays up until Ctrl-C."
    )
    examples = (
        "tandem simulate                       # 2,000 employees, 24 weeks (make run)",
        "tandem simulate --size 20000          # make demo SIZE=20000",
        "tandem simulate --size 200 --weeks 12 --seed 7 --first-port 9001",
    )

    def configure(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--size", type=int, default=2000, help="employees in the company (default 2,000)")
        parser.add_argument("--weeks", type=int, default=24, help="the program's length in weeks (default 24)")
        parser.add_argument("--seed", type=int, default=2026, help="the same seed plays the same company")
        parser.add_argument("--with-demo", action="store_true", help="load each service's small demo too")
        parser.add_argument("--exit", action="store_true", help="stop once played (tests, benchmarks)")
        parser.add_argument("--first-port", type=int, default=8001, help="services listen from this port up")
        parser.add_argument("--broker-port", type=int, default=9092, help="the development broker's port")
        parser.add_argument("--identity-port", type=int, default=9400, help="the development OpenID provider's port")

    def run(self, args: argparse.Namespace) -> int:
        from tandem_kernel.devrun import run_platform

        async def play(urls: dict[str, str], identity: DevIdentity, clock: Path) -> tuple[dict[str, str], list[str]]:
            started = time.monotonic()
            simulation = Play(urls, identity, clock, size=args.size, weeks=args.weeks, seed=args.seed)
            truth = await simulation.play()
            figures = {**truth.figures(), "seconds": round(time.monotonic() - started, 1)}
            TRUTH_FILE.parent.mkdir(parents=True, exist_ok=True)
            TRUTH_FILE.write_text(json.dumps(figures, indent=2))
            lines = [
                f"\nSimulated {args.size:,} employees over {args.weeks} weeks in {figures['seconds']:.0f}s: "
                f"{figures['enrolled']:,} enrolled, {figures['pairs_formed']:,} pairs formed, "
                f"{figures['sessions_held']:,} sessions held, {figures['feedback_given']:,} feedback given "
                f"(ground truth in {TRUTH_FILE})."
            ]
            if "reporting" in urls:
                lines.append(f"Dashboard: {urls['reporting']}/dashboard/   (program {truth.program_id})")
            people = {}
            junior = next((p for p in simulation.employee_of.values() if p.role == "junior"), None)
            senior = next((p for p in simulation.employee_of.values() if p.role == "senior"), None)
            if junior and senior:
                people = {"junior": junior.employee_id, "senior": senior.employee_id}
            if args.exit:
                raise _Played(lines)
            return people, lines

        try:
            return run_platform(
                demo=args.with_demo,
                first_port=args.first_port,
                broker_port=args.broker_port,
                identity_port=args.identity_port,
                after_start=play,
                fresh_world="tandem_simulation",
            )
        except _Played as played:
            print("\n".join(played.lines))
            return 0


class _Played(Exception):
    """--exit: the play is over, stop the platform."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("played")
        self.lines = lines


command = Simulate()
