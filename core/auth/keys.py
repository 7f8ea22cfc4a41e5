"""API keys: `kb_<id>_<secret>`; the id finds the row, only the secret's hash is stored.

The secret is 256 random bits, so a plain SHA-256 is enough to make a stolen table useless
(slow password hashes exist for guessable secrets; these are not), and checking a key stays
a microsecond, not the 100 ms a password hash would add to every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

PREFIX = "kb_"


@dataclass(frozen=True)
class NewKey:
    """A key as it is shown once: its id and the whole token to send."""

    id: str
    token: str


def generate() -> tuple[NewKey, str]:
    """A fresh key and the hash to store."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewKey(key_id, f"{PREFIX}{key_id}_{secret}"), digest(secret)


def digest(secret: str) -> str:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def split(token: str) -> tuple[str, str] | None:
    """(id, secret) of a token shaped like our keys; None for anything else (a JWT, ...)."""
    if not token.startswith(PREFIX):
        return None
    key_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or not key_id or not secret:
        return None
    return key_id, secret


def matches(secret: str, stored_hash: str) -> bool:
    """Compare in constant time, so timing says nothing about the stored hash."""
    return hmac.compare_digest(digest(secret), stored_hash)


def expired(expires_at: str | None) -> bool:
    """Whether an expiry (ISO 8601 UTC, as stored) has passed; None never expires."""
    return bool(expires_at) and str(expires_at) <= datetime.now(UTC).isoformat(timespec="seconds")
