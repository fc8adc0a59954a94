"""Decoding events read back, the ways the kernel can, in one process: CPU time per event.

    .venv/bin/python bench/decoding.py            # 2,000 of each, best of 7 rounds, a few seconds
    .venv/bin/python bench/decoding.py --events 500

No database: what the read models' catch-up and rebuild spend in Python per event, compared within
one run (each way timed in turn, the best round kept), so that the figures hold on a busy machine:

- enrollment's `ParticipantEnrolled` (the whole profile) from its stored JSON, validated in full as
  wire input is, and trusted as the store reads its own events (`EventRegistry.decode_stored`), then
  from a parsed dict (the path of events whose personal fields the store opened first);
- the envelopes reporting retains in its inbox (the mix of `bench/reporting.py`, enrollments with
  sealed fields), by the general path (`json.loads` and `envelope_from_document`: header, payload,
  envelope) and in one pass (`envelope_from_retained`).

Stdout is the markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from reporting import START, history
from tandem_enrollment.domain.events import ENROLLMENT_EVENTS, ParticipantEnrolled
from tandem_enrollment.entrypoints.demo import sample_people
from tandem_kernel.events import EventRegistry
from tandem_reporting.application import subscriptions


def best_of(rounds: int, ways: dict[str, Callable[[Any], object]], inputs: Sequence[Any]) -> dict[str, float]:
    """Each way's best CPU time per input, in µs, the ways timed in turn in every round."""
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(rounds):
        for name, way in ways.items():
            started = time.process_time()
            for item in inputs:
                way(item)
            best[name] = min(best[name], time.process_time() - started)
    return {name: seconds / len(inputs) * 1e6 for name, seconds in best.items()}


def enrolled(count: int) -> list[str]:
    """Stored payloads of `count` enrollments, as the store writes them."""
    registry = EventRegistry(ENROLLMENT_EVENTS)
    stored = []
    for person in sample_people(count):
        fields = {name: value for name, value in person.items() if name != "consent"}
        event = ParticipantEnrolled.model_validate(
            {**fields, "participant_id": uuid.uuid4(), "program_id": uuid.uuid4(), "enrolled_at": datetime.now(UTC)}
        )
        stored.append(json.dumps(registry.encode(event)))
    return stored


def retained(participants: int) -> list[str]:
    """Inbox rows' texts for the history of `participants` people, as `InboxSource` reads them."""
    versions: dict[str, int] = {}
    texts = []
    for position, (_, event_type, stream, payload) in enumerate(history(participants), start=1):
        versions[stream] = versions.get(stream, 0) + 1
        envelope = {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "event_version": 1,
            "stream_id": stream,
            "stream_version": versions[stream],
            "position": position,
            "transaction_id": 1000 + position,
            "occurred_at": START.isoformat(),
            "payload": payload,
        }
        texts.append(json.dumps(envelope))
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="enrollments (and about 7x as many envelopes)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    enrollment = EventRegistry(ENROLLMENT_EVENTS)
    kind, version = ParticipantEnrolled.event_type, ParticipantEnrolled.event_version
    stored = enrolled(args.events)
    parsed = [json.loads(text) for text in stored]
    full_json = best_of(
        args.rounds,
        {
            "in full": ParticipantEnrolled.model_validate_json,
            "trusted": lambda text: enrollment.decode_stored(kind, version, text),
        },
        stored,
    )
    full_dict = best_of(
        args.rounds,
        {
            "in full": lambda data: enrollment.decode(kind, version, data),
            "trusted": lambda data: enrollment.decode(kind, version, data, trusted=True),
        },
        parsed,
    )

    readers = EventRegistry()
    for subscription in subscriptions():
        readers = readers.merge(subscription.registry)
    texts = retained(args.events)
    inbox = best_of(
        args.rounds,
        {
            "general": lambda text: readers.envelope_from_document(json.loads(text)),
            "one pass": readers.envelope_from_retained,
        },
        texts,
    )
    load = os.getloadavg()[0]
    print(
        "\n".join(
            [
                f"- load average (1 min) {load:.1f} at the end; best of {args.rounds} rounds, process CPU time",
                "",
                "| events | decoded | µs/event before | µs/event now | ratio |",
                "|---|---|---:|---:|---:|",
                f"| {len(stored):,} `ParticipantEnrolled` | from stored JSON: in full → trusted |"
                f" {full_json['in full']:.1f} | {full_json['trusted']:.1f} |"
                f" {full_json['in full'] / full_json['trusted']:.2f}x |",
                f"| {len(stored):,} `ParticipantEnrolled` | from an opened dict: in full → trusted |"
                f" {full_dict['in full']:.1f} | {full_dict['trusted']:.1f} |"
                f" {full_dict['in full'] / full_dict['trusted']:.2f}x |",
                f"| {len(texts):,} retained envelopes (reporting's mix) | general path → one pass |"
                f" {inbox['general']:.1f} | {inbox['one pass']:.1f} | {inbox['general'] / inbox['one pass']:.2f}x |",
            ]
        )
    )


if __name__ == "__main__":
    main()
