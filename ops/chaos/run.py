"""One chaos run: start, load and faults together, quiesce, check, report."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ops.chaos.faults import FAULTS, Faults
from ops.chaos.invariants import Findings, check_everything, quiet_signature, routes, undelivered
from ops.chaos.load import Load
from ops.chaos.platform import Platform

__all__ = ["ChaosOptions", "ChaosReport", "run_chaos"]

QUIET_FOR_SECONDS = 6.0
QUIESCENCE_BUDGET_SECONDS = 240.0


@dataclass(frozen=True)
class ChaosOptions:
    seconds: float = 120
    fault_every: float = 10
    replicas: int = 2
    rate: float = 20
    seed: int = 2026
    logs: Path = Path(".tandem/chaos")
    faults: tuple[str, ...] = tuple(FAULTS)
    services: tuple[str, ...] = ()  # default: every installed service


@dataclass
class ChaosReport:
    options: ChaosOptions
    broker: str = ""
    services: list[str] = field(default_factory=list)
    sent: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    retried: int = 0
    unacknowledged: dict[str, int] = field(default_factory=dict)  # "kind outcome HTTP status" -> count
    faults: dict[str, int] = field(default_factory=dict)
    quiescence_seconds: float = 0.0
    findings: Findings = field(default_factory=Findings)

    @property
    def holds(self) -> bool:
        return not self.findings.mismatches

    def render(self) -> str:
        lines = [
            f"chaos: {len(self.services)} services ({', '.join(self.services)}), {self.options.replicas} replicas each,"
            f" broker {self.broker}, {self.options.seconds:.0f} s of load, seed {self.options.seed}",
            f"commands sent {self.sent:,}: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(self.outcomes.items()))
            + f" ({self.retried:,} needed a retry)",
            "faults injected: " + ", ".join(f"{k} x{v}" for k, v in sorted(self.faults.items())),
            "not acknowledged: "
            + (", ".join(f"{what} x{n}" for what, n in sorted(self.unacknowledged.items())) or "none"),
            f"time to quiescence after the load stopped: {self.quiescence_seconds:.1f} s",
            "checked: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.findings.checked.items())),
            f"mismatches: {len(self.findings.mismatches)}",
            *(f"  - {m}" for m in self.findings.mismatches[:50]),
        ]
        return "\n".join(lines)


def _say(line: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


async def _quiesce(platform: Platform) -> tuple[float, list[str]]:
    """Seconds until every replica is ready, every subscriber has handled every event it must, and
    nothing has moved for QUIET_FOR_SECONDS; past the budget, what still is not so."""
    started = time.monotonic()
    every_route = await routes(platform)
    last, since = None, time.monotonic()
    unsettled: list[str] = []
    async with httpx.AsyncClient(timeout=3) as http:
        while time.monotonic() - started < QUIESCENCE_BUDGET_SECONDS:
            unsettled = []
            for name in platform.services:
                for url in platform.urls(name):
                    try:
                        answer = await http.get(f"{url}/readyz")
                        if answer.status_code != 200:
                            unsettled.append(f"{name} at {url} not ready: {answer.json().get('problems')}")
                    except httpx.HTTPError as error:
                        unsettled.append(f"{name} at {url} does not answer: {error!r}")
            for route, missing in (await undelivered(platform, every_route)).items():
                if missing:
                    unsettled.append(
                        f"{len(missing)} events of {route.topic} not yet at {route.service}/{route.consumer}"
                    )
            signature = await quiet_signature(platform)
            if signature != last or unsettled:
                last, since = signature, time.monotonic()
            elif time.monotonic() - since >= QUIET_FOR_SECONDS:
                return since - started, []
            await asyncio.sleep(1)
    _say(f"the platform did not quiesce within {QUIESCENCE_BUDGET_SECONDS:.0f} s: {unsettled}")
    return time.monotonic() - started, unsettled


async def run_chaos(options: ChaosOptions) -> ChaosReport:
    rng = random.Random(options.seed)
    platform = Platform(logs=options.logs.resolve(), replicas_per_service=options.replicas, only=options.services)
    report = ChaosReport(options)
    _say(f"starting the platform (logs in {options.logs})")
    await platform.start()
    try:
        report.broker = type(platform.broker).__name__
        report.services = platform.services
        load = Load(platform, random.Random(rng.randrange(1 << 30)), options.rate)
        faults = Faults(platform, random.Random(rng.randrange(1 << 30)), _say)
        try:
            await load.open_program()
            stop = asyncio.Event()
            _say(f"load and faults for {options.seconds:.0f} s")
            running = asyncio.gather(load.run(stop), faults.run(stop, options.fault_every, options.faults))
            await asyncio.sleep(options.seconds)
            stop.set()
            await running
        finally:
            await load.close()
        _say("load stopped; waiting for quiescence")
        report.quiescence_seconds, unsettled = await _quiesce(platform)
        _say("checking the invariants")
        report.findings = await check_everything(platform, load.ledger)
        # A replica left not ready, or a subscriber left behind, is a finding too: nothing stops in silence.
        report.findings.mismatches += [f"not quiet after {QUIESCENCE_BUDGET_SECONDS:.0f} s: {u}" for u in unsettled]
        report.sent = len(load.ledger.commands)
        report.outcomes = dict(load.ledger.counts())
        report.retried = load.ledger.retried()
        report.unacknowledged = dict(
            Counter(
                f"{c.kind} {c.outcome} {c.answer.get('_status', '')} {str(c.answer.get('detail', ''))[:80]}".strip()
                for c in load.ledger.commands
                if c.outcome != "acknowledged"
            )
        )
        report.faults = dict(faults.injected)
    finally:
        await platform.close()
    return report
