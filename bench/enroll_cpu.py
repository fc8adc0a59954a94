"""The enrollment service's CPU per enrollment: what the enroll path costs, apart from the machine.

    PYTHONPATH=. .venv/bin/python bench/enroll_cpu.py [--rate 100] [--seconds 20] [--settle 3]

The enrollment service alone (one process, as `make run` starts it, with the broker and the
OpenID provider; no other service consuming), a program as `bench/load.py` opens it, then
enrollments at a fixed rate over real HTTP (open loop, `bench/load.py`'s client and people). The
figure is the service process's CPU time (user + system) from the first request until `--settle`
seconds after the last answer — the requests, and the relay and the read model catching up with
them — divided by the enrollments answered. Unlike latency, it barely depends on what else the
machine runs, so two versions can be compared on a busy machine, back to back.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import psutil
from load import LOGS, Bench, Step, open_loop

from ops.chaos.platform import Platform


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--settle", type=float, default=3, help="seconds after the last answer, still counted")
    arguments = parser.parse_args()
    platform = Platform(logs=LOGS, replicas_per_service=1, pool_max=10, only=("enrollment",))
    await platform.start()
    try:
        bench = Bench(platform, arguments.seconds)
        try:
            await bench.open_program()
            await asyncio.sleep(2)  # the program's own events published and applied first
            [service] = [psutil.Process(replica.pid) for replica in platform.replicas["enrollment"]]
            step = Step("POST /programs/{id}/enrollments", arguments.rate)
            before, started = service.cpu_times(), time.perf_counter()
            await open_loop(arguments.rate, arguments.seconds, bench.enroll, step)
            await asyncio.sleep(arguments.settle)
            after = service.cpu_times()
        finally:
            await bench.http.aclose()
    finally:
        await platform.close()
    spent = (after.user - before.user) + (after.system - before.system)
    answered = len(step.latencies_ms)
    print(
        f"{answered} enrollments answered ({step.errors} errors) at {arguments.rate:.0f}/s in "
        f"{time.perf_counter() - started:.1f} s: the service's CPU {spent:.2f} s, "
        f"{spent * 1000 / max(1, answered):.2f} ms per enrollment (user {(after.user - before.user):.2f} s, "
        f"system {(after.system - before.system):.2f} s); answers p50 {step.percentile(0.5):.1f} ms, "
        f"p99 {step.percentile(0.99):.1f} ms",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
