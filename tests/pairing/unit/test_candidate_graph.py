"""The candidate graph scores whole pools at once: it must agree with `assess`, pair by pair."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from tandem_pairing.domain import Candidate, CandidateGraph, SitePreference, assess, build_candidate_graph

from .pools import Pool, junior, pools, senior, settings, window

ALWAYS = tuple(window(day, "00:00", "00:00") for day in range(7))


@hypothesis_settings(max_examples=50, deadline=None)
@given(pool=pools())
def test_vectorised_scores_and_feasibility_equal_the_per_pair_assessment(pool: Pool) -> None:
    graph = build_candidate_graph(pool.juniors, pool.seniors, pool.settings, pool.forbidden, top_k=None)

    expected = {
        (j, s): fit.score
        for j, a in enumerate(pool.juniors)
        for s, b in enumerate(pool.seniors)
        if (fit := assess(a, b, pool.settings, pool.forbidden)).feasible
    }
    edges = dict(
        zip(zip(graph.juniors.tolist(), graph.seniors.tolist(), strict=True), graph.scores.tolist(), strict=True)
    )
    assert edges.keys() == expected.keys()
    for pair, score in expected.items():
        assert edges[pair] == pytest.approx(score, abs=1e-3)
    assert graph.junior_feasible.tolist() == [sum(j == a for a, _ in expected) for j in range(len(pool.juniors))]
    assert graph.senior_feasible.tolist() == [sum(s == b for _, b in expected) for s in range(len(pool.seniors))]


@hypothesis_settings(max_examples=50, deadline=None)
@given(pool=pools(), site_preference=st.sampled_from(SitePreference))
def test_vectorised_scores_equal_the_per_pair_scores_when_every_pair_is_feasible(
    pool: Pool, site_preference: SitePreference
) -> None:
    # Same pool, but everyone speaks English and is always free: every pair's score is compared.
    juniors = [junior(**_profile(c)) for c in pool.juniors]
    seniors = [senior(**_profile(c)) for c in pool.seniors]
    program = settings(weights=pool.settings.weights, site_preference=site_preference)

    graph = build_candidate_graph(juniors, seniors, program, top_k=None)

    assert graph.edge_count == len(juniors) * len(seniors)
    for j, s, score in zip(graph.juniors, graph.seniors, graph.scores, strict=True):
        assert score == pytest.approx(assess(juniors[j], seniors[s], program).score, abs=1e-3)


@hypothesis_settings(max_examples=50, deadline=None)
@given(pool=pools(max_side=9), top_k=st.integers(0, 4))
def test_the_graph_keeps_each_persons_best_feasible_partners(pool: Pool, top_k: int) -> None:
    full = build_candidate_graph(pool.juniors, pool.seniors, pool.settings, pool.forbidden, top_k=None)
    sparse = build_candidate_graph(pool.juniors, pool.seniors, pool.settings, pool.forbidden, top_k=top_k)

    assert_keeps_the_best(full, sparse, top_k)


def test_scoring_juniors_in_many_blocks_keeps_the_best_of_everyone() -> None:
    rng = np.random.default_rng(3)
    skills = ["genai", "excel", "social", "negotiation"]

    def person(make: Callable[..., Candidate], i: int) -> Candidate:
        return make(
            skills_offered={str(s): int(rng.integers(1, 6)) for s in rng.choice(skills, 2, replace=False)},
            skills_wanted={str(s): int(rng.integers(1, 6)) for s in rng.choice(skills, 2, replace=False)},
            department=f"d{i % 7}",
            languages={"en"} if i % 5 else {"fr"},
            availability=(
                window(int(rng.integers(0, 5)), "09:00", "12:00"),
                *([window(2, "14:00", "15:00")] * (i % 3)),
            ),
        )

    juniors = [person(junior, i) for i in range(1500)]  # three blocks, and seniors' best found across them
    seniors = [person(senior, i) for i in range(60)]
    full = build_candidate_graph(juniors, seniors, settings(), top_k=None)
    sparse = build_candidate_graph(juniors, seniors, settings(), top_k=5)

    assert_keeps_the_best(full, sparse, 5)
    for j, s, score in zip(sparse.juniors[::97], sparse.seniors[::97], sparse.scores[::97], strict=True):
        assert score == pytest.approx(assess(juniors[j], seniors[s], settings()).score, abs=1e-3)


def assert_keeps_the_best(full: CandidateGraph, sparse: CandidateGraph, top_k: int) -> None:
    """Everyone's partners strictly better than their k-th best are kept (ties at the k-th may go either way)."""
    kept = set(zip(sparse.juniors.tolist(), sparse.seniors.tolist(), strict=True))
    assert kept <= set(zip(full.juniors.tolist(), full.seniors.tolist(), strict=True))
    for side, other in ((full.juniors, full.seniors), (full.seniors, full.juniors)):
        for person in np.unique(side):
            scores = np.sort(full.scores[side == person])[::-1]
            kth_best = scores[min(top_k, len(scores)) - 1] if top_k else np.inf
            better = other[(side == person) & (full.scores > kth_best + 1e-4)].tolist()
            assert {(person, o) if side is full.juniors else (o, person) for o in better} <= kept
    assert sparse.junior_feasible.tolist() == full.junior_feasible.tolist()
    assert sparse.senior_feasible.tolist() == full.senior_feasible.tolist()


def _profile(candidate: Candidate) -> dict[str, object]:
    fields = ("skills_offered", "skills_wanted", "objectives", "department", "site", "meeting_preference")
    return {name: getattr(candidate, name) for name in fields} | {"availability": ALWAYS}
