"""Benchmark of pairing rounds on synthetic, realistic pools: speed, memory and quality of the optimum.

    .venv/bin/python bench/pairing_matching.py --sizes 2000 4000 40000 --exact-max 4000

Each size runs in a fresh process so peak RSS belongs to that size alone. Columns: edges in the
candidate graph; seconds to build it (encoding and scoring included) and to solve the min-cost flow;
seconds for `match_round` end to end (pool in, pairings and reasons out); peak RSS; pairs, participants
left alone and total score of the round; the greedy total on the same graph and our ratio to it; and
(up to --exact-max participants, capacity 1 only) the exact dense optimum over every feasible pair and
our ratio to it, which is what keeping only each person's top-K partners costs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date
from datetime import time as clock
from typing import Any
from uuid import UUID

import numpy as np
from numpy.typing import NDArray
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
    match_round,
    optimal_assignment,
)

ZONES = {  # time zone -> weight: a European company with offices abroad
    "Europe/Paris": 14,
    "Europe/London": 9,
    "Europe/Berlin": 9,
    "Europe/Madrid": 6,
    "Europe/Rome": 5,
    "Europe/Amsterdam": 4,
    "Europe/Brussels": 4,
    "Europe/Warsaw": 4,
    "Europe/Lisbon": 3,
    "Europe/Dublin": 3,
    "Europe/Stockholm": 2,
    "Europe/Helsinki": 2,
    "Europe/Athens": 2,
    "Europe/Istanbul": 2,
    "Europe/Bucharest": 2,
    "America/New_York": 4,
    "America/Chicago": 2,
    "America/Los_Angeles": 2,
    "America/Sao_Paulo": 2,
    "America/Toronto": 1,
    "Asia/Kolkata": 2,
    "Asia/Singapore": 2,
    "Asia/Tokyo": 1,
    "Asia/Dubai": 1,
    "Australia/Sydney": 1,
}
LANGUAGES = {"en": 0.9, "fr": 0.35, "de": 0.25, "es": 0.2, "it": 0.1, "pt": 0.08, "nl": 0.06, "pl": 0.05}
DIGITAL = [f"digital-{i:02}" for i in range(30)]  # generative AI, automation, social media...
EXPERIENCE = [f"experience-{i:02}" for i in range(30)]  # negotiation, leadership, stakeholders...
OBJECTIVES = [f"objective-{i}" for i in range(10)]
WEEK = date(2026, 3, 2)


def generate_pool(
    participants: int, seed: int, senior_capacity_share: float = 0.0
) -> tuple[list[Candidate], set[tuple[UUID, UUID]]]:
    """A seeded pool, half juniors and half seniors, and its forbidden (previous partner) pairs.

    Draws are vectorised per attribute: a 40,000-person pool takes seconds, not a minute.
    """
    rng = np.random.default_rng(seed)
    n = participants
    zones = np.array(list(ZONES))
    zone_weights = np.array(list(ZONES.values()), dtype=float) / sum(ZONES.values())
    site_zones = np.concatenate([zones[:10], rng.choice(zones, size=5, p=zone_weights)])  # 15 sites
    site = rng.integers(len(site_zones), size=n)
    remote_worker = rng.random(n) < 0.1  # they live elsewhere than their site
    zone = np.where(remote_worker, rng.choice(zones, size=n, p=zone_weights), site_zones[site])
    department = rng.choice(40, size=n, p=_zipf(40, 0.7))
    spoken = rng.random((n, len(LANGUAGES))) < np.array(list(LANGUAGES.values()))
    spoken[~spoken.any(axis=1), 0] = True  # nobody speaks nothing: English it is
    manager = np.where(rng.random(n) < 0.8, rng.integers(n, size=n), -1)
    mode = rng.choice(["remote", "either", "in_person"], size=n, p=[0.4, 0.45, 0.15])
    popular_skills = _ranked_draws(rng, n, _zipf(30, 0.8))  # each row: skills, most wanted/offered first
    popular_wants = _ranked_draws(rng, n, _zipf(30, 0.8))
    objectives = _ranked_draws(rng, n, np.full(len(OBJECTIVES), 1 / len(OBJECTIVES)))
    offered_count, wanted_count = rng.integers(3, 7, size=n), rng.integers(2, 5, size=n)
    objective_count = rng.integers(1, 4, size=n)
    levels = rng.integers(1, 6, size=(n, 12))
    ids = rng.integers(1 << 62, size=n)
    languages = list(LANGUAGES)

    pool: list[Candidate] = []
    for i in range(n):
        role = Role.JUNIOR if i % 2 == 0 else Role.SENIOR
        teaches, learns = (DIGITAL, EXPERIENCE) if role is Role.JUNIOR else (EXPERIENCE, DIGITAL)
        offer_floor = 2 if role is Role.JUNIOR else 3  # seniors are experts in what they offer
        pool.append(
            Candidate(
                participant_id=UUID(int=int(ids[i]) << 32 | i),
                employee_id=f"E{i:06}",
                manager_employee_id=f"E{manager[i]:06}" if manager[i] >= 0 else None,
                role=role,
                department=f"dept-{department[i]:02}",
                site=f"site-{site[i]:02}",
                time_zone=str(zone[i]),
                languages=frozenset(lang for lang, speaks in zip(languages, spoken[i], strict=True) if speaks),
                skills_offered={
                    teaches[s]: max(offer_floor, int(levels[i, k]))
                    for k, s in enumerate(popular_skills[i, : offered_count[i]])
                },
                skills_wanted={  # learners start low
                    learns[s]: min(3, int(levels[i, 6 + k])) for k, s in enumerate(popular_wants[i, : wanted_count[i]])
                },
                objectives=frozenset(OBJECTIVES[o] for o in objectives[i, : objective_count[i]]),
                availability=_windows(rng),
                meeting_preference=MeetingPreference(str(mode[i])),
                capacity=2 if role is Role.SENIOR and rng.random() < senior_capacity_share else 1,
            )
        )
    juniors = [c for c in pool if c.role is Role.JUNIOR]
    seniors = [c for c in pool if c.role is Role.SENIOR]
    previous = rng.integers(len(seniors), size=len(juniors))
    had_partner = rng.random(len(juniors)) < 0.3
    forbidden = {
        (j.participant_id, seniors[previous[k]].participant_id) for k, j in enumerate(juniors) if had_partner[k]
    }
    return pool, forbidden


def _zipf(size: int, exponent: float) -> NDArray[np.float64]:
    weights = np.arange(1, size + 1, dtype=np.float64) ** -exponent
    normalised: NDArray[np.float64] = weights / weights.sum()
    return normalised


def _ranked_draws(rng: np.random.Generator, rows: int, weights: NDArray[np.float64]) -> NDArray[np.int64]:
    """Per row, every item in a weighted random order without replacement (Gumbel top-k)."""
    keys = np.log(weights) + rng.gumbel(size=(rows, len(weights)))
    return np.argsort(-keys, axis=1)


def _windows(rng: np.random.Generator) -> tuple[AvailabilityWindow, ...]:
    windows = []
    for day in rng.permutation(5)[: int(rng.integers(2, 6))]:
        start = int(rng.integers(16, 34))  # half-hours: 08:00 to 16:30 local
        end = min(start + int(rng.integers(2, 7)), 47)  # one to three hours
        windows.append(
            AvailabilityWindow(int(day), clock(start // 2, 30 * (start % 2)), clock(end // 2, 30 * (end % 2)))
        )
    return tuple(windows)


def measure(participants: int, seed: int, top_k: int, exact_max: int, capacity_share: float) -> dict[str, Any]:
    """Run one size: the round end to end, its two stages apart, and the baselines on the same graph."""
    pool, forbidden = generate_pool(participants, seed, capacity_share)
    settings = PairingSettings(reference_week=WEEK, session_minutes=45, site_preference=SitePreference.DIFFERENT)

    started = time.perf_counter()
    result = match_round(pool, settings, forbidden=forbidden, top_k=top_k)
    round_s = time.perf_counter() - started

    juniors = sorted((c for c in pool if c.role is Role.JUNIOR), key=lambda c: c.participant_id)
    seniors = sorted((c for c in pool if c.role is Role.SENIOR), key=lambda c: c.participant_id)
    junior_capacity = np.array([c.capacity for c in juniors], dtype=np.int64)
    senior_capacity = np.array([c.capacity for c in seniors], dtype=np.int64)
    started = time.perf_counter()
    graph = build_candidate_graph(juniors, seniors, settings, forbidden, top_k=top_k)
    built = time.perf_counter()
    optimal_assignment(graph, junior_capacity, senior_capacity)  # timed only: the round made the same choice
    solved = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    greedy = float(graph.scores[greedy_assignment(graph, junior_capacity, senior_capacity)].sum())
    exact = None
    if participants <= exact_max and capacity_share == 0:  # the dense exact optimum knows capacity 1 only
        full = build_candidate_graph(juniors, seniors, settings, forbidden, top_k=None)
        exact = float(full.scores[exact_assignment(full)].sum())
    return {
        "size": participants,
        "edges": graph.edge_count,
        "build_s": built - started,
        "solve_s": solved - built,
        "round_s": round_s,
        "peak_mb": peak_mb,
        "pairs": len(result.pairings),
        "unmatched": len(result.unmatched),
        "total": result.total_score,
        "greedy": greedy,
        "exact": exact,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 4000, 40000])
    parser.add_argument("--top-k", type=int, default=40)
    parser.add_argument("--exact-max", type=int, default=4000, help="largest size to solve densely as well")
    parser.add_argument("--senior-capacity-share", type=float, default=0.0, help="share of seniors taking two juniors")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size, print JSON
    args = parser.parse_args()
    if args.one:
        row = measure(args.one, args.seed, args.top_k, args.exact_max, args.senior_capacity_share)
        print(json.dumps(row))
        return
    print(f"top_k={args.top_k} seed={args.seed} senior capacity 2 for {args.senior_capacity_share:.0%}")
    header = (
        f"{'size':>7} {'edges':>9} {'build s':>8} {'solve s':>8} {'round s':>8} {'peak MB':>8} {'pairs':>6} "
        f"{'alone':>6} {'score':>11} {'greedy':>11} {'/greedy':>8} {'exact':>11} {'/exact':>7}"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        options = ["--seed", args.seed, "--top-k", args.top_k, "--exact-max", args.exact_max]
        options += ["--senior-capacity-share", args.senior_capacity_share]
        command = [sys.executable, __file__, "--one", str(size), *map(str, options)]
        row = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        exact = f"{row['exact']:>11.1f} {row['total'] / row['exact']:>7.2%}" if row["exact"] else f"{'-':>11} {'-':>7}"
        print(
            f"{row['size']:>7} {row['edges']:>9} {row['build_s']:>8.2f} {row['solve_s']:>8.2f} {row['round_s']:>8.2f} "
            f"{row['peak_mb']:>8.0f} {row['pairs']:>6} {row['unmatched']:>6} {row['total']:>11.1f} "
            f"{row['greedy']:>11.1f} {row['total'] / row['greedy']:>8.2%} {exact}"
        )


if __name__ == "__main__":
    main()
