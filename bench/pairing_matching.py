"""Benchmark of pairing rounds on synthetic, realistic pools: speed, memory and quality of the optimum.

    .venv/bin/python bench/pairing_matching.py --sizes 2000 4000 40000 --exact-max 4000

Each size runs in a fresh process so peak RSS belongs to that size alone. Columns: candidate-graph
build and min-cost-flow solve seconds, peak RSS, pairs and total score of the optimum, the greedy
total on the same graph and our ratio to it, and (up to --exact-max participants, capacity 1 only)
the exact dense optimum over every feasible pair and our ratio to it: what the top-K sparsification costs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date, time as clock
from uuid import UUID

import numpy as np

from tandem_pairing.domain import (
    AvailabilityWindow,
    Candidate,
    MeetingPreference,
    PairingSettings,
    Role,
    SitePreference,
    build_candidate_graph,
    exact_assignment,
    greedy_assignment,
    optimal_assignment,
)

ZONES = {  # time zone -> weight: a European company with offices abroad
    "Europe/Paris": 14, "Europe/London": 9, "Europe/Berlin": 9, "Europe/Madrid": 6, "Europe/Rome": 5,
    "Europe/Amsterdam": 4, "Europe/Brussels": 4, "Europe/Warsaw": 4, "Europe/Lisbon": 3, "Europe/Dublin": 3,
    "Europe/Stockholm": 2, "Europe/Helsinki": 2, "Europe/Athens": 2, "Europe/Istanbul": 2,
    "Europe/Bucharest": 2, "America/New_York": 4, "America/Chicago": 2, "America/Los_Angeles": 2,
    "America/Sao_Paulo": 2, "America/Toronto": 1, "Asia/Kolkata": 2, "Asia/Singapore": 2, "Asia/Tokyo": 1,
    "Asia/Dubai": 1, "Australia/Sydney": 1,
}
LANGUAGES = {"en": 0.9, "fr": 0.35, "de": 0.25, "es": 0.2, "it": 0.1, "pt": 0.08, "nl": 0.06, "pl": 0.05}
DIGITAL = [f"digital-{i:02}" for i in range(30)]  # generative AI, automation, social media...
EXPERIENCE = [f"experience-{i:02}" for i in range(30)]  # negotiation, leadership, stakeholders...
OBJECTIVES = [f"objective-{i}" for i in range(10)]
WEEK = date(2026, 3, 2)


def generate_pool(participants: int, seed: int) -> tuple[list[Candidate], set[tuple[UUID, UUID]]]:
    """A seeded pool, half juniors and half seniors, and its forbidden (previous partner) pairs."""
    rng = np.random.default_rng(seed)
    zones = list(ZONES)
    zone_weights = np.array(list(ZONES.values()), dtype=float) / sum(ZONES.values())
    sites = [(f"site-{i:02}", zones[i % len(zones)] if i < 10 else str(rng.choice(zones, p=zone_weights)))
             for i in range(15)]
    departments = [f"dept-{i:02}" for i in range(40)]
    department_weights = 1.0 / np.arange(1, 41) ** 0.7
    department_weights /= department_weights.sum()
    popularity = 1.0 / np.arange(1, 31) ** 0.8
    popularity /= popularity.sum()
    pool: list[Candidate] = []
    for n in range(participants):
        role = Role.JUNIOR if n % 2 == 0 else Role.SENIOR
        site, zone = sites[int(rng.integers(len(sites)))]
        if rng.random() < 0.1:  # remote workers live elsewhere
            zone = str(rng.choice(zones, p=zone_weights))
        teaches, learns = (DIGITAL, EXPERIENCE) if role is Role.JUNIOR else (EXPERIENCE, DIGITAL)
        offered = rng.choice(teaches, size=int(rng.integers(3, 7)), replace=False, p=popularity)
        wanted = rng.choice(learns, size=int(rng.integers(2, 5)), replace=False, p=popularity)
        offer_low = 2 if role is Role.JUNIOR else 3
        languages = {lang for lang, share in LANGUAGES.items() if rng.random() < share} or {"en"}
        pool.append(Candidate(
            participant_id=UUID(int=int(rng.integers(1 << 62)) << 32 | n),
            employee_id=f"E{n:06}",
            manager_employee_id=f"E{int(rng.integers(participants)):06}" if rng.random() < 0.8 else None,
            role=role,
            department=str(rng.choice(departments, p=department_weights)),
            site=site,
            time_zone=zone,
            languages=frozenset(languages),
            skills_offered={str(s): int(rng.integers(offer_low, 6)) for s in offered},
            skills_wanted={str(s): int(rng.integers(1, 4)) for s in wanted},
            objectives=frozenset(str(o) for o in rng.choice(OBJECTIVES, size=int(rng.integers(1, 4)), replace=False)),
            availability=_windows(rng),
            meeting_preference=MeetingPreference(str(rng.choice(["remote", "either", "in_person"], p=[0.4, 0.45, 0.15]))),
        ))
    juniors = [c for c in pool if c.role is Role.JUNIOR]
    seniors = [c for c in pool if c.role is Role.SENIOR]
    forbidden = {
        (j.participant_id, seniors[int(rng.integers(len(seniors)))].participant_id)
        for j in juniors if rng.random() < 0.3
    }
    return pool, forbidden


def _windows(rng: np.random.Generator) -> tuple[AvailabilityWindow, ...]:
    windows = []
    for day in rng.choice(5, size=int(rng.integers(2, 6)), replace=False):
        start = int(rng.integers(16, 34))  # half-hours: 08:00 to 16:30 local
        length = int(rng.integers(2, 7))  # one to three hours
        end = min(start + length, 47)
        windows.append(AvailabilityWindow(int(day), clock(start // 2, 30 * (start % 2)), clock(end // 2, 30 * (end % 2))))
    return tuple(windows)


def measure(participants: int, seed: int, top_k: int, exact_max: int) -> dict[str, float | int | None]:
    """Run one size end to end (pool -> candidate graph -> optimum) and the baselines on it."""
    pool, forbidden = generate_pool(participants, seed)
    settings = PairingSettings(reference_week=WEEK, session_minutes=45, site_preference=SitePreference.DIFFERENT)
    juniors = sorted((c for c in pool if c.role is Role.JUNIOR), key=lambda c: c.participant_id)
    seniors = sorted((c for c in pool if c.role is Role.SENIOR), key=lambda c: c.participant_id)
    junior_capacity = np.array([c.capacity for c in juniors], dtype=np.int64)
    senior_capacity = np.array([c.capacity for c in seniors], dtype=np.int64)

    started = time.perf_counter()
    graph = build_candidate_graph(juniors, seniors, settings, forbidden, top_k=top_k)
    built = time.perf_counter()
    chosen = optimal_assignment(graph, junior_capacity, senior_capacity)
    solved = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    total = float(graph.scores[chosen].sum())
    greedy = float(graph.scores[greedy_assignment(graph, junior_capacity, senior_capacity)].sum())
    exact = None
    if participants <= exact_max:
        full = build_candidate_graph(juniors, seniors, settings, forbidden, top_k=None)
        exact = float(full.scores[exact_assignment(full)].sum())
    return {
        "size": participants, "edges": graph.edge_count, "build_s": built - started, "solve_s": solved - built,
        "total_s": solved - started, "peak_mb": peak_mb, "matched": len(chosen), "total": total,
        "greedy": greedy, "exact": exact,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 4000, 40000])
    parser.add_argument("--top-k", type=int, default=40)
    parser.add_argument("--exact-max", type=int, default=4000, help="largest size to solve densely as well")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.seed, args.top_k, args.exact_max)))
        return
    header = (f"{'size':>7} {'edges':>9} {'build s':>8} {'solve s':>8} {'total s':>8} {'peak MB':>8} "
              f"{'matched':>8} {'score':>11} {'greedy':>11} {'/greedy':>8} {'exact':>11} {'/exact':>7}")
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        command = [sys.executable, __file__, "--one", str(size), "--seed", str(args.seed),
                   "--top-k", str(args.top_k), "--exact-max", str(args.exact_max)]
        row = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        exact = f"{row['exact']:>11.1f} {row['total'] / row['exact']:>7.2%}" if row["exact"] else f"{'-':>11} {'-':>7}"
        print(f"{row['size']:>7} {row['edges']:>9} {row['build_s']:>8.2f} {row['solve_s']:>8.2f} "
              f"{row['total_s']:>8.2f} {row['peak_mb']:>8.0f} {row['matched']:>8} {row['total']:>11.1f} "
              f"{row['greedy']:>11.1f} {row['total'] / row['greedy']:>8.2%} {exact}")


if __name__ == "__main__":
    main()
