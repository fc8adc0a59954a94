"""Each concept of pairing is defined once and imported everywhere: the score's components and their
default weights, why someone was left unmatched, how a pair of people is named."""

from __future__ import annotations

from datetime import date

from tandem_pairing.application import round_inputs
from tandem_pairing.domain import compatibility, events, program_rules, rounds, score
from tandem_pairing.domain.settings import PairingSettings


def test_the_score_components_and_their_default_weights_are_one_definition() -> None:
    components = list(score.ScoreComponents.model_fields)

    assert list(score.Weights.model_fields) == list(score.ScoreBreakdown.model_fields) == components
    assert events.Weights is score.Weights and events.ScoreBreakdown is score.ScoreBreakdown
    settings = PairingSettings(reference_week=date(2026, 3, 2))
    assert settings.weights == score.Weights() and isinstance(settings.max_points, score.Weights)
    assert compatibility.Compatibility.__annotations__["points"] == "ScoreBreakdown"


def test_one_reason_for_being_unmatched_and_one_name_for_a_pair() -> None:
    assert rounds.UnmatchedReason is events.UnmatchedReason
    assert program_rules.PairKey is compatibility.PairKey is round_inputs.PairKey
