"""The loop every follower of a store runs (relay, projections): leading, retrying, recovering."""

from __future__ import annotations

from tandem_kernel.follower import StoreFollower
from tandem_kernel.store import EventStore


class Flaky(StoreFollower):
    """Fails on the steps numbered in `failing`, records how long the loop waited after each failure."""

    def __init__(self, store: EventStore, dsn: str, failing: set[int], last: int) -> None:
        super().__init__(store, name="flaky", dsn=dsn, batch_size=10, poll_seconds=0.01, retry_seconds=0.01)
        self.failing, self.last, self.steps = failing, last, 0
        self.waits_after_failures: list[float] = []

    async def step(self) -> int:
        self.steps += 1
        if self.steps >= self.last:
            self.stop()
        if self.steps in self.failing:
            raise OSError(f"incident at step {self.steps}")
        return 0

    async def behind(self) -> int:
        return 0

    async def _sleep(self, seconds: float, *, wake: bool = False) -> bool:
        if not wake:  # the poll sleep between steps passes `wake`; the retry sleep does not
            self.waits_after_failures.append(seconds)
        return self._stopping.is_set()


async def test_after_a_step_succeeds_the_next_incident_retries_at_once_again(
    store: EventStore, database_url: str
) -> None:
    # A first incident of five failures in a row, a good step, then one more failure.
    follower = Flaky(store, database_url, failing={1, 2, 3, 4, 5, 7}, last=8)

    await follower.run()

    assert follower.waits_after_failures == [0.01, 0.02, 0.04, 0.08, 0.16, 0.01]
