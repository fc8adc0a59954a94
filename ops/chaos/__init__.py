"""Chaos: the whole platform under load while its parts fail, then proof that nothing was lost.

`make chaos` (or `python -m ops.chaos --seconds 120`) starts every installed service as two replicas
(separate processes, each service its own database), the development broker and OpenID provider;
a load of API commands with valid tokens and Idempotency-Keys runs from this process while faults are
injected — a replica SIGKILLed and restarted, the broker killed and restarted empty (or with its data,
on a broker that keeps it), every database connection of a service terminated, a replica paused
past its consumer group's session timeout and resumed. Then the load stops, the platform quiesces
and the invariants are checked (`invariants`): every acknowledged command's events are in its store
exactly once, every event reached every subscriber, each read model equals a from-scratch rebuild,
no duplicate or contradictory domain facts, no dead letter. A bounded run is part of `make test`.
"""

from ops.chaos.run import ChaosOptions, ChaosReport, run_chaos

__all__ = ["ChaosOptions", "ChaosReport", "run_chaos"]
