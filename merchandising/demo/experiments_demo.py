"""Finished experiments for the demo, run by simulated shoppers against the real code paths.

Two placement tests on the home page's "for you" slot, each over the last two weeks:

* **"For you: personalised vs bestsellers"**: control A keeps the placement's LightFM strategy,
  B serves popularity. The simulated shoppers click and buy what suits their hidden tastes, and
  on top of that the simulation builds in a known truth: shoppers shown B are
  `TRUE_UPLIFT_B` (30 %) less likely to click and buy. The report should find A ahead.
* **"A/A check"**: two identical arms with no built-in difference, which the report must not
  call different.

The tests run on their own population of simulated shoppers (new visitors who only meet the
home placement), so the conversions the report counts come from the tested slot.

Each visit assigns the visitor with the experiments' own hashing, records the exposure, asks
`recsys.serving.recommend` for the arm's list, and lets the simulator react (impressions, clicks,
carts and purchases carrying the request id), stored through the events service. The roll-up and
statistics are the ones the report page uses.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

DAYS = 14
VISIT_PROBABILITY = 0.3  # chance that a simulated shopper opens the home page on a day
VISITORS = 3000
TRUE_UPLIFT_B = -0.30
PLACEMENT_KEYS = ("demo-home-strategy", "demo-home-aa")


def seed_experiments(context) -> None:
    from merchandising.experiments import assignment
    from merchandising.experiments import services as experiments
    from merchandising.experiments.models import Experiment
    from merchandising.storefront.models import Placement
    from merchandising.storefront.services import placements_create_defaults
    from merchandising.tracking.services import MAX_BATCH, events_ingest
    from recsys import serving
    from recsys.models import ModelVersion

    from .seed import DEMO_SEED, demo_simulator
    from .shoppers import ShopperSimulator, event_as_json

    merchant = context.merchant
    if Experiment.objects.filter(merchant=merchant, key__in=PLACEMENT_KEYS).exists():
        context.say("experiments: placement tests already run")
        return
    if not ModelVersion.objects.filter(merchant=merchant).exists():
        context.say("experiments: skipped (no trained recommender)")
        return
    placements_create_defaults(merchant=merchant)
    home = Placement.objects.get(merchant=merchant, key="home")
    tests = [
        experiments.experiment_create(
            merchant=merchant,
            key="demo-home-strategy",
            name="For you: personalised vs bestsellers",
            kind="placement",
            placement=home,
            hypothesis="Personalised recommendations convert better than a bestseller list on the home page.",
            variants=[
                {"name": "A personalised", "weight": 0.5, "is_control": True, "payload": {}},
                {"name": "B bestsellers", "weight": 0.5, "payload": {"strategy": "popularity"}},
            ],
            user=context.owner,
        ),
    ]
    # The A/A check runs on its own after the first test, since one placement runs one test at a time.
    aa = dict(
        merchant=merchant,
        key="demo-home-aa",
        name="A/A check on the home page",
        kind="placement",
        placement=home,
        hypothesis="Two identical arms: the report should find no difference.",
        variants=[
            {"name": "A", "weight": 0.5, "is_control": True, "payload": {}},
            {"name": "A'", "weight": 0.5, "payload": {}},
        ],
        user=context.owner,
    )
    organic = demo_simulator(context)
    simulator = ShopperSimulator(
        list(organic.products.values()),
        n_visitors=VISITORS,
        seed=DEMO_SEED + 1,
        start=organic.start,
        variant_uplift={"B bestsellers": TRUE_UPLIFT_B},
    )
    base_spec = serving.PlacementSpec.from_placement(home)
    end = timezone.now() - timedelta(hours=1)
    half = DAYS // 2
    schedules = [(tests[0], end - timedelta(days=DAYS), end - timedelta(days=half))]
    exposures_total = 0
    for index in range(2):
        if index == 1:
            tests.append(experiments.experiment_create(**aa))
            schedules.append((tests[1], end - timedelta(days=half), end))
        experiment, start, stop = schedules[index]
        experiments.experiment_start(experiment=experiment, user=context.owner)
        variants = list(experiment.variants.all())
        weights = tuple(v.weight for v in variants)
        batch: list[dict] = []
        days = (stop - start).days
        for day in range(days):
            for visitor in simulator.visitors:
                rng = random.Random(f"demo-exp:{experiment.key}:{visitor.visitor_id}:{day}")
                if rng.random() > VISIT_PROBABILITY:
                    continue
                ts = start + timedelta(days=day, seconds=rng.randint(8 * 3600, 22 * 3600))
                arm = assignment.variant_index(
                    experiment.seed, visitor.visitor_id, weights, experiment.traffic_share
                )
                if arm is None:
                    continue
                variant = variants[arm]
                experiments.exposures_record(
                    experiment=experiment, pairs=[(visitor.visitor_id, variant)], when=ts
                )
                exposures_total += 1
                strategy = (variant.payload or {}).get("strategy")
                spec = replace(base_spec, strategy=strategy) if strategy else base_spec
                served = serving.recommend(
                    merchant=merchant, spec=spec, visitor_id=visitor.visitor_id
                )
                request_id = uuid.UUID(int=rng.getrandbits(128)).hex
                reaction = simulator.react(
                    visitor.visitor_id,
                    [item.sku for item in served.items],
                    ts=ts,
                    request_id=request_id,
                    placement="home",
                    variant=variant.name,
                )
                batch.extend(event_as_json(e) for e in reaction)
                while len(batch) >= MAX_BATCH:
                    events_ingest(merchant=merchant, events=batch[:MAX_BATCH])
                    batch = batch[MAX_BATCH:]
        if batch:
            events_ingest(merchant=merchant, events=batch)
        experiments.experiment_rollup(experiment=experiment, full=True)
        experiments.experiment_stop(experiment=experiment, user=context.owner)
    context.say(
        f"experiments: {len(tests)} placement tests finished ({exposures_total:,} simulated visits)"
    )


# --------------------------------------------------------------------------- copy experiment

COPY_KEY = "demo-copy-descriptions"
COPY_DAYS = 14
COPY_VISITORS = 4000
COPY_VISIT_PROBABILITY = 0.35  # chance that a simulated shopper opens one tested product a day
COPY_PRODUCTS_PER_CATEGORY = 2
# The built-in truth: the rewritten descriptions (variant B) make a shopper who reads them this
# much more likely to add the product to the cart (and so to buy it).
TRUE_UPLIFT_COPY = 0.5
DEMO_DRAFT_MODEL = "demo-template (written by the demo seed from catalog facts, not by the LLM)"
DEMO_DRAFT_NOTE = (
    "Demo data: an alternative description the demo seed wrote from the catalog facts (the "
    "language model runs asynchronously in the demo), approved by the demo reviewer as an "
    "experiment arm."
)


def alternative_description(facts: dict) -> str:
    """A benefit-led rewrite of a product description, built only from its catalog facts
    (title, brand, category, attributes, price), so it states nothing the catalog does not."""
    leaf = facts["category"].split(">")[-1].strip()
    attributes = [
        (k.replace("_", " "), str(v))
        for k, v in sorted((facts.get("attributes") or {}).items())
        if v not in (None, "", [])
    ]
    lines = [f"{facts['title']}, from {facts['brand']}." if facts.get("brand") else ""]
    if attributes:
        details = "; ".join(f"{k}: {v}" for k, v in attributes[:4])
        lines.append(f"What you get: {details}.")
    lines.append(
        f"A {leaf.lower()} pick at {facts['currency']} {facts['price']}, ready to ship today."
    )
    return " ".join(line for line in lines if line)


def copy_test_products(merchant) -> list:
    """A few products of every top-level category that have a live description to compete
    with, are active and in stock: deterministic (by SKU), so re-runs pick the same ones."""
    from merchandising.catalog.models import LiveCopy, Product

    described = LiveCopy.objects.filter(merchant=merchant, field="description").values("product_id")
    chosen: dict[str, list] = {}
    for product in (
        Product.objects.filter(merchant=merchant, status="active", stock__gt=0, pk__in=described)
        .prefetch_related("live_copy")
        .order_by("sku")
    ):
        top = product.category.split(">")[0].strip()
        if len(chosen.setdefault(top, [])) < COPY_PRODUCTS_PER_CATEGORY:
            chosen[top].append(product)
    return [p for top in sorted(chosen) for p in chosen[top]]


def copy_drafts_seed(context, products) -> list[int]:
    """Pending description drafts for these products, labelled as demo-written (model_id), with
    the guards' verdict as generation records it; products whose alternative a hard guard flags
    are left out. Idempotent: one draft per product (variant 0, no job), updated in place."""
    from contentgen import specs
    from contentgen.guards import check_copy
    from contentgen.models import CopyDraft
    from contentgen.selectors import brand_voice_for

    voice = brand_voice_for(context.merchant).as_prompt_voice()
    spec = specs.get_spec("description")
    draft_ids = []
    for product in products:
        facts = product.facts()
        text = alternative_description(facts)
        guard = check_copy(spec.name, text, facts, voice)
        if guard.hard_count:
            continue
        draft, _ = CopyDraft.objects.update_or_create(
            job=None,
            product=product,
            kind=spec.name,
            variant=0,
            segment="",
            defaults={
                "merchant": context.merchant,
                "sku": product.sku,
                "field": spec.field,
                "text": text,
                "flags": guard.flag_dicts(),
                "passed": guard.passed,
                "coverage": guard.coverage,
                "model_id": DEMO_DRAFT_MODEL,
                "warnings": [DEMO_DRAFT_NOTE],
                "status": CopyDraft.Status.PENDING,
                "product_updated_at": product.updated_at,
            },
        )
        draft_ids.append(draft.pk)
    return draft_ids


def seed_copy_experiment(context) -> None:
    """Approved alternative descriptions for a set of products, a copy experiment created from
    them, and two weeks of simulated shoppers visiting those product pages with a true +50 %
    add-to-cart effect built into variant B; the experiment is stopped with its winner unshipped,
    so the merchant can read the report and press "Ship the winner"."""
    from django.apps import apps

    from merchandising.experiments.models import Experiment

    merchant = context.merchant
    if Experiment.objects.filter(merchant=merchant, key=COPY_KEY).exists():
        context.say("copy experiment: already run")
        return
    if not apps.is_installed("contentgen.review"):
        context.say("copy experiment: skipped (review is not installed)")
        return
    # All or nothing: an interrupted seed leaves no half-filled test for the re-run to skip.
    with transaction.atomic():
        _copy_experiment_run(context)


def _copy_experiment_run(context) -> None:
    from django.contrib.auth import get_user_model

    from contentgen.review.experiment_arms import drafts_approve_as_experiment

    from .seed import DEMO_SEED, demo_simulator
    from .shoppers import ShopperSimulator

    merchant = context.merchant
    products = copy_test_products(merchant)
    draft_ids = copy_drafts_seed(context, products)
    reviewer = get_user_model().objects.filter(username="reviewer").first() or context.owner
    experiment = drafts_approve_as_experiment(
        merchant=merchant,
        draft_ids=draft_ids,
        user=reviewer,
        key=COPY_KEY,
        name="Descriptions: live copy vs fact-first rewrite",
        hypothesis="Descriptions that lead with the product's facts and price make more "
        "shoppers add the product to their cart than the current copy.",
        note=DEMO_DRAFT_NOTE,
    )
    organic = demo_simulator(context)
    simulator = ShopperSimulator(
        list(organic.products.values()),
        n_visitors=COPY_VISITORS,
        seed=DEMO_SEED + 2,
        start=organic.start,
        variant_uplift={"B": TRUE_UPLIFT_COPY},
    )
    end = timezone.now() - timedelta(hours=1)
    visits = simulate_copy_traffic(
        experiment=experiment,
        simulator=simulator,
        start=end - timedelta(days=COPY_DAYS),
        days=COPY_DAYS,
        visit_probability=COPY_VISIT_PROBABILITY,
        user=context.owner,
    )
    from merchandising.experiments import services as experiments

    experiments.experiment_stop(experiment=experiment, user=context.owner)
    context.say(
        f"copy experiment: {len(draft_ids)} approved demo drafts tested on "
        f"{experiment.products.count()} products ({visits:,} simulated product-page visits)"
    )


def simulate_copy_traffic(
    *,
    experiment,
    simulator,
    start,
    days: int,
    visit_probability: float,
    user=None,
) -> int:
    """Simulated shoppers opening the experiment's product pages, day by day from ``start``.

    Each visit goes through the storefront's own code: the visitor is assigned and exposed by
    ``experiment_visitor_assign`` (the hashing and exposure write the product endpoint uses),
    sees ``variant_copy`` of their variant, and reacts (``ShopperSimulator.product_page``, which
    applies the simulator's true uplift for that variant); the events go through the events
    service; then the roll-up runs. Starts the experiment if it is a draft or paused. Returns
    the number of visits."""
    from merchandising.experiments import services as experiments
    from merchandising.tracking.services import MAX_BATCH, events_ingest

    from .shoppers import event_as_json

    if experiment.status != "running":
        experiment = experiments.experiment_start(experiment=experiment, user=user)
    merchant = experiment.merchant
    products = {p.sku: p for p in experiment.products.all() if p.status == "active"}
    skus = sorted(products)
    if not skus:
        return 0
    batch: list[dict] = []
    visits = 0
    exposed: set[str] = set()  # a later visit would keep the first exposure: skip the write
    for day in range(days):
        # One transaction a day: SQLite (the demo's default database) commits once a day,
        # not once per visit.
        with transaction.atomic():
            for visitor in simulator.visitors:
                rng = random.Random(f"demo-copy:{experiment.seed}:{visitor.visitor_id}:{day}")
                if rng.random() > visit_probability:
                    continue
                ts = start + timedelta(days=day, seconds=rng.randint(8 * 3600, 22 * 3600))
                sku = simulator.page_choice(rng, visitor.visitor_id, skus)
                variant = experiments.experiment_visitor_assign(
                    experiment=experiment,
                    visitor_id=visitor.visitor_id,
                    when=ts,
                    record=visitor.visitor_id not in exposed,
                )
                if variant is None:  # outside the traffic share: sees the live copy, not counted
                    continue
                exposed.add(visitor.visitor_id)
                visits += 1
                shown = experiments.variant_copy(variant, products[sku])
                batch.extend(
                    event_as_json(e)
                    for e in simulator.product_page(
                        visitor.visitor_id,
                        sku,
                        ts=ts,
                        # a product this variant has no text for shows the live copy: no effect
                        variant=variant.name if shown is not None else None,
                        visit_key=f"{experiment.seed}:{day}",
                    )
                )
                while len(batch) >= MAX_BATCH:
                    events_ingest(merchant=merchant, events=batch[:MAX_BATCH])
                    batch = batch[MAX_BATCH:]
    if batch:
        events_ingest(merchant=merchant, events=batch)
    experiments.experiment_rollup(experiment=experiment, full=True)
    return visits


SIMULATE_JOB_KIND = "demo_simulate_traffic"


def simulate_copy_experiment(
    experiment, *, days: int = 7, visitors: int = 3000, uplift: float = 0.3, seed: int | None = None
) -> int:
    """Demo traffic for a copy experiment a merchant made: ``visitors`` new simulated shoppers
    over the last ``days`` days, with the true relative ``uplift`` built into every non-control
    variant (0 for an A/A). Used by ``simulate_experiment_traffic`` and the demo's "Simulate
    traffic" button (a Job). Returns the number of visits."""
    from merchandising.demo.seed import DEMO_SEED, DemoContext, demo_simulator

    from .shoppers import ShopperSimulator

    if experiment.kind != "copy":
        raise ValueError("Only copy experiments: placement tests get traffic from the seed.")
    if experiment.status == "stopped":
        raise ValueError("The experiment is stopped.")
    if not 1 <= days <= 60 or not 1 <= visitors <= 50_000 or uplift <= -1:
        raise ValueError("Use 1-60 days, 1-50,000 visitors and an uplift above -1.")
    organic = demo_simulator(DemoContext(merchant=experiment.merchant, owner=None))
    simulator = ShopperSimulator(
        list(organic.products.values()),
        n_visitors=visitors,
        seed=DEMO_SEED + 3 if seed is None else seed,
        start=organic.start,
        variant_uplift={v.name: uplift for v in experiment.variants.all() if not v.is_control},
    )
    end = timezone.now() - timedelta(hours=1)
    return simulate_copy_traffic(
        experiment=experiment,
        simulator=simulator,
        start=end - timedelta(days=days),
        days=days,
        visit_probability=COPY_VISIT_PROBABILITY,
    )


def simulate_traffic_submit(*, experiment, user=None):
    """Queue demo traffic for a copy experiment as a Job (the dashboard's demo-only button)."""
    from merchandising.jobs.services import job_submit

    from .tasks import simulate_traffic_task

    return job_submit(
        merchant=experiment.merchant,
        kind=SIMULATE_JOB_KIND,
        task=simulate_traffic_task,
        params={"experiment_id": experiment.pk},
        user=user,
    )
