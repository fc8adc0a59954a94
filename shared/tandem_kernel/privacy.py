"""Personal data in events, kept erasable by crypto-shredding.

A field typed `Personal[str] | None` holds personal data of the event's data subject (see
`DomainEvent.data_subject`). The store encrypts such fields with the subject's own key before they
reach PostgreSQL or Kafka; erasing the subject deletes the key, after which every stored and
published copy is unreadable while ids and counts stay intact.

How it fits together:

- `SubjectKeys` keeps one random AES-256 data key per subject in the `subject_keys` table, wrapped
  (AES-GCM) by a key-encryption key derived from `PERSONAL_DATA_MASTER_KEY`. The store asks it for
  the keys of the subjects it appends for, in the append's transaction, and seals their fields.
- A sealed field is stored and published as `{"$sealed": "<base64>"}`; the ciphertext is bound to
  its subject and field name, so it cannot be moved to another person or field.
- On read, the store joins each event to its subject's key and unseals. Without the key (erased),
  or without keys at all (another service's consumer), `strip_sealed` turns markers into `None`:
  that is why personal fields must be optional.
- `shred(connection, subject)` deletes the key, in the transaction that records the erasure.
- Bulk writers may create many subjects' keys in one statement first (`for_writing`): the keyring
  remembers keys it created or fetched for a minute, for sealing only, so each append is one
  statement. Reads never use that memory, so an erasure is effective at once; a remembered key
  that was shredded meanwhile seals data that nobody can read, which is safe.

Only top-level fields of an event are sealed; keep personal data out of nested models.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Annotated, Any, TypeVar, get_args

import asyncpg
import pydantic_core
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel

__all__ = ["PERSONAL", "SEALED", "Personal", "SubjectKeys", "is_sealed", "personal_fields", "shred", "strip_sealed"]

T = TypeVar("T")


class _PersonalMarker:
    def __repr__(self) -> str:
        return "PERSONAL"


PERSONAL = _PersonalMarker()

Personal = Annotated[T, PERSONAL]

SEALED = "$sealed"
"""The key of a sealed field's marker object: `{"$sealed": "<base64 of version, nonce, ciphertext>"}`."""

# A leading format byte leaves room for another cipher or a rotated master key later.
_FORMAT = b"\x01"
_NONCE_BYTES = 12


def _is_personal(annotation: object) -> bool:
    # `Personal[str] | None` nests the marker inside a union: look through every layer.
    return any(arg is PERSONAL or _is_personal(arg) for arg in get_args(annotation))


@cache
def personal_fields(model: type[BaseModel]) -> frozenset[str]:
    """The top-level fields of `model` typed `Personal[...]`.

    >>> personal_fields(ParticipantEnrolled)
    frozenset({'display_name', 'email', 'personal_goals'})
    """
    # `Personal[str]` alone leaves the marker in the field's metadata; in a union, in its annotation.
    fields = model.model_fields.items()
    return frozenset(name for name, field in fields if PERSONAL in field.metadata or _is_personal(field.annotation))


def is_sealed(value: object) -> bool:
    """Whether `value` is a sealed field's marker."""
    return isinstance(value, dict) and SEALED in value


