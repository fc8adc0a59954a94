"""How pairing reacts to evaluation: a pair found not to fit (`PairFitFailed`) ends as
`not_a_good_fit`, and HR's rules forbid the two as partners, so no round pairs them again (they are
previous partners too, but the forbidden pair is what HR sees and can lift). Both are then free for
the next incremental round, with other people.

Both changes run in the consumer's transaction: a redelivered message changes nothing twice (an
ended pair is not ended again, a forbidden pair not forbidden twice).
"""

from __future__ import annotations

import logging

import asyncpg
from tandem_kernel.commands import execute
from tandem_kernel.consumers import Subscription
from tandem_kernel.errors import InvalidTransition
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.store import EventStore

from tandem_pairing.application.streams import PAIRS, SETTINGS
from tandem_pairing.consumed.evaluation import (
    EVALUATION_IGNORED_TYPES,
    EVALUATION_TOPIC,
    PairFitFailed,
    evaluation_registry,
)
from tandem_pairing.domain.events import EndReason
from tandem_pairing.domain.pair import Pair, PairStatus, decide_end
from tandem_pairing.domain.program_rules import decide_forbid

__all__ = ["SUBSCRIPTION_NAME", "fit_subscription"]

log = logging.getLogger("tandem.pairing.fit")

SUBSCRIPTION_NAME = "pairing.fit"
ACTOR = "pairing"


def fit_subscription(store: EventStore) -> Subscription:
    """The consumer of evaluation's topic that re-pairs the people of a pair that does not fit."""

    async def fit_failed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, PairFitFailed)
        metadata, now = envelope.caused(actor=ACTOR), envelope.occurred_at

        def end(pair: Pair | None) -> list[DomainEvent]:
            if pair is None or pair.status is not PairStatus.ACTIVE:
                return []  # ended meanwhile (a departure, a rotation) or redelivered: nothing left to end
            return decide_end(pair, EndReason.NOT_A_GOOD_FIT, now=now)

        await execute(store, PAIRS, event.pair_id, end, occurred_at=now, metadata=metadata, connection=connection)
        try:
            await execute(
                store,
                SETTINGS,
                event.program_id,
                lambda rules: decide_forbid(rules, event.program_id, event.junior_id, event.senior_id),
                occurred_at=now,
                metadata=metadata,
                connection=connection,
            )
        except InvalidTransition as refused:  # HR pinned them: HR's pin stands, and they are previous partners
            log.warning("pair %s does not fit but stays allowed: %s", event.pair_id, refused)

    return Subscription(
        SUBSCRIPTION_NAME,
        (EVALUATION_TOPIC,),
        evaluation_registry(),
        {PairFitFailed: fit_failed},
        ignored_types=EVALUATION_IGNORED_TYPES,
    )
