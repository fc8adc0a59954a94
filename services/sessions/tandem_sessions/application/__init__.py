"""Sessions' application layer: commands that load a pair's schedule, decide with the pure domain
and append; planning; the policies that follow enrollment and pairing; agendas, notes, feeds; the
scheduler.

    await planner.replan(store, pair_id, now=now, metadata=metadata)
    session = await sessions.cancel(store, session_id, by=junior_id, reason=reason, now=now, metadata=metadata)
"""
