"""A round from pool to pairings: pins, hard constraints, capacities, reasons for the unmatched, determinism."""

from __future__ import annotations

import random
from collections import Counter
from uuid import UUID

import numpy as np
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from tandem_pairing.domain import (
    PinRejection,
    Role,
    UnmatchedReason,
    Violation,
    assess,
    build_candidate_graph,
    greedy_assignment,
    match_round,
)

from .pools import Pool, junior, pools, senior, settings


@hypothesis_settings(max_examples=50, deadline=None)
@given(pool=pools(max_side=7, max_capacity=2), data=st.data())
def test_no_pairing_ever_breaks_a_hard_constraint_or_a_capacity(pool: Pool, data: st.DataObject) -> None:
    pins = _some_pins(pool, data)

    result = match_round(pool.everyone, pool.settings, forbidden=pool.forbidden, pins=pins, top_k=3)

    by_id = {c.participant_id: c for c in pool.everyone}
    for pairing in result.pairings:
        fit = assess(by_id[pairing.junior_id], by_id[pairing.senior_id], pool.settings, pool.forbidden)
        assert fit.feasible, fit.violations
    partners = Counter([p.junior_id for p in result.pairings] + [p.senior_id for p in result.pairings])
    assert all(partners[c.participant_id] <= c.capacity for c in pool.everyone)
    assert len({(p.junior_id, p.senior_id) for p in result.pairings}) == len(result.pairings)


@hypothesis_settings(max_examples=50, deadline=None)
@given(pool=pools(max_side=7, max_capacity=2), data=st.data())
def test_feasible_pins_within_capacity_are_always_honoured(pool: Pool, data: st.DataObject) -> None:
    pins = _some_pins(pool, data)

    result = match_round(pool.everyone, pool.settings, forbidden=pool.forbidden, pins=pins)

    pinned = {(p.junior_id, p.senior_id) for p in result.pairings if p.pinned}
    rejected = {(r.junior_id, r.senior_id) for r in result.rejected_pins}
    assert pinned | rejected == set(pins) and not pinned & rejected
    for rejection in result.rejected_pins:
        assert rejection.reason is not PinRejection.INFEASIBLE or rejection.violations


@hypothesis_settings(max_examples=50, deadline=None)
@given(pool=pools(max_side=7, max_capacity=2))
def test_everyone_left_out_is_told_why(pool: Pool) -> None:
    result = match_round(pool.everyone, pool.settings, forbidden=pool.forbidden)

    matched = {p.junior_id for p in result.pairings} | {p.senior_id for p in result.pairings}
    assert {u.participant_id for u in result.unmatched} == {c.participant_id for c in pool.everyone} - matched
    others = {Role.JUNIOR: pool.seniors, Role.SENIOR: pool.juniors}
    by_id = {c.participant_id: c for c in pool.everyone}
    for left_out in result.unmatched:
        person = by_id[left_out.participant_id]
        pairs = [(person, other) if person.role is Role.JUNIOR else (other, person) for other in others[person.role]]
        anyone_fits = any(assess(*pair, pool.settings, pool.forbidden).feasible for pair in pairs)
        assert left_out.reason is (UnmatchedReason.CAPACITY if anyone_fits else UnmatchedReason.NO_FEASIBLE_PARTNER)


@hypothesis_settings(max_examples=50, deadline=None)
@given(pool=pools(max_side=7, max_capacity=2), seed=st.integers(0, 1000))
def test_the_same_pool_gives_the_same_round_whatever_its_order(pool: Pool, seed: int) -> None:
    shuffled = list(pool.everyone)
    random.Random(seed).shuffle(shuffled)

    first = match_round(pool.everyone, pool.settings, forbidden=pool.forbidden)
    second = match_round(shuffled, pool.settings, forbidden=set(pool.forbidden))

    assert first == second


@hypothesis_settings(max_examples=50, deadline=None)
@given(pool=pools(max_side=7, max_capacity=2))
def test_the_round_total_is_never_below_greedy(pool: Pool) -> None:
    result = match_round(pool.everyone, pool.settings, forbidden=pool.forbidden)
    graph = build_candidate_graph(pool.juniors, pool.seniors, pool.settings, pool.forbidden)
    capacities = [np.array([c.capacity for c in side], dtype=np.int64) for side in (pool.juniors, pool.seniors)]

    greedy = graph.scores[greedy_assignment(graph, *capacities)]

    assert result.total_score >= greedy.sum() - 0.01 * len(greedy) - 1e-6


def test_a_pin_consumes_capacity_even_when_the_optimum_would_pair_differently() -> None:
    ana, bea = junior(skills_offered={"genai": 5}), junior()
    bob = senior(skills_wanted={"genai": 1})

    result = match_round([ana, bea, bob], settings(), pins=[(bea.participant_id, bob.participant_id)])

    assert [(p.junior_id, p.senior_id, p.pinned) for p in result.pairings] == [
        (bea.participant_id, bob.participant_id, True)
    ]
    assert [(u.participant_id, u.reason) for u in result.unmatched] == [(ana.participant_id, UnmatchedReason.CAPACITY)]


def test_pins_that_cannot_be_honoured_are_rejected_with_a_reason() -> None:
    boss = senior(employee_id="E-boss")
    report, other = junior(manager_employee_id="E-boss"), junior()
    withdrawn = junior()
    pins = [
        (report.participant_id, boss.participant_id),
        (withdrawn.participant_id, boss.participant_id),
        (other.participant_id, boss.participant_id),
    ]
    busy = senior()
    pins += [(other.participant_id, busy.participant_id)]  # `other` has capacity 1 and one of these pins wins

    result = match_round([boss, report, other, busy], settings(), pins=pins)

    reasons = {(r.junior_id, r.senior_id): (r.reason, r.violations) for r in result.rejected_pins}
    assert reasons[(report.participant_id, boss.participant_id)] == (PinRejection.INFEASIBLE, (Violation.MANAGER_LINE,))
    assert reasons[(withdrawn.participant_id, boss.participant_id)] == (PinRejection.NOT_IN_POOL, ())
    assert [r for r, _ in reasons.values()].count(PinRejection.OVER_CAPACITY) == 1


def test_someone_nobody_can_talk_to_has_no_feasible_partner() -> None:
    loner = junior(languages={"fi"})

    result = match_round([loner, junior(), senior()], settings())

    assert (loner.participant_id, UnmatchedReason.NO_FEASIBLE_PARTNER) in {
        (u.participant_id, u.reason) for u in result.unmatched
    }


def test_previous_partners_are_not_paired_again() -> None:
    ana, bob = junior(), senior()

    result = match_round([ana, bob], settings(), forbidden={(ana.participant_id, bob.participant_id)})

    assert result.pairings == ()
    assert {u.reason for u in result.unmatched} == {UnmatchedReason.NO_FEASIBLE_PARTNER}


def _some_pins(pool: Pool, data: st.DataObject) -> list[tuple[UUID, UUID]]:
    ids = st.sampled_from([c.participant_id for c in pool.everyone]) if pool.everyone else st.uuids()
    return data.draw(st.lists(st.tuples(ids, ids), max_size=4))
