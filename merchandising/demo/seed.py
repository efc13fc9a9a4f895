"""Seeding the demo merchant: idempotent steps that `seed_demo` and `run_demo` run in order.

Each step checks what exists and only adds what is missing, so re-running the demo does not
duplicate anything. Later areas add their steps (traffic, training, copy, experiments) to STEPS.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from merchandising.accounts import services as accounts
from merchandising.accounts.keys import key_hash
from merchandising.accounts.models import ApiKey, Merchant
from merchandising.catalog import csv_format
from merchandising.catalog.services import products_upsert
from merchandising.storefront.services import demo_storefront_adopt_key

from .catalog_data import catalog_csv_text

DEMO_SLUG = "demo"
DEMO_PASSWORD = "merchlab-demo"
DEMO_USERS = (("owner", "owner"), ("editor", "editor"), ("reviewer", "reviewer"))
DEMO_SEED = 42


def public_url() -> str:
    return os.environ.get(
        "MERCHLAB_PUBLIC_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
    ).rstrip("/")


@dataclass
class DemoContext:
    merchant: Merchant
    owner: object
    keys: dict[str, str] = field(default_factory=dict)
    say: Callable[[str], None] = print


def seed_merchant(say: Callable[[str], None] = print) -> DemoContext:
    User = get_user_model()
    users = {}
    with transaction.atomic():
        for username, _ in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@demo.merchlab.local"}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            users[username] = user
        merchant = Merchant.objects.filter(slug=DEMO_SLUG).first()
        if merchant is None:
            merchant = accounts.merchant_create(
                name="Hearth & Field",
                slug=DEMO_SLUG,
                owner=users["owner"],
                storefront_origins=[public_url()],
            )
        elif public_url() not in merchant.storefront_origins:
            accounts.merchant_update_origins(
                merchant=merchant, origins=[*merchant.storefront_origins, public_url()]
            )
        for username, role in DEMO_USERS:
            accounts.membership_set(merchant=merchant, user=users[username], role=role)
    context = DemoContext(merchant=merchant, owner=users["owner"], say=say)
    context.keys = _demo_keys(merchant, users["owner"])
    # The demo storefront page shows the widget with the demo's own publishable key at once.
    demo_storefront_adopt_key(merchant=merchant, raw=context.keys["publishable"])
    return context


def _demo_keys(merchant: Merchant, owner) -> dict[str, str]:
    """The demo's keys are kept in var/demo-keys.json (demo only) so that a re-run prints working
    keys again; a real merchant's keys are shown once and never stored in plain text."""
    path = Path(settings.VAR_DIR) / "demo-keys.json"
    keys: dict[str, str] = {}
    if path.exists():
        keys = json.loads(path.read_text())
    for kind in ("secret", "publishable"):
        raw = keys.get(kind)
        if (
            not raw
            or not ApiKey.objects.filter(
                merchant=merchant, key_hash=key_hash(raw), revoked_at__isnull=True
            ).exists()
        ):
            _, keys[kind] = accounts.api_key_create(
                merchant=merchant, name=f"Demo {kind} key", kind=kind, created_by=owner
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys))
    path.chmod(0o600)
    return keys


def seed_catalog(context: DemoContext) -> None:
    text = catalog_csv_text(seed=DEMO_SEED, images=f"{public_url()}/demo/images")
    report = csv_format.validate(text, default_currency=context.merchant.default_currency)
    if report.errors:  # the generator and the importer disagree: a bug, say it plainly
        raise RuntimeError(f"demo catalog does not validate: {report.errors[:3]}")
    with transaction.atomic():
        counts = products_upsert(merchant=context.merchant, rows=report.rows)
    context.say(
        f"catalog: {len(report.rows)} products ({counts['created']} new, {counts['updated']} updated)"
    )


DEMO_DAYS = 28
DEMO_VISITORS = 500


