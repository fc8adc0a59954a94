"""The score and feasibility of a block of juniors against every senior, all pairs at once.

Mirrors `compatibility.assess` component by component (in float32, so to about 1e-4 points); a test
holds the two together. Operations run in place on block-sized arrays to keep memory flat.
"""

from __future__ import annotations

import numpy as np

from tandem_pairing.domain._features import Flags, Matrix, PoolFeatures
from tandem_pairing.domain.compatibility import FULL_MARKS_SESSIONS
from tandem_pairing.domain.settings import PairingSettings, SitePreference


class BlockScorer:
    """Scores juniors[start:stop] against all seniors of an encoded pool."""

    def __init__(self, features: PoolFeatures, settings: PairingSettings) -> None:
        self._features = features
        self._juniors = features.juniors
        self._seniors = seniors = features.seniors
        self._top = top = settings.max_points
        self._session_minutes = settings.session_minutes
        self._site_preference = settings.site_preference
        # Senior operands are transposed once and kept contiguous, so every block is one BLAS call each.
        self._senior_minutes = np.ascontiguousarray((seniors.availability * features.segment_minutes).T)
        self._senior_languages = np.ascontiguousarray(seniors.languages.T)
        self._senior_objectives = np.ascontiguousarray(seniors.objectives.T)
        self._senior_wants = np.ascontiguousarray(seniors.want_values.T)
        self._senior_offers = np.ascontiguousarray(seniors.offers.T)
        self._senior_learner_points = (seniors.learner_scale * top.junior_teaches).astype(np.float32)
        self._minute_points = np.float32(top.availability / (FULL_MARKS_SESSIONS * settings.session_minutes))

    def score(self, start: int, stop: int) -> tuple[Matrix, Flags]:
        """Scores (0-100) and hard-constraint feasibility of juniors[start:stop] x seniors."""
        juniors, seniors, top = self._juniors, self._seniors, self._top
        rows = slice(start, stop)

        total = juniors.availability[rows] @ self._senior_minutes  # overlap minutes, for now
        feasible = total >= self._session_minutes
        feasible &= (juniors.languages[rows] @ self._senior_languages) > 0
        self._exclude_by_identity(feasible, start, stop)
        total *= self._minute_points
        np.minimum(total, np.float32(top.availability), out=total)

        if top.junior_teaches:
            taught = juniors.offers[rows] @ self._senior_wants
            taught *= self._senior_learner_points
            total += np.minimum(taught, np.float32(top.junior_teaches), out=taught)
        if top.senior_teaches:
            taught = juniors.want_values[rows] @ self._senior_offers
            taught *= (juniors.learner_scale[rows] * np.float32(top.senior_teaches))[:, None]
            total += np.minimum(taught, np.float32(top.senior_teaches), out=taught)
        if top.shared_objectives:
            shared = juniors.objectives[rows] @ self._senior_objectives
            shared /= np.minimum(juniors.objective_count[rows, None], seniors.objective_count[None, :])
            shared *= np.float32(top.shared_objectives)
            total += shared
        if top.different_departments:
            across = juniors.departments[rows, None] != seniors.departments[None, :]
            np.add(total, np.float32(top.different_departments), out=total, where=across)
        same_site = juniors.sites[rows, None] == seniors.sites[None, :]
        if top.site and self._site_preference is not SitePreference.INDIFFERENT:
            site_fits = same_site if self._site_preference is SitePreference.SAME else ~same_site
            np.add(total, np.float32(top.site), out=total, where=site_fits)
        if top.meeting_mode:
            in_person = np.logical_and.outer(juniors.in_person[rows], seniors.in_person)
            in_person &= same_site
            in_person |= np.logical_and.outer(juniors.remote[rows], seniors.remote)
            np.add(total, np.float32(top.meeting_mode), out=total, where=in_person)
        return total, feasible

    def _exclude_by_identity(self, feasible: Flags, start: int, stop: int) -> None:
        excluded_juniors = self._features.excluded_juniors
        low, high = np.searchsorted(excluded_juniors, (start, stop))
        feasible[excluded_juniors[low:high] - start, self._features.excluded_seniors[low:high]] = False
