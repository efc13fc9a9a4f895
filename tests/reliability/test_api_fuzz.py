"""API fuzzing: schemathesis generates requests from the OpenAPI schema served at /api/schema/
for every merchant and storefront operation, sends them to the app (WSGI, same test database)
with valid keys, and checks that nothing answers 5xx and that documented answers match their
schema. The number of examples per operation is bounded (MERCHLAB_FUZZ_EXAMPLES, default 6) so
the suite stays short on a shared 2-core machine; raise it for a deeper run.
"""

from __future__ import annotations

import os

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a dev dependency")
from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import close_old_connections  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import checks  # noqa: E402

EXAMPLES = int(os.environ.get("MERCHLAB_FUZZ_EXAMPLES", "6"))
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.content_type_conformance,
]


def load_schema():
    """The schema as /api/schema/ serves it, fetched through the WSGI app at collection time
    (no database needed: the schema view is public)."""
    from django.core.wsgi import get_wsgi_application

    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


schema = load_schema()


@pytest.fixture
def app_in_test_transaction(db, settings):
    # Fuzzing sends far more requests per second than a shop: lift the storefront limits here
    # (they have their own tests in tests/security).
    settings.MERCHLAB_STOREFRONT_RATE_PER_KEY = ""
    settings.MERCHLAB_STOREFRONT_RATE_PER_VISITOR = ""
    settings.MERCHLAB_STOREFRONT_RATE_PER_ADDRESS = ""
    # Like Django's test client: the WSGI handler must not close the test's connection (and its
    # transaction) at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def keys(app_in_test_transaction, shop, products):
    return shop


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_without_server_errors_and_matches_its_schema(case, keys):
    path = case.operation.path
    if path.startswith("/api/v1/storefront/"):
        headers = {"X-Storefront-Key": keys.publishable_key}
    else:
        headers = {"Authorization": f"Bearer {keys.secret_key}"}
    case.call_and_validate(headers=headers, checks=CHECKS)


# Regressions the fuzzing found, kept as plain tests so they run fast and name the input.


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"avoid_words": True},
        {"prefer_phrases": 5},
        {"examples": [1]},
        {"examples": [{"kind": "no-such-kind", "text": "x"}]},
    ],
)
def test_brand_voice_refuses_malformed_lists_with_400(api, shop, body):
    from django.urls import NoReverseMatch, reverse

    try:
        url = reverse("api-brand-voice")
    except NoReverseMatch:
        url = "/api/v1/brand-voice"
    response = api.as_key(shop.secret_key).patch(url, body, format="json")
    if response.status_code == 404:
        pytest.skip("the brand voice API (contentgen) is not installed")
    assert response.status_code == 400, response.content[:300]


@pytest.mark.django_db
def test_jobs_list_answers_the_documented_cursor_page(api, shop):
    response = api.as_key(shop.secret_key).get("/api/v1/jobs")
    assert response.status_code == 200
    assert set(response.json()) == {"next", "previous", "results"}
