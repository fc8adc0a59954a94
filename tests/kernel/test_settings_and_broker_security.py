"""Settings as a Kubernetes pod gets them (secret files, Kafka security) and what the broker makes of them."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faststream.kafka.security import parse_security
from pydantic import ValidationError
from tandem_kernel.cli import _named
from tandem_kernel.kafka import broker_security, build_broker
from tandem_kernel.settings import ServiceSettings


def a_ca_certificate(path: Path) -> Path:
    """A self-signed CA certificate in PEM, like the `ca.crt` of Strimzi's cluster CA secret."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cluster-ca")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_plaintext_is_the_default_and_needs_no_security() -> None:
    settings = ServiceSettings(service_name="enrollment")
    assert broker_security(settings) is None
    assert parse_security(broker_security(settings)) == {}


def test_sasl_ssl_with_scram_reaches_the_consumer_and_the_admin_client_with_the_cluster_ca(tmp_path: Path) -> None:
    ca = a_ca_certificate(tmp_path / "ca.crt")
    settings = ServiceSettings(
        service_name="enrollment",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="tandem-enrollment",
        kafka_sasl_password="s3cret",  # type: ignore[arg-type]  # pydantic makes it a SecretStr
        kafka_ssl_cafile=str(ca),
    )
    admin_options = parse_security(broker_security(settings))
    consumer_options = build_broker(settings).config.broker_config.builder.keywords  # type: ignore[attr-defined]
    for options in (admin_options, consumer_options):
        assert options["security_protocol"] == "SASL_SSL"
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert options["sasl_plain_username"] == "tandem-enrollment"
        assert options["sasl_plain_password"] == "s3cret"
        context: ssl.SSLContext = options["ssl_context"]
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert [cert["subject"] for cert in context.get_ca_certs()] == [((("commonName", "cluster-ca"),),)]
    assert "s3cret" not in repr(settings)


def test_tls_without_sasl_uses_the_ca_and_no_credentials(tmp_path: Path) -> None:
    ca = a_ca_certificate(tmp_path / "ca.crt")
    settings = ServiceSettings(service_name="pairing", kafka_security_protocol="SSL", kafka_ssl_cafile=str(ca))
    options = parse_security(broker_security(settings))
    assert options["security_protocol"] == "SSL"
    assert "sasl_plain_username" not in options


def test_sasl_without_credentials_is_refused_naming_what_is_missing() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD"):
        ServiceSettings(service_name="enrollment", kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="PLAIN")


def test_secrets_are_read_from_files_named_after_the_settings_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "database_url").write_text("postgresql://enrollment:from-file@db:5432/enrollment\n")
    (tmp_path / "personal_data_master_key").write_text("a-real-key-from-a-secret")
    (tmp_path / "kafka_sasl_password").write_text("from-file")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "from-environment")
    settings = ServiceSettings(service_name="enrollment", _secrets_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.database_url == "postgresql://enrollment:from-file@db:5432/enrollment"
    assert settings.personal_data_master_key == "a-real-key-from-a-secret"
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == "from-environment"


def test_a_service_image_names_its_service_in_service_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_NAME", "pairing")
    assert _named(None) == "pairing"
    assert _named("enrollment") == "enrollment"
    monkeypatch.delenv("SERVICE_NAME")
    with pytest.raises(ValidationError, match="service_name"):
        _named(None)
