"""Small-group suppression for figures derived from feedback, assessments and surveys.

A figure about fewer than `K` people is not shown ("fewer than 5"). Checking each answer alone is
not enough: two allowed answers can be subtracted (Finance minus Finance-in-Lyon is Finance
elsewhere, perhaps one person), and answers for several filters combined (department plus site,
minus program) can isolate someone too. So every such figure is answered only from *released
cells*:

1. Contributors are split into cells by the groups a filter can name, in a fixed order: role, then
   department, site, country. A cell holds its contributors' sums. The partition goes as deep in
   that order as the data allows (`partition_depth`: the deepest where at least 75% of the
   contributors are in released cells), the same for every query on those figures: a program of
   forty people may only split by role, a program of thousands by all four.
2. Cells of fewer than K people are pooled; while the pool is non-empty but under K, the smallest
   released cell joins it (complementary suppression), so the pool is empty or K people or more.
3. The whole program's figure is the sum of every cell (allowed when K people or more). A filtered
   figure is allowed only when it filters on the partition's groups and every cell it covers is
   released; it is then a sum of released cells.

Every answer is therefore a sum of released cells (or all of them, pool included), each of K people
or more: any sum or difference of answers is again a sum of whole cells, or the pool, never fewer
than K people. Dates do not narrow these figures (a window is another way to subtract), and job
level is not a cell dimension, so a figure filtered by it is suppressed.

What remains: answers taken at different times differ by whoever contributed in between; the
dashboard's figures move as people answer, as any live report does.

>>> cells = [Cell(("junior", "IT", "Lyon", "FR"), people=6, sums={"score": 24.0}), ...]
>>> answer(cells, {"department": "IT"})
Figure(people=6, sums={'score': 24.0})     # or SUPPRESSED
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "CELL_DIMENSIONS",
    "FEWER_THAN_K",
    "SUPPRESSED",
    "Cell",
    "Figure",
    "K",
    "Suppressed",
    "answer",
    "coarsen",
    "partition_depth",
    "released",
]

K = 5
FEWER_THAN_K = f"fewer than {K}"
CELL_DIMENSIONS = ("role", "department", "site", "country")


@dataclass(frozen=True)
class Cell:
    """The contributors of one group: how many people, and the sums of what they gave."""

    key: tuple[str | None, ...]  # one value per CELL_DIMENSIONS
    people: int
    sums: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    people: int
    sums: Mapping[str, float]

    def mean(self, name: str, over: str | None = None) -> float:
        """sums[name] / sums[over] (or / people)."""
        denominator = self.sums[over] if over else self.people
        return self.sums[name] / denominator if denominator else 0.0


@dataclass(frozen=True)
class Suppressed:
    reason: str = FEWER_THAN_K


SUPPRESSED = Suppressed()


def released(cells: Sequence[Cell], k: int = K) -> frozenset[tuple[str | None, ...]]:
    """The keys of the cells that may be summed into answers (see the module docstring)."""
    ordered = sorted(cells, key=lambda cell: (cell.people, tuple(str(part) for part in cell.key)))
    kept = [cell for cell in ordered if cell.people >= k]
    pool = sum(cell.people for cell in ordered if cell.people < k)
    while 0 < pool < k and kept:
        pool += kept.pop(0).people
    return frozenset(cell.key for cell in kept)


RELEASED_SHARE = 0.75


def coarsen(cells: Sequence[Cell], depth: int) -> list[Cell]:
    """The cells merged by their first `depth` groups (role; role and department; …)."""
    merged: dict[tuple[str | None, ...], tuple[int, dict[str, float]]] = {}
    for cell in cells:
        people, sums = merged.get(cell.key[:depth], (0, {}))
        for name, value in cell.sums.items():
            sums[name] = sums.get(name, 0.0) + value
        merged[cell.key[:depth]] = (people + cell.people, sums)
    return [Cell(key, people, sums) for key, (people, sums) in merged.items()]


def partition_depth(cells: Sequence[Cell], k: int = K) -> int:
    """How many of CELL_DIMENSIONS the released partition splits by (see the module docstring)."""
    total = sum(cell.people for cell in cells)
    for depth in range(len(CELL_DIMENSIONS), 0, -1):
        coarse = coarsen(cells, depth)
        kept = released(coarse, k)
        if total and sum(cell.people for cell in coarse if cell.key in kept) >= RELEASED_SHARE * total:
            return depth
    return 0


def answer(cells: Sequence[Cell], filters: Mapping[str, str | None], k: int = K) -> Figure | Suppressed:
    """The figure for the contributors matching `filters` (only CELL_DIMENSIONS), or SUPPRESSED."""
    depth = partition_depth(cells, k)
    usable = set(CELL_DIMENSIONS[:depth])
    if {name for name, value in filters.items() if value is not None} - usable:
        return SUPPRESSED  # a group the partition does not split by (or job level, dates): not exact
    cells = coarsen(cells, depth)
    wanted = {CELL_DIMENSIONS.index(name): value for name, value in filters.items() if value is not None}
    covered = [cell for cell in cells if all(cell.key[index] == value for index, value in wanted.items())]
    if wanted:
        allowed = released(cells, k)
        if any(cell.key not in allowed for cell in covered):
            return SUPPRESSED
    people = sum(cell.people for cell in covered)
    if people < k:
        return SUPPRESSED
    sums: dict[str, float] = {}
    for cell in covered:
        for name, value in cell.sums.items():
            sums[name] = sums.get(name, 0.0) + value
    return Figure(people, sums)