def strip_sealed(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` with every sealed marker replaced by `None`: what a reader without the key can know."""
    return {name: None if is_sealed(value) else value for name, value in data.items()}


class SubjectKeys:
    """Per-subject data keys, stored wrapped by a key derived from the master key.

    >>> keys = SubjectKeys(settings.personal_data_master_key)
    >>> data_keys = await keys.for_writing(connection, ["participant-1"])
    >>> sealed = keys.seal(payload, personal_fields(type(event)), "participant-1", data_keys["participant-1"])
    """

    def __init__(self, master_key: str, *, remember: int = 50_000, remember_seconds: float = 60.0) -> None:
        if not master_key:
            raise ValueError("the personal-data master key must not be empty")
        kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tandem/subject-keys/v1").derive(
            master_key.encode()
        )
        self._kek = AESGCM(kek)
        self._remember, self._remember_seconds = remember, remember_seconds
        self._remembered: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        # Unwrapped data keys by their stored, wrapped form, for reading: a subject's events come in
        # runs (enrolled, approved, updated…) and unwrapping cost as much as opening the fields. The
        # wrapped key is read with each event, so a shredded key is never opened from here.
        self._opened: OrderedDict[bytes, AESGCM] = OrderedDict()

    def remembered(self, subjects: Iterable[str]) -> dict[str, bytes] | None:
        """The data keys of all `subjects` if `for_writing` returned them lately; else `None`.

        For sealing only: reading must always join the stored key, so that erasure shows at once.
        """
        keys, now = {}, time.monotonic()
        for subject in subjects:
            found = self._remembered.get(subject)
            if found is None or found[0] < now:
                return None
            keys[subject] = found[1]
        return keys

    async def for_writing(
        self, connection: asyncpg.Connection | asyncpg.Pool, subjects: Iterable[str]
    ) -> dict[str, bytes]:
        """The data keys of `subjects`, created for those who have none yet.

        In the append's transaction, it locks the subjects' key rows until commit, so an erasure
        running at the same time waits and then shreds a key that covers this append too. Run
        outside a transaction, ahead of many appends (one statement for a chunk of an import), its
        keys are committed at once and remembered: each of those appends seals with them and
        skips a transaction of its own. Keys made inside a transaction are not remembered, since it
        may still roll back.
        """
        wanted = sorted(set(subjects))
        if not wanted:
            return {}
        candidates = [self._wrap(subject, AESGCM.generate_key(bit_length=256)) for subject in wanted]
        rows = await connection.fetch(
            "INSERT INTO subject_keys (subject, wrapped_key) SELECT * FROM unnest($1::text[], $2::bytea[])"
            " ON CONFLICT (subject) DO UPDATE SET subject = excluded.subject RETURNING subject, wrapped_key",
            wanted,
            candidates,
        )
        keys = {row["subject"]: self.unwrap(row["subject"], row["wrapped_key"]) for row in rows}
        # A pool runs the statement on its own (committed); a connection may be in a transaction.
        in_transaction = getattr(connection, "is_in_transaction", None)
        if in_transaction is not None and in_transaction():
            return keys
        until = time.monotonic() + self._remember_seconds
        for subject, key in keys.items():
            self._remembered[subject] = (until, key)
            self._remembered.move_to_end(subject)
        while len(self._remembered) > self._remember:
            self._remembered.popitem(last=False)
        return keys

    def unwrap(self, subject: str, wrapped: bytes) -> bytes:
        """The data key of `subject` from its stored, wrapped form."""
        return _open(self._kek, wrapped, _key_aad(subject))

    def _cipher(self, subject: str, wrapped: bytes) -> AESGCM:
        # The subject is part of the wrapped key's authenticated data, so it is part of the lookup.
        lookup = subject.encode() + b"\0" + bytes(wrapped)
        cipher = self._opened.get(lookup)
        if cipher is None:
            cipher = self._opened[lookup] = AESGCM(self.unwrap(subject, wrapped))
            if len(self._opened) > self._remember:
                self._opened.popitem(last=False)
        return cipher

    def _wrap(self, subject: str, key: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _FORMAT + nonce + self._kek.encrypt(nonce, key, _key_aad(subject))

    @staticmethod
    def seal(data: Mapping[str, Any], fields: Iterable[str], subject: str, key: bytes) -> dict[str, Any]:
        """`data` with each of `fields` that holds a value replaced by its sealed marker."""
        cipher, sealed = AESGCM(key), dict(data)
        for name in fields:
            value = sealed.get(name)
            if value is None or is_sealed(value):
                continue
            nonce = os.urandom(_NONCE_BYTES)
            ciphertext = cipher.encrypt(nonce, json.dumps(value).encode(), _field_aad(subject, name))
            sealed[name] = {SEALED: base64.b64encode(_FORMAT + nonce + ciphertext).decode()}
        return sealed

    async def seal_bytes(self, connection: asyncpg.Connection | asyncpg.Pool, subject: str, content: bytes) -> bytes:
        """`content` (a file of personal data, say) sealed with `subject`'s key, created if needed.

        Shredding the subject (`shred`) makes it unreadable, like any sealed field.
        """
        key = (await self.for_writing(connection, [subject]))[subject]
        nonce = os.urandom(_NONCE_BYTES)
        return _FORMAT + nonce + AESGCM(key).encrypt(nonce, content, _field_aad(subject, "$bytes"))

    async def open_bytes(self, connection: asyncpg.Connection | asyncpg.Pool, subject: str, sealed: bytes) -> bytes:
        """What `seal_bytes` sealed; `LookupError` once the subject was shredded."""
        wrapped = await connection.fetchval("SELECT wrapped_key FROM subject_keys WHERE subject = $1", subject)
        if wrapped is None:
            raise LookupError(f"the key of {subject} was shredded: its sealed content is gone")
        return _open(AESGCM(self.unwrap(subject, wrapped)), sealed, _field_aad(subject, "$bytes"))

    def unseal(self, data: Mapping[str, Any], subject: str, wrapped_key: bytes | None) -> dict[str, Any]:
        """`data` with sealed markers opened; those that cannot be opened become `None`."""
        if wrapped_key is None:
            return strip_sealed(data)
        try:
            cipher = self._cipher(subject, wrapped_key)
        except InvalidTag:  # wrapped under another master key: as good as erased
            return strip_sealed(data)
        opened: dict[str, Any] = {}
        for name, value in data.items():
            if not is_sealed(value):
                opened[name] = value
                continue
            try:
                # binascii and pydantic-core's parser: what base64.b64decode and json.loads do, at less
                # cost per call (a catch-up opens two or three fields of every enrollment it reads).
                opened_bytes = _open(cipher, binascii.a2b_base64(value[SEALED]), _field_aad(subject, name))
                opened[name] = pydantic_core.from_json(opened_bytes)
            except (InvalidTag, ValueError):  # tampered with, or sealed for another subject or field
                opened[name] = None
        return opened


async def shred(connection: asyncpg.Connection | asyncpg.Pool, subject: str) -> bool:
    """Delete `subject`'s data key: their sealed fields become unreadable everywhere, for good.

    Returns whether there was a key. Run it in the transaction that records the erasure.
    """
    deleted = await connection.fetchval("DELETE FROM subject_keys WHERE subject = $1 RETURNING true", subject)
    return bool(deleted)


def _open(cipher: AESGCM, blob: bytes, aad: bytes) -> bytes:
    # blob = format byte, nonce, ciphertext with its tag
    return cipher.decrypt(blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :], aad)


def _key_aad(subject: str) -> bytes:
    return b"tandem/subject-key/" + subject.encode()


def _field_aad(subject: str, field: str) -> bytes:
    return f"tandem/field/{subject}/{field}".encode()
