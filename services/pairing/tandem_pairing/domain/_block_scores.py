"""The score and feasibility of a block of juniors against every senior, all pairs at once.

Computes what `compatibility.assess` computes, in float32 (to about 1e-4 points); a test holds the
two together. Three matrix products do nearly all the work (see `_features`).

Block-sized arrays are tens of megabytes: allocating fresh ones per block means fresh pages from the
operating system each time, which costs as much as the arithmetic. So the scorer writes into buffers
it owns, and what `score` returns is only valid until its next call.
"""

from __future__ import annotations

import numpy as np

from tandem_pairing.domain._features import Flags, Matrix, PoolFeatures
from tandem_pairing.domain.compatibility import FULL_MARKS_SESSIONS
from tandem_pairing.domain.settings import PairingSettings


class BlockScorer:
    """Scores up to `block_rows` juniors at a time against all seniors of an encoded pool."""

    def __init__(self, features: PoolFeatures, settings: PairingSettings, block_rows: int) -> None:
        self._features = features
        # Senior operands are transposed once and kept contiguous: each block is then plain BLAS calls.
        self._senior_affinity = np.ascontiguousarray(features.seniors.affinity.T)
        self._senior_languages = np.ascontiguousarray(features.seniors.languages.T)
        self._senior_minutes = np.ascontiguousarray(features.seniors.availability.T)
        self._session_minutes = np.float32(settings.session_minutes)
        self._availability_points = np.float32(settings.max_points.availability)
        self._points_per_minute = np.float32(
            settings.max_points.availability / (FULL_MARKS_SESSIONS * settings.session_minutes)
        )
        shape = (block_rows, len(features.seniors.affinity))
        self._scores = np.empty(shape, dtype=np.float32)
        self._overlap = np.empty(shape, dtype=np.float32)
        self._feasible = np.empty(shape, dtype=np.bool_)
        self._condition = np.empty(shape, dtype=np.bool_)

    def score(self, start: int, stop: int) -> tuple[Matrix, Flags]:
        """Scores (0-100) and hard-constraint feasibility of juniors[start:stop] x seniors.

        Both arrays are the scorer's own buffers: valid until the next call, free to overwrite.
        """
        juniors, rows = self._features.juniors, stop - start
        overlap, scores = self._overlap[:rows], self._scores[:rows]
        feasible, condition = self._feasible[:rows], self._condition[:rows]

        np.matmul(juniors.languages[start:stop], self._senior_languages, out=scores)  # shared languages
        np.greater(scores, 0, out=feasible)
        np.matmul(juniors.availability[start:stop], self._senior_minutes, out=overlap)
        feasible &= np.greater_equal(overlap, self._session_minutes, out=condition)
        self._exclude_by_identity(feasible, start, stop)

        overlap *= self._points_per_minute
        np.minimum(overlap, self._availability_points, out=overlap)
        np.matmul(juniors.affinity[start:stop], self._senior_affinity, out=scores)
        scores += overlap
        return scores, feasible

    def _exclude_by_identity(self, feasible: Flags, start: int, stop: int) -> None:
        excluded_juniors = self._features.excluded_juniors
        low, high = np.searchsorted(excluded_juniors, (start, stop))
        feasible[excluded_juniors[low:high] - start, self._features.excluded_seniors[low:high]] = False
