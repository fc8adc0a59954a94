"""Tandem's pairing service: who should mentor whom in a program's rotation round.

The pure domain lives in `tandem_pairing.domain`: compatibility scoring with an explanation of every
component, a sparse candidate graph for large pools, and a globally optimal assignment.
"""
