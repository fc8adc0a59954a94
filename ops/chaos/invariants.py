"""What must hold after chaos, read from each service's own database once the platform is quiet.

Each check adds what it looked at to `checked` and every violation, in words, to `mismatches`.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
from tandem_kernel.cli import load_service
from tandem_kernel.runtime import Runtime

from ops.chaos.load import Ledger
from ops.chaos.platform import Platform

__all__ = ["Findings", "Route", "check_everything", "quiet_signature", "routes", "undelivered"]


@dataclass
class Findings:
    checked: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)


async def quiet_signature(platform: Platform) -> tuple[int, ...]:
    """Changes while anything still moves: events appended, messages handled, checkpoints advanced."""
    signature: list[int] = []
    for name in platform.services:
        connection = await platform.connect(name)
        try:
            row = await connection.fetchrow(
                "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM inbox),"
                " (SELECT coalesce(sum(position), 0) FROM checkpoints), (SELECT count(*) FROM jobs"
                "  WHERE state IN ('queued', 'running'))"
            )
        finally:
            await connection.close()
        assert row is not None
        signature += [int(value) for value in row]
    return tuple(signature)


async def check_everything(platform: Platform, ledger: Ledger) -> Findings:
    findings = Findings()
    await _enrollment_commands_once(platform, ledger, findings)
    await _pairing_answers_once(platform, ledger, findings)
    await _rounds_and_imports_done_once(platform, ledger, findings)
    if "sessions" in platform.services:
        await _sessions_follow_pairs(platform, ledger, findings)
    await _no_job_stuck_or_failed(platform, findings)
    await _every_event_reached_every_subscriber(platform, findings)
    await _no_dead_letters(platform, findings)
    await _read_models_equal_rebuilds(platform, findings)
    return findings


def _between(found: int, acknowledged: int, unknown: int) -> bool:
    return acknowledged <= found <= acknowledged + unknown


async def _count_by(connection: asyncpg.Connection, event_type: str, key: str) -> Counter[str]:
    rows = await connection.fetch(
        f"SELECT payload->>'{key}' AS key, count(*) AS n FROM events WHERE event_type = $1 GROUP BY 1", event_type
    )
    return Counter({row["key"]: row["n"] for row in rows})


async def _enrollment_commands_once(platform: Platform, ledger: Ledger, findings: Findings) -> None:
    connection = await platform.connect("enrollment")
    try:
        enrolled = await _count_by(connection, "enrollment.ParticipantEnrolled", "participant_id")
        by_employee = await _count_by(connection, "enrollment.ParticipantEnrolled", "employee_id")
        updated = await _count_by(connection, "enrollment.ParticipantProfileUpdated", "participant_id")
        withdrew = await _count_by(connection, "enrollment.ParticipantWithdrew", "participant_id")
    finally:
        await connection.close()
    for command in ledger.of("enroll"):
        findings.checked["enrollments acknowledged"] += 1
        if enrolled[command.answer["participant_id"]] != 1:
            findings.mismatches.append(
                f"enrollment {command.answer['participant_id']} acknowledged, "
                f"{enrolled[command.answer['participant_id']]} ParticipantEnrolled"
            )
    for employee, count in by_employee.items():
        if count > 1:
            findings.mismatches.append(f"employee {employee} enrolled {count} times in one program")
    for kind, found in (("update_profile", updated), ("withdraw", withdrew)):
        acknowledged = Counter(c.target for c in ledger.of(kind))
        unknown = Counter(c.target for c in ledger.of(kind, "unknown"))
        findings.checked[f"{kind} acknowledged"] += sum(acknowledged.values())
        for participant in set(acknowledged) | set(unknown) | set(found):
            if not _between(found[participant], acknowledged[participant], unknown[participant]):
                findings.mismatches.append(
                    f"{kind} of {participant}: {acknowledged[participant]} acknowledged, "
                    f"{unknown[participant]} unanswered, {found[participant]} events"
                )


async def _pairing_answers_once(platform: Platform, ledger: Ledger, findings: Findings) -> None:
    connection = await platform.connect("pairing")
    try:
        accepted = Counter(
            f"{row['pair_id']}/{row['participant_id']}"
            for row in await connection.fetch(
                "SELECT payload->>'pair_id' AS pair_id, payload->>'participant_id' AS participant_id"
                " FROM events WHERE event_type = 'pairing.ProposalAccepted'"
            )
        )
        activated = await _count_by(connection, "pairing.PairActivated", "pair_id")
        lifecycle = await connection.fetch(
            "SELECT event_type, payload->>'pair_id' AS pair_id, payload->>'junior_id' AS junior,"
            " payload->>'senior_id' AS senior FROM events WHERE event_type IN"
            " ('pairing.PairActivated', 'pairing.PairEnded') ORDER BY position"
        )
    finally:
        await connection.close()
    acknowledged = Counter(c.target for c in ledger.of("accept"))
    unknown = Counter(c.target for c in ledger.of("accept", "unknown"))
    findings.checked["acceptances acknowledged"] += sum(acknowledged.values())
    for answer in set(acknowledged) | set(accepted):
        if not _between(accepted[answer], min(acknowledged[answer], 1), unknown[answer]) or accepted[answer] > 1:
            findings.mismatches.append(
                f"acceptance {answer}: {acknowledged[answer]} acknowledged, {accepted[answer]} events"
            )
    findings.checked["pairs activated"] += len(activated)
    for pair, count in activated.items():
        if count > 1:
            findings.mismatches.append(f"pair {pair} activated {count} times")
    active: dict[str, str] = {}  # participant -> their active pair (capacity 1 each in this program)
    for row in lifecycle:
        for person in (row["junior"], row["senior"]):
            if row["event_type"] == "pairing.PairActivated":
                if person in active:
                    findings.mismatches.append(f"{person} active in pairs {active[person]} and {row['pair_id']}")
                active[person] = row["pair_id"]
            elif active.get(person) == row["pair_id"]:
                del active[person]


async def _rounds_and_imports_done_once(platform: Platform, ledger: Ledger, findings: Findings) -> None:
    """Background work survives the replica that started it: each round requested completed once, each
    import finished with every row handled."""
    connection = await platform.connect("pairing")
    try:
        completed = await _count_by(connection, "pairing.PairingRoundCompleted", "round_id")
        failed = await _count_by(connection, "pairing.PairingRoundFailed", "round_id")
    finally:
        await connection.close()
    for command in ledger.of("request_round"):
        findings.checked["rounds requested"] += 1
        if completed[command.target] != 1 or failed[command.target]:
            findings.mismatches.append(
                f"round {command.target}: completed {completed[command.target]} times, failed {failed[command.target]}"
            )
    connection = await platform.connect("enrollment")
    try:
        for command in ledger.of("import"):
            findings.checked["imports acknowledged"] += 1
            job = await connection.fetchrow(
                "SELECT state, attempts FROM jobs WHERE payload->>'job_id' = $1", command.target
            )
            if job is None or job["state"] != "succeeded":
                findings.mismatches.append(f"import {command.target}: its job is {dict(job) if job else 'missing'}")
    finally:
        await connection.close()


async def _sessions_follow_pairs(platform: Platform, ledger: Ledger, findings: Findings) -> None:
    """Every active pair has sessions planned (or is flagged as needing attention); no session of an
    ended pair is still to come; each acknowledged cancellation happened once."""
    connection = await platform.connect("pairing")
    try:
        pairs = await connection.fetch(
            "SELECT event_type, payload->>'pair_id' AS pair_id, (payload->>'ended_at')::timestamptz AS ended_at"
            " FROM events WHERE event_type IN ('pairing.PairActivated', 'pairing.PairEnded')"
        )
    finally:
        await connection.close()
    activated = {row["pair_id"] for row in pairs if row["event_type"] == "pairing.PairActivated"}
    ended = {row["pair_id"]: row["ended_at"] for row in pairs if row["event_type"] == "pairing.PairEnded"}
    connection = await platform.connect("sessions")
    try:
        rows = await connection.fetch(
            "SELECT event_type, payload->>'pair_id' AS pair_id, payload->>'session_id' AS session_id,"
            " (payload->>'starts_at')::timestamptz AS starts_at, payload->>'reason' AS reason"
            " FROM events WHERE event_type LIKE 'sessions.%' ORDER BY position"
        )
    finally:
        await connection.close()
    planned_for = {row["pair_id"] for row in rows if row["event_type"] == "sessions.SessionScheduled"}
    attention = {row["pair_id"] for row in rows if row["event_type"] == "sessions.PairNeedsAttention"}
    upcoming: dict[str, tuple[str, object]] = {}  # session -> (pair, starts_at) while still to come
    cancelled: Counter[str] = Counter()
    for row in rows:
        if row["event_type"] in ("sessions.SessionScheduled", "sessions.SessionRescheduled"):
            upcoming[row["session_id"]] = (row["pair_id"], row["starts_at"])
        elif row["event_type"] in ("sessions.SessionCancelled", "sessions.SessionHeld", "sessions.SessionMissed"):
            upcoming.pop(row["session_id"], None)
            if row["event_type"] == "sessions.SessionCancelled" and row["reason"] == "workload":
                cancelled[row["session_id"]] += 1
    for pair in activated:
        findings.checked["active pairs checked for sessions"] += 1
        if pair not in planned_for and pair not in attention:
            findings.mismatches.append(f"pair {pair} was activated but sessions planned nothing and flagged nothing")
    for session, (pair, starts_at) in upcoming.items():
        if pair in ended and starts_at > ended[pair]:
            findings.mismatches.append(f"session {session} of ended pair {pair} is still to come at {starts_at}")
    acknowledged = Counter(c.target for c in ledger.of("cancel_session"))
    unknown = Counter(c.target for c in ledger.of("cancel_session", "unknown"))
    findings.checked["session cancellations acknowledged"] += sum(acknowledged.values())
    for session in set(acknowledged) | set(cancelled):
        if not _between(cancelled[session], min(acknowledged[session], 1), unknown[session]) or cancelled[session] > 1:
            findings.mismatches.append(
                f"cancellation of {session}: {acknowledged[session]} acknowledged, {cancelled[session]} events"
            )


async def _no_job_stuck_or_failed(platform: Platform, findings: Findings) -> None:
    for name in platform.services:
        connection = await platform.connect(name)
        try:
            rows = await connection.fetch(
                "SELECT kind, state, attempts, left(coalesce(last_error, ''), 160) AS error FROM jobs"
                " WHERE state = 'failed' OR (state = 'running' AND lease_until < now())"
            )
            findings.checked["jobs checked"] += await connection.fetchval("SELECT count(*) FROM jobs")
        finally:
            await connection.close()
        for row in rows:
            findings.mismatches.append(
                f"{name} job {row['kind']} {row['state']} after {row['attempts']} attempts {row['error']}"
            )


@dataclass(frozen=True)
class Route:
    """Events of `topic` that `service`'s subscription `consumer` must have handled (all but the types
    its tolerant reader chose not to model, which are acknowledged and not kept)."""

    service: str
    consumer: str
    topic: str
    ignored_types: frozenset[str]


async def routes(platform: Platform) -> list[Route]:
    found = []
    for name in platform.services:
        async with _operating(platform, name) as runtime:
            for subscription in (processor.subscription for processor in runtime.processors):
                found += [Route(name, subscription.name, t, subscription.ignored_types) for t in subscription.topics]
    return found


async def undelivered(platform: Platform, routes: list[Route]) -> dict[Route, list[str]]:
    """Per route, the events not handled yet (each described by type, position and time)."""
    produced: dict[str, dict[str, str]] = {}  # topic -> event id -> what it was
    for name in platform.services:
        connection = await platform.connect(name)
        try:
            produced[f"tandem.{name}.v1"] = {
                str(row["event_id"]): f"{row['event_type']} #{row['position']} at {row['occurred_at']:%H:%M:%S.%f}"
                for row in await connection.fetch("SELECT event_id, event_type, position, occurred_at FROM events")
            }
        finally:
            await connection.close()
    missing: dict[Route, list[str]] = {}
    for route in routes:
        connection = await platform.connect(route.service)
        try:
            rows = await connection.fetch(
                "SELECT event_id FROM inbox WHERE consumer = $1 AND topic = $2", route.consumer, route.topic
            )
        finally:
            await connection.close()
        handled = {str(row["event_id"]) for row in rows}
        missing[route] = sorted(
            what
            for event_id, what in produced.get(route.topic, {}).items()
            if event_id not in handled and what.split(" ")[0] not in route.ignored_types
        )
    return missing


async def _every_event_reached_every_subscriber(platform: Platform, findings: Findings) -> None:
    every_route = await routes(platform)
    for route, missing in (await undelivered(platform, every_route)).items():
        connection = await platform.connect(route.service)
        try:
            handled = await connection.fetchval(
                "SELECT count(*) FROM inbox WHERE consumer = $1 AND topic = $2", route.consumer, route.topic
            )
        finally:
            await connection.close()
        findings.checked[f"events delivered to {route.service}/{route.consumer}"] += handled
        if missing:
            findings.mismatches.append(
                f"{len(missing)} events of {route.topic} never reached {route.service}/{route.consumer}: "
                + ", ".join(missing[:5])
            )


async def _no_dead_letters(platform: Platform, findings: Findings) -> None:
    for name in platform.services:
        connection = await platform.connect(name)
        try:
            letters = await connection.fetch(
                "SELECT consumer, error_type, left(error, 200) AS error FROM dead_letters WHERE replayed_at IS NULL"
            )
            parked = await connection.fetch("SELECT * FROM projection_dead_letters")
        finally:
            await connection.close()
        findings.checked["services searched for dead letters"] += 1
        for letter in letters:
            findings.mismatches.append(
                f"dead letter in {name}/{letter['consumer']}: {letter['error_type']} {letter['error']}"
            )
        if parked:
            findings.mismatches.append(f"{len(parked)} events parked by {name}'s projections")


async def _dump(connection: asyncpg.Connection, schema: str) -> dict[str, Counter[str]]:
    tables = [
        row["table_name"]
        for row in await connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
            schema,
        )
    ]
    return {
        table: Counter(
            row[0] for row in await connection.fetch(f'SELECT to_jsonb(t)::text FROM "{schema}"."{table}" t')
        )
        for table in tables
    }


@contextlib.asynccontextmanager
async def _operating(platform: Platform, name: str) -> AsyncIterator[Runtime]:
    """The service's store, consumers and projections as `tandem` commands open them: nothing consumed."""
    runtime = Runtime(load_service(name), platform.settings(name))
    await runtime.open_for_operations()
    try:
        yield runtime
    finally:
        await runtime.close_operations()


async def _read_models_equal_rebuilds(platform: Platform, findings: Findings) -> None:
    for name in platform.services:
        async with _operating(platform, name) as runtime:
            assert runtime.pool is not None
            for runner in runtime.projection_runners:
                schema = runner.projection.read_schema
                async with runtime.pool.acquire() as connection:
                    live = await _dump(connection, schema)
                await runner.rebuild()
                async with runtime.pool.acquire() as connection:
                    rebuilt = await _dump(connection, schema)
                findings.checked["read-model rows compared with a rebuild"] += sum(
                    sum(t.values()) for t in rebuilt.values()
                )
                for table in sorted(set(live) | set(rebuilt)):
                    before, after = live.get(table, Counter()), rebuilt.get(table, Counter())
                    if before != after:
                        only_live, only_rebuilt = sum((before - after).values()), sum((after - before).values())
                        findings.mismatches.append(
                            f"{name}.{runner.projection.name} table {table}: {only_live} rows only live, "
                            f"{only_rebuilt} only rebuilt"
                        )
