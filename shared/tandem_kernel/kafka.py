"""Kafka at the edge: the FastStream broker every service uses, topic setup, and the subscriber that
feeds a `MessageProcessor`."""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from tandem_kernel.consumers import MessageProcessor
from tandem_kernel.messages import IncomingMessage
from tandem_kernel.settings import ServiceSettings

__all__ = [
    "CONSUMER_DRAIN_SECONDS",
    "broker_security",
    "build_broker",
    "dead_letter_publisher",
    "ensure_topics",
    "subscribe",
]

log = logging.getLogger("tandem.kafka")

# On shutdown, how long in-flight message handlers may run before the broker stops anyway.
CONSUMER_DRAIN_SECONDS = 15.0

_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def broker_security(settings: ServiceSettings) -> BaseSecurity | None:
    """How the service authenticates to the cluster and checks its certificates (None: plaintext).

    >>> broker_security(ServiceSettings(service_name="enrollment"))  # PLAINTEXT by default
    """
    protocol = settings.kafka_security_protocol
    tls = protocol in ("SSL", "SASL_SSL")
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile) if tls else None
    if protocol.startswith("SASL_"):
        # the settings refuse SASL without a mechanism, a username and a password
        assert settings.kafka_sasl_mechanism and settings.kafka_sasl_username and settings.kafka_sasl_password
        return _SASL[settings.kafka_sasl_mechanism](
            settings.kafka_sasl_username,
            settings.kafka_sasl_password.get_secret_value(),
            ssl_context=context,
            use_ssl=tls,
        )
    return BaseSecurity(ssl_context=context, use_ssl=True) if tls else None


def build_broker(settings: ServiceSettings) -> KafkaBroker:
    """The service's broker: acks from all replicas, telemetry in headers, idempotence and security
    per settings."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"tandem-{settings.service_name}",
        security=broker_security(settings),
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        request_timeout_ms=10_000,
        middlewares=[KafkaTelemetryMiddleware()],
        logger=logging.getLogger(f"tandem.{settings.service_name}.broker"),
        log_level=logging.DEBUG,
        graceful_timeout=CONSUMER_DRAIN_SECONDS,
    )


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    partitions: int,
    replication_factor: int = 1,
    *,
    security: BaseSecurity | None = None,
) -> None:
    """Create `topics` (and their dead-letter topics) if missing.

    Where an operator owns the topics (Strimzi `KafkaTopic`s), they exist already and nothing is
    created; a service whose user may not create topics keeps retrying until they appear.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000, **parse_security(security)
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [name for topic in topics for name in (topic, f"{topic}.dlq") if name not in existing]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another replica won the race
                await admin.create_topics([NewTopic(name, partitions, replication_factor) for name in wanted])
    finally:
        await admin.close()


def dead_letter_publisher(broker: KafkaBroker):  # type: ignore[no-untyped-def]
    async def publish(topic: str, message: IncomingMessage, error_headers: dict[str, str]) -> None:
        await broker.publish(message.value or b"", topic, key=message.key, headers={**message.headers, **error_headers})

    return publish


def subscribe(broker: KafkaBroker, processor: MessageProcessor) -> None:
    """Feed `processor` from its subscription's topics in its own consumer group.

    At-least-once: the offset is committed after `process` returns (which is after the database
    commit); if it raises (shutting down mid-outage) the message is sought back and comes again.
    """
    subscription = processor.subscription

    @broker.subscriber(
        *subscription.topics,
        group_id=subscription.name,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title=f"{subscription.name}:{','.join(subscription.topics)}",
    )
    async def on_message(message: KafkaMessage) -> None:
        record = message.raw_message
        assert not isinstance(record, tuple), "subscribers here consume one record at a time"
        await processor.process(
            IncomingMessage(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                value=record.value,
                headers={name: value.decode(errors="replace") for name, value in record.headers},
            )
        )
