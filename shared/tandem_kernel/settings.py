"""The one settings object. Nothing else in a service reads the environment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SECRETS_DIR", "ServiceSettings", "service_topic"]

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,40}$")

# Where Kubernetes mounts a service's secrets, one file per setting named after it
# (`database_url`, `personal_data_master_key`, ...): files stay out of the process environment,
# which child processes, crash reports and `/proc/<pid>/environ` would see. An environment
# variable of the same name wins over its file.
SECRETS_DIR = Path("/run/secrets/tandem")


def service_topic(service_name: str) -> str:
    """The topic a service publishes its own events on."""
    return f"tandem.{service_name}.v1"


class ServiceSettings(BaseSettings):
    """Everything a service needs to boot, from environment variables (names are the field names).

    >>> settings = ServiceSettings(service_name="enrollment")  # DATABASE_URL etc. from the environment
    """

    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="ignore", secrets_dir=SECRETS_DIR if SECRETS_DIR.is_dir() else None
    )

    service_name: str = Field(description="Which service this process runs, e.g. enrollment.")
    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/tandem"
    # Each service owns one schema; in production each has its own database as well.
    database_schema: str | None = None
    database_pool_min: int = 2
    database_pool_max: int = 10
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_partitions: int = Field(default=3, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    # Real Kafka in production: on. The development broker (Tansu) refuses InitProducerId: off.
    kafka_idempotent_producer: bool = False
    # How to reach a secured cluster (Strimzi: SASL_SSL with SCRAM-SHA-512 and the cluster CA).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    # CA bundle that signed the brokers' certificates; the system's CAs when unset.
    kafka_ssl_cafile: str | None = None
    # How long the broker may hold a consumer's fetch that finds nothing. Kafka (and noida-db) answer
    # as soon as a record arrives, so the wait only paces idle fetches: Kafka's own default. Tansu
    # (the development broker) holds the fetch for its wait whatever arrives — 500 ms put ~130 ms on
    # every hop there — so the local platform sets it to 50 (`DevBroker.service_environment`).
    kafka_fetch_max_wait_ms: int = Field(default=500, ge=1, le=30_000)
    relay_batch_size: int = Field(default=2000, ge=1)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    # How often the relay's leader checks that the broker still holds its topic (and ensures the
    # topics); when it has lost it, whether the relay publishes the history again by itself (else
    # the service stays not ready until `tandem republish`). Consumers deduplicate the replay.
    relay_topic_check_seconds: float = Field(default=5.0, gt=0)
    relay_republish_when_topic_lost: bool = True
    consumer_max_attempts: int = Field(default=3, ge=1)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0)
    # A projection retries an event it cannot apply this many times (with backoff), then parks it.
    projection_max_attempts: int = Field(default=5, ge=1)
    projection_retry_seconds: float = Field(default=0.2, gt=0)
    # Background jobs (see jobs.py): how many run at once per replica, and how soon a dead
    # replica's job is taken over by another (its lease; the heartbeat renews it every third).
    job_concurrency: int = Field(default=2, ge=1)
    job_lease_seconds: float = Field(default=15.0, ge=1)
    job_poll_seconds: float = Field(default=1.0, gt=0)
    # The company's OpenID Connect provider: every request but the probes' carries its token.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_roles_claim: str = "roles"  # or "groups", as the provider calls it
    oidc_employee_claim: str = "employee_id"  # the employee a person is, as enrollment knows them
    oidc_programs_claim: str = "programs"  # the programs a program admin is limited to, if any
    oidc_clock_skew_seconds: float = Field(default=30.0, ge=0, le=300)
    otlp_endpoint: str | None = None
    # Development and tests only: a file holding the offset of a clock every process shares
    # (`devclock`), which `tandem simulate` moves; refused in production.
    dev_clock_file: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # Requests one process answers at once; the next is told 503 at once (see http_shedding.py).
    # At ~5 ms of CPU a command, 200 queued is a second of waiting: callers time out past that.
    http_max_in_flight: int = Field(default=200, ge=1)
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    # Key-encryption key for personal-data keys (crypto-shredding); must be set in production.
    personal_data_master_key: str = "development-only-not-a-secret"

    @property
    def schema_name(self) -> str:
        return self.database_schema or self.service_name

    @property
    def topic(self) -> str:
        """The topic this service publishes its own events on."""
        return service_topic(self.service_name)

    @field_validator("service_name", "database_schema")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        if value is not None and not _IDENTIFIER.match(value):
            raise ValueError("must be a lowercase identifier (letters, digits, underscores)")
        return value

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> ServiceSettings:
        if self.kafka_security_protocol.startswith("SASL_"):
            missing = [
                name.upper()
                for name in ("kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> ServiceSettings:
        if self.environment == "production":
            if self.personal_data_master_key.startswith("development-only"):
                raise ValueError("PERSONAL_DATA_MASTER_KEY must be set to a real secret in production")
            if not self.kafka_idempotent_producer:
                raise ValueError("KAFKA_IDEMPOTENT_PRODUCER must be on in production (real Kafka)")
            if self.dev_clock_file:
                raise ValueError("DEV_CLOCK_FILE moves the clock: development and tests only, never in production")
            if not self.oidc_issuer or not self.oidc_audience:
                raise ValueError(
                    "OIDC_ISSUER and OIDC_AUDIENCE must be set in production: every request is authenticated"
                )
        return self
