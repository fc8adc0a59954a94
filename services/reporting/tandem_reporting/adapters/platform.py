"""The platform as operators see it: each service's readiness and `/metrics`, and each consumer
group's lag on the broker (end offsets minus committed offsets)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["consumer_lag", "service_health"]

_WATCHED = {
    "tandem_relay_lag_events": "relay_lag_events",
    "tandem_relay_lag_seconds": "relay_lag_seconds",
    "tandem_dead_letters_total": "dead_letters",
    "tandem_projection_lag_events": "projection_lag_events",
    "tandem_projection_parked_events": "projection_parked_events",
}


def _figures(metrics_text: str) -> dict[str, float]:
    figures = dict.fromkeys(_WATCHED.values(), 0.0)
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            name = _WATCHED.get(sample.name)
            if name is not None:
                figures[name] += sample.value
    return figures


async def service_health(http: httpx.AsyncClient, name: str, url: str) -> dict[str, Any]:
    """One service's readiness and lag figures; `reachable: false` with the error when it does not answer."""
    try:
        ready, metrics = await asyncio.gather(http.get(f"{url}/readyz"), http.get(f"{url}/metrics"))
    except httpx.HTTPError as error:
        return {"service": name, "url": url, "reachable": False, "ready": False, "problems": [repr(error)]}
    readiness = ready.json()
    return {
        "service": name,
        "url": url,
        "reachable": True,
        "ready": bool(readiness.get("ready")),
        "problems": readiness.get("problems", []),
        **_figures(metrics.text),
    }


async def consumer_lag(bootstrap_servers: str, groups: dict[str, list[str]], **security: Any) -> list[dict[str, Any]]:
    """Messages each group has not committed yet, per topic; `lag: null` where the broker cannot say."""
    lags = []
    for group, topics in sorted(groups.items()):
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False, **security
        )
        try:
            await consumer.start()
            await consumer._client.force_metadata_update()
            for topic in topics:
                partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
                ends = await consumer.end_offsets(partitions) if partitions else {}
                committed = [await consumer.committed(partition) or 0 for partition in partitions]
                # Never below zero: a broker that lost its log (the development one restarts empty)
                # ends below what the group committed before.
                lag = sum(max(0, ends[p] - done) for p, done in zip(partitions, committed, strict=True))
                lags.append({"group": group, "topic": topic, "lag": lag})
        except Exception as error:  # the broker away: the page says so per group
            lags.append({"group": group, "topic": ",".join(topics), "lag": None, "error": repr(error)})
        finally:
            await consumer.stop()
    return lags
