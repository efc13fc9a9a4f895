"""Dashboard pages of copy generation: generate, watch, drafts, brand voice; roles and tenancy."""

import pytest

from contentgen.models import BrandVoice, CopyDraft
from merchandising.jobs.models import Job
from tests.conftest import PASSWORD


@pytest.fixture
def tiny_settings(settings, tiny_checkpoint):
    settings.CONTENTGEN_BASE_MODEL = tiny_checkpoint
    settings.CONTENTGEN_MAX_NEW_TOKENS = 8
    return settings


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_editor_generates_from_the_content_page_and_sees_drafts(
    client, shop, products, tiny_settings, django_capture_on_commit_callbacks
):
    login(client, shop.editor)
    base = f"/m/{shop.merchant.slug}/content/"
    page = client.get(base)
    assert page.status_code == 200 and b"Generate" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            base,
            {
                "scope": "skus",
                "skus": f"{products[0].sku}, {products[1].sku}",
                "kinds": ["seo_title"],
                "variants": 1,
            },
        )
    job = Job.objects.get(merchant=shop.merchant, kind="copy_generation")
    assert response.status_code == 302 and response["Location"].endswith(
        f"/content/generations/{job.pk}/"
    )
    page = client.get(response["Location"])
    assert b'data-status="succeeded"' in page.content
    assert page.content.count(b'class="draft"') == 2
    drafts = client.get(f"{base}drafts/?status=pending")
    assert (
        drafts.content.count(b'class="draft"')
        == CopyDraft.objects.filter(status="pending").count()
        == 2
    )


def test_generate_form_explains_missing_selection(client, shop, products):
    login(client, shop.editor)
    response = client.post(
        f"/m/{shop.merchant.slug}/content/", {"scope": "skus", "skus": "", "kinds": ["seo_title"]}
    )
    assert response.status_code == 200 and b"Enter at least one SKU" in response.content
    response = client.post(
        f"/m/{shop.merchant.slug}/content/",
        {"scope": "skus", "skus": "NOPE-1", "kinds": ["seo_title"]},
    )
    assert b"Unknown SKUs: NOPE-1" in response.content
    assert not Job.objects.exists()


def test_reviewer_cannot_start_generation(client, shop, products):
    login(client, shop.reviewer)
    response = client.post(
        f"/m/{shop.merchant.slug}/content/", {"scope": "all", "kinds": ["seo_title"]}
    )
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_other_merchants_generation_is_404(client, shop, other_shop, products, tiny_settings):
    from contentgen.services import generation_request

    job = generation_request(merchant=shop.merchant, kinds=["seo_title"], all_products=True)
    login(client, other_shop.owner)
    assert (
        client.get(f"/m/{other_shop.merchant.slug}/content/generations/{job.pk}/").status_code
        == 404
    )
    assert client.get(f"/m/{shop.merchant.slug}/content/").status_code == 404


def test_brand_voice_page_saves_and_keeps_approved_examples(client, shop):
    from contentgen.services import brand_voice_add_example

    brand_voice_add_example(merchant=shop.merchant, kind="seo_title", text="Approved title")
    login(client, shop.editor)
    url = f"/m/{shop.merchant.slug}/content/voice/"
    response = client.post(
        url,
        {
            "tone": "premium",
            "audience": "home cooks",
            "language": "en",
            "avoid_words": "cheap, deal\nbargain",
            "avoid_claims": "",
            "prefer_phrases": "hand-finished",
            "examples": "A pan for a lifetime of dinners.",
        },
    )
    assert response.status_code == 302
    voice = BrandVoice.objects.get(merchant=shop.merchant)
    assert voice.tone == "premium" and voice.avoid_words == ["cheap", "deal", "bargain"]
    assert {e["text"] for e in voice.examples} == {
        "A pan for a lifetime of dinners.",
        "Approved title",
    }
    page = client.get(url)
    assert b"Approved title" in page.content and b"premium" in page.content


def test_draft_text_is_escaped_in_pages(client, shop, products):
    CopyDraft.objects.create(
        merchant=shop.merchant,
        product=products[0],
        sku=products[0].sku,
        kind="seo_title",
        field="seo_title",
        text="<script>alert(1)</script>",
        flags=[],
        passed=False,
    )
    login(client, shop.editor)
    page = client.get(f"/m/{shop.merchant.slug}/content/drafts/")
    assert b"<script>alert(1)</script>" not in page.content
    assert b"&lt;script&gt;" in page.content
