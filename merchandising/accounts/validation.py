from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError


def origin_normalize(origin: str) -> str:
    """`https://Shop.example.com/` -> `https://shop.example.com`; refuses anything but an origin."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path not in {"", "/"}:
        raise ValidationError(f"{origin!r} is not an origin like https://shop.example.com")
    host = parts.hostname.lower()
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"
