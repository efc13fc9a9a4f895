"""Dependencies point one way: the storefront and the dashboard call the domain apps, never the
reverse (ARCHITECTURE.md, "Layout")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = [
    "merchandising/accounts",
    "merchandising/catalog",
    "merchandising/jobs",
    "merchandising/tracking",
    "recsys",
    "contentgen",
]
OUTER = ("merchandising.storefront", "merchandising.dashboard")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("package", DOMAIN)
def test_domain_apps_do_not_import_storefront_or_dashboard(package):
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in imported_modules(path)
        if name.startswith(OUTER)
    }
    assert not offenders, sorted(offenders)


def test_storefront_rate_limits_are_importable_from_both_places():
    from merchandising.accounts import throttling
    from merchandising.accounts.api_base import StorefrontAPIView
    from merchandising.storefront import throttling as storefront_throttling

    assert StorefrontAPIView.throttle_classes == [
        throttling.StorefrontKeyThrottle,
        throttling.StorefrontVisitorThrottle,
    ]
    assert storefront_throttling.parse_rate is throttling.parse_rate
