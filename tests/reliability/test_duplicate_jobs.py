"""One unfinished long job of a kind per merchant (issue 17, finding 17): against a live server,
repeated and concurrent requests for the same work answer with the job already queued or running
instead of queueing another; different work, and other merchants, still get their own jobs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from merchandising.catalog.services import product_bulk_upsert
from merchandising.jobs.models import Job
from tests.conftest import product_rows


@pytest.fixture
def no_worker():
    """Queued jobs stay queued (no eager run, no worker): what a busy worker looks like."""
    from merchandising.celery import app

    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True
    app.control.purge()


def post(live_server, key: str, path: str, json: dict | None = None) -> requests.Response:
    return requests.post(
        f"{live_server.url}{path}",
        json=json,
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )


@pytest.mark.django_db(transaction=True)
def test_a_second_discovery_answers_with_the_running_one(live_server, shop, other_shop, no_worker):
    first = post(live_server, shop.secret_key, "/api/v1/segments/discover")
    assert first.status_code == 202
    again = post(live_server, shop.secret_key, "/api/v1/segments/discover")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]

    # A fuzzer firing 20 at once still gets one job.
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(
            pool.map(
                lambda _: post(live_server, shop.secret_key, "/api/v1/segments/discover"),
                range(20),
            )
        )
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["id"] for a in answers} == {first.json()["id"]}
    assert Job.objects.filter(merchant=shop.merchant, kind="segments").count() == 1

    # Another merchant's discovery is its own job.
    theirs = post(live_server, other_shop.secret_key, "/api/v1/segments/discover")
    assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"]

    # Once the job has finished, a new request queues a new run.
    Job.objects.filter(pk=first.json()["id"]).update(status=Job.Status.SUCCEEDED)
    later = post(live_server, shop.secret_key, "/api/v1/segments/discover")
    assert later.status_code == 202 and later.json()["id"] != first.json()["id"]


@pytest.mark.django_db(transaction=True)
def test_the_same_generation_request_gets_the_unfinished_job_other_work_is_queued(
    live_server, shop, no_worker
):
    product_bulk_upsert(merchant=shop.merchant, items=product_rows(3))
    request = {"skus": ["SKU-0000", "SKU-0001"], "kinds": ["seo_title"], "variants": 1}
    first = post(live_server, shop.secret_key, "/api/v1/generation-jobs", request)
    assert first.status_code == 202, first.text
    again = post(live_server, shop.secret_key, "/api/v1/generation-jobs", request)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]

    other = post(
        live_server, shop.secret_key, "/api/v1/generation-jobs", {**request, "skus": ["SKU-0002"]}
    )
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]


@pytest.mark.django_db
def test_the_segments_page_says_the_discovery_is_already_under_way(client, shop, no_worker):
    client.force_login(shop.owner)
    url = f"/m/{shop.merchant.slug}/segments/discover/"
    client.post(url)
    page = client.post(url, follow=True).content.decode()
    assert "Segments are already being found" in page
    assert Job.objects.filter(merchant=shop.merchant, kind="segments").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_queued_job_shows_how_many_jobs_are_ahead_of_it(live_server, shop, other_shop, no_worker):
    for s in (shop, other_shop):
        product_bulk_upsert(merchant=s.merchant, items=product_rows(2))
    request = {"all": True, "kinds": ["seo_title"], "variants": 1}
    first = post(live_server, shop.secret_key, "/api/v1/generation-jobs", request).json()
    second = post(live_server, other_shop.secret_key, "/api/v1/generation-jobs", request).json()

    def shown(s, job_id: int) -> dict:
        return requests.get(
            f"{live_server.url}/api/v1/jobs/{job_id}",
            headers={"Authorization": f"Bearer {s.secret_key}"},
            timeout=120,
        ).json()

    assert shown(shop, first["id"])["jobs_ahead"] == 0
    assert shown(other_shop, second["id"])["jobs_ahead"] == 1

    from django.test import Client

    client = Client()
    client.force_login(other_shop.owner)
    page = client.get(f"/m/{other_shop.merchant.slug}/jobs/{second['id']}/").content.decode()
    assert "Waiting: 1 job ahead of it on the gpu worker." in page

    Job.objects.filter(pk=first["id"]).update(status=Job.Status.SUCCEEDED)
    assert shown(other_shop, second["id"])["jobs_ahead"] == 0
