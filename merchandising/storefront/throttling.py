"""The storefront rate limits live with the API base classes that apply them
(`merchandising.accounts.throttling`); this name is kept for existing imports."""

from merchandising.accounts.throttling import (
    StorefrontKeyThrottle,
    StorefrontVisitorThrottle,
    parse_rate,
)

__all__ = ["StorefrontKeyThrottle", "StorefrontVisitorThrottle", "parse_rate"]
