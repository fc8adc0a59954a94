"""Evaluation's pure domain: its events, a participant's evaluation, a pair's fit, when assessments
fall due, and the statistics of a program's impact. Nothing here does I/O."""
