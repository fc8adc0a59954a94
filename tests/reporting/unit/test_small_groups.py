"""Figures from feedback, assessments and surveys never describe fewer than 5 people, alone or by
subtracting two allowed answers, for any combination of filters (checked against the people behind
each answer, not against the suppression code)."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st
from tandem_reporting.domain.privacy import CELL_DIMENSIONS, Cell, Figure, K, Suppressed, answer, partition_depth

VALUES = {
    "role": ("junior", "senior"),
    "department": ("IT", "HR", "Sales"),
    "site": ("Lyon", "Paris"),
    "country": ("FR",),
}
Person = tuple[str, str, str, str, float]  # role, department, site, country, score


def cells_of(people: list[Person]) -> list[Cell]:
    grouped: dict[tuple[str, ...], list[float]] = {}
    for *key, score in people:
        grouped.setdefault(tuple(key), []).append(score)
    return [Cell(key, len(scores), {"score": sum(scores)}) for key, scores in grouped.items()]


def every_filter() -> list[dict[str, str | None]]:
    options = [(None, *VALUES[name]) for name in CELL_DIMENSIONS]
    return [dict(zip(CELL_DIMENSIONS, combination, strict=True)) for combination in itertools.product(*options)]


def members(people: list[Person], filters: dict[str, str | None]) -> frozenset[int]:
    return frozenset(
        index
        for index, person in enumerate(people)
        if all(value is None or person[CELL_DIMENSIONS.index(name)] == value for name, value in filters.items())
    )


def test_finance_minus_finance_in_lyon_does_not_single_out_the_one_person_elsewhere() -> None:
    # Six in IT: five in Lyon, one in Paris, whose score the attacker wants.
    people: list[Person] = [("junior", "IT", "Lyon", "FR", 4.0)] * 5 + [("junior", "IT", "Paris", "FR", 1.0)]
    people += [("senior", "HR", "Lyon", "FR", 3.0)] * 7
    cells = cells_of(people)

    department = answer(cells, {"department": "IT"})
    department_and_site = answer(cells, {"department": "IT", "site": "Lyon"})

    allowed = [a for a in (department, department_and_site) if isinstance(a, Figure)]
    assert len(allowed) < 2, "one of the two must be suppressed, or their difference is one person's score"
    assert isinstance(answer(cells, {}), Figure)  # the whole program still answers


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=3, max_value=60))
def test_no_two_allowed_answers_differ_by_fewer_than_k_people(seed: int, size: int) -> None:
    rng = random.Random(seed)
    people: list[Person] = [
        (*(rng.choice(VALUES[name]) for name in CELL_DIMENSIONS), float(rng.randint(1, 5)))  # type: ignore[misc]
        for _ in range(size)
    ]
    cells = cells_of(people)
    allowed = []
    for filters in every_filter():
        figure = answer(cells, filters)
        group = members(people, filters)
        if isinstance(figure, Figure):
            assert figure.people == len(group) >= K
            assert figure.sums["score"] == sum(people[i][4] for i in group)
            allowed.append(group)
        else:
            assert isinstance(figure, Suppressed)

    for first, second in itertools.combinations(set(allowed), 2):
        if second < first or first < second:  # nested: the difference is a group of its own
            assert len(first ^ second) >= K


def test_the_partition_splits_as_deep_as_the_groups_are_large() -> None:
    small = [("junior", "IT", "Lyon", "FR", 3.0)] * 3 + [("junior", "HR", "Paris", "FR", 3.0)] * 3
    small += [("senior", "IT", "Lyon", "FR", 3.0)] * 2 + [("senior", "HR", "Paris", "FR", 3.0)] * 4
    large = [(role, department, "Lyon", "FR", 3.0) for role in VALUES["role"] for department in ("IT", "HR")] * 5

    assert partition_depth(cells_of(small)) == 1  # by role only: 6 and 6
    assert isinstance(answer(cells_of(small), {"role": "senior"}), Figure)
    assert isinstance(answer(cells_of(small), {"department": "IT"}), Suppressed)
    assert partition_depth(cells_of(large)) == 4
    assert isinstance(answer(cells_of(large), {"department": "IT", "site": "Lyon"}), Figure)
