"""Tandem's sessions service: every meeting of every pair.

The pure domain lives in `tandem_sessions.domain`: the slot planner (both people's availability in
their own time zones, working days and public holidays, no double booking), a pair's schedule as an
event-sourced aggregate, agendas and the at-risk rules.
"""