def demo_simulator(context: DemoContext):
    """The shopper simulator over the demo catalog, its simulated month ending now."""
    from datetime import timedelta

    from django.utils import timezone

    from merchandising.catalog.models import Product

    from .shoppers import ShopperSimulator

    products = list(
        Product.objects.filter(merchant=context.merchant).values(
            "sku", "category", "price", "brand", "status", "stock"
        )
    )
    for p in products:
        p["price"] = float(p["price"])
    start = (timezone.now() - timedelta(days=DEMO_DAYS)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return ShopperSimulator(products, n_visitors=DEMO_VISITORS, seed=DEMO_SEED, start=start)


def seed_traffic(context: DemoContext) -> None:
    """A month of simulated shoppers browsing, carting and buying, through the events service."""
    from tqdm import tqdm

    from merchandising.tracking.models import Event
    from merchandising.tracking.services import MAX_BATCH, events_ingest

    from .shoppers import event_as_json

    if Event.objects.filter(merchant=context.merchant).exists():
        context.say("traffic: already simulated")
        return
    simulator = demo_simulator(context)
    batch: list[dict] = []
    accepted = 0
    for event in tqdm(
        simulator.simulate(days=DEMO_DAYS), desc="simulating shoppers", unit=" events", leave=False
    ):
        batch.append(event_as_json(event))
        if len(batch) == MAX_BATCH:
            accepted += events_ingest(merchant=context.merchant, events=batch).accepted
            batch = []
    if batch:
        accepted += events_ingest(merchant=context.merchant, events=batch).accepted
    context.say(
        f"traffic: {accepted:,} events from {DEMO_VISITORS} simulated shoppers over {DEMO_DAYS} days"
    )


def seed_recommender(context: DemoContext) -> None:
    """Train the recommender now (a job, so it shows in the dashboard's job list)."""
    from merchandising.jobs.models import Job
    from recsys.models import ModelVersion
    from recsys.services import JOB_TRAIN
    from recsys.tasks import recommender_train_task

    if ModelVersion.objects.filter(merchant=context.merchant).exists():
        context.say("recommender: a model is already trained")
        return
    job = Job.objects.create(merchant=context.merchant, kind=JOB_TRAIN, params={"config": {}})
    recommender_train_task(job.pk)  # runs here, not on the broker: the demo starts with a model
    job.refresh_from_db()
    context.say(f"recommender: {job.status}: {job.message or job.error}")


def seed_copy_generation(context: DemoContext) -> None:
    """Queue copy generation for a few thin products on the gpu queue: the drafts appear for
    review while the demo runs (the gpu worker loads the model first)."""
    from contentgen.models import CopyDraft
    from contentgen.services import GENERATION_JOB_KIND, generation_request
    from merchandising.catalog.models import LiveCopy, Product
    from merchandising.jobs.models import Job

    if (
        CopyDraft.objects.filter(merchant=context.merchant).exists()
        or Job.objects.filter(merchant=context.merchant, kind=GENERATION_JOB_KIND).exists()
    ):
        context.say("copy: drafts already generated or queued")
        return
    described = LiveCopy.objects.filter(merchant=context.merchant, field="description").values(
        "product_id"
    )
    thin = list(
        Product.objects.filter(merchant=context.merchant, status="active")
        .exclude(pk__in=described)
        .order_by("sku")
        .values_list("sku", flat=True)[:8]
    )
    job = generation_request(
        merchant=context.merchant,
        kinds=["description", "seo_title", "ad_headline"],
        skus=thin,
        user=context.owner,
    )
    context.say(
        f"copy: generation job #{job.pk} queued for {len(thin)} products (the gpu worker runs it)"
    )


STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("catalog", seed_catalog),
    (  # the catalog's own copy as past copy the shop owns: it can fine-tune right away
        "copy-history",
        lambda c: __import__("merchandising.demo.copy_history", fromlist=["seed"]).seed(c),
    ),
    ("traffic", seed_traffic),
    ("recommender", seed_recommender),
    ("copy", seed_copy_generation),
    ("experiments", lambda context: _experiments(context)),
    ("copy-experiment", lambda context: _copy_experiment(context)),
    ("segment-copy", lambda context: _segment_copy(context)),
]


def _experiments(context: DemoContext) -> None:
    from .experiments_demo import seed_experiments

    seed_experiments(context)


def _copy_experiment(context: DemoContext) -> None:
    from .experiments_demo import seed_copy_experiment

    seed_copy_experiment(context)


def _segment_copy(context: DemoContext) -> None:
    from .segment_copy_demo import seed_segment_copy

    seed_segment_copy(context)


def seed_all(*, say: Callable[[str], None] = print, skip: tuple[str, ...] = ()) -> DemoContext:
    context = seed_merchant(say)
    for name, step in STEPS:
        if name in skip:
            continue
        say(f"== {name}")
        step(context)
    return context
