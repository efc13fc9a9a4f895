"""API key format: `sk_` or `pk_` followed by 43 url-safe characters (256 random bits)."""

from __future__ import annotations

import hashlib
import secrets

PREFIXES = {"secret": "sk_", "publishable": "pk_"}


def key_generate(kind: str) -> str:
    return PREFIXES[kind] + secrets.token_urlsafe(32)


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def key_kind(raw: str) -> str | None:
    for kind, prefix in PREFIXES.items():
        if raw.startswith(prefix):
            return kind
    return None
