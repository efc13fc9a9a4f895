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

from django.utils import timezone

DAYS = 14
VISIT_PROBABILITY = 0.3  # chance that a simulated shopper opens the home page on a day
VISITORS = 3000
TRUE_UPLIFT_B = -0.30


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
    if Experiment.objects.filter(merchant=merchant, key__startswith="demo-").exists():
        context.say("experiments: already run")
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
