"""Every write of the experiments app: lifecycle, exposures, roll-ups, shipping the winner."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min, Prefetch
from django.utils import timezone

from merchandising.catalog.models import Product
from merchandising.catalog.services import copy_value_clean, live_copy_publish

from . import assignment
from .models import Experiment, Exposure, Variant, VariantDay, weights_check

log = logging.getLogger(__name__)

Status = Experiment.Status
LIFECYCLE = {
    "start": ({Status.DRAFT, Status.PAUSED}, Status.RUNNING),
    "pause": ({Status.RUNNING}, Status.PAUSED),
    "stop": ({Status.RUNNING, Status.PAUSED, Status.DRAFT}, Status.STOPPED),
}
# Fields a running experiment may not change (they would bias what has been measured).
FROZEN_WHILE_RUNNING = {
    "kind", "field", "placement", "segment", "traffic_share", "attribution_window_hours",
}  # fmt: skip


# --------------------------------------------------------------------------- create / edit


def _variants_clean(
    *, experiment: Experiment, variants: Sequence[dict], products: Sequence[Product]
) -> list[Variant]:
    if len(variants) < 2:
        raise ValidationError({"variants": "An experiment needs at least two variants."})
    names = [str(v.get("name", "")).strip() for v in variants]
    if any(not n or len(n) > 60 for n in names):
        raise ValidationError({"variants": "Every variant needs a name of at most 60 characters."})
    if len(set(names)) != len(names):
        raise ValidationError({"variants": "Variant names must be unique."})
    try:
        weights = [float(v.get("weight", 1.0 / len(variants))) for v in variants]
    except (TypeError, ValueError):
        raise ValidationError({"weights": "Weights must be numbers."}) from None
    if any(w <= 0 for w in weights):
        raise ValidationError({"weights": "Every variant needs a positive weight."})
    weights_check(weights)
    controls = [i for i, v in enumerate(variants) if v.get("is_control")]
    if len(controls) > 1:
        raise ValidationError({"variants": "Only one variant can be the control."})
    control_index = controls[0] if controls else 0
    product_ids = {p.pk for p in products}
    out = []
    for i, (v, name, w) in enumerate(zip(variants, names, weights, strict=True)):
        if not isinstance(v.get("payload") or {}, dict):
            raise ValidationError({"variants": f"Variant {name}: the payload must be an object."})
        payload = dict(v.get("payload") or {})
        if experiment.kind == Experiment.Kind.COPY:
            copy = {}
            if not isinstance(payload.get("copy") or {}, dict):
                raise ValidationError(
                    {"variants": f"Variant {name}: copy must map product ids to texts."}
                )
            for pid, value in (payload.get("copy") or {}).items():
                if not str(pid).strip().isdigit() or int(pid) not in product_ids:
                    raise ValidationError(
                        {"variants": f"Variant {name}: product {pid} is not in the experiment."}
                    )
                copy[str(int(pid))] = copy_value_clean(experiment.field, value)
            if i != control_index and not copy:
                raise ValidationError({"variants": f"Variant {name} has no alternative copy."})
            payload["copy"] = copy
        else:
            allowed = {
                "strategy",
                "fallback_strategy",
                "filters",
                "rules",
                "diversity",
                "fixed_skus",
                "limit",
            }
            unknown = set(payload) - allowed
            if unknown:
                raise ValidationError(
                    {"variants": f"Variant {name}: unknown placement settings {sorted(unknown)}."}
                )
        out.append(
            Variant(
                merchant=experiment.merchant,
                experiment=experiment,
                name=name,
                position=i,
                is_control=i == control_index,
                weight=w,
                payload=payload,
            )  # fmt: skip
        )
    return out


@transaction.atomic
def experiment_create(
    *,
    merchant,
    key: str,
    name: str,
    kind: str,
    variants: Sequence[dict],
    hypothesis: str = "",
    field: str = "",
    products: Iterable[Product] = (),
    placement=None,
    traffic_share: float = 1.0,
    attribution_window_hours: int = 72,
    planned_sample_size: int | None = None,
    minimum_detectable_effect: float = 0.05,
    sequential: bool = True,
    guardrails: Sequence[str] = (),
    segment: str = "",
    user=None,
) -> Experiment:
    """Create a draft experiment with its variants.

    variants: [{"name", "weight", "is_control", "payload"}]; copy payloads are
    {"copy": {product_id: text}} (products not listed show their live copy), placement payloads
    the placement settings the variant overrides (e.g. {"strategy": "popularity"}).
    segment: a copy experiment for one shopper segment (its key): only its members take part,
    the control shows them the general live copy, and shipping makes the winner that segment's
    copy."""
    products = list(products)
    if any(p.merchant_id != merchant.pk for p in products):
        raise ValidationError({"products": "Unknown product."})
    if kind == Experiment.Kind.COPY and not products:
        raise ValidationError({"products": "A copy experiment needs at least one product."})
    experiment = Experiment(
        merchant=merchant, key=key, name=name, kind=kind, hypothesis=hypothesis, field=field or "",
        placement=placement, traffic_share=traffic_share, attribution_window_hours=attribution_window_hours,
        planned_sample_size=planned_sample_size, minimum_detectable_effect=minimum_detectable_effect,
        sequential=sequential, guardrails=list(guardrails), created_by=user if getattr(user, "pk", None) else None,
        segment=(segment or "").strip(),
    )  # fmt: skip
    experiment.full_clean()
    rows = _variants_clean(experiment=experiment, variants=variants, products=products)
    experiment.save()
    for row in rows:
        row.experiment = experiment
        row.full_clean()
    Variant.objects.bulk_create(rows)
    if products:
        experiment.products.set(products)
    return experiment


def experiment_create_from_drafts(
    *, merchant, key: str, name: str, drafts: Sequence, **fields: Any
) -> Experiment:
    """A copy experiment whose variants are approved drafts (contentgen.CopyDraft): control A is
    the live copy, then one variant per draft variant number (B, C, ...), equal weights unless
    `variants_weights` is given. Only approved drafts of one field, for products that still
    exist, are accepted: the storefront only ever shows copy a reviewer approved.

    Drafts written for a shopper segment make a segment experiment (`Experiment.segment`):
    their copy against the general live copy, among that segment's members only. Drafts of
    different segments, or of a segment and of all shoppers, cannot share one experiment."""
    from contentgen import specs

    drafts = list(drafts)
    if not drafts:
        raise ValidationError({"drafts": "Choose at least one approved draft."})
    problems = [
        f"draft {d.pk}"
        for d in drafts
        if d.merchant_id != merchant.pk or d.status != "approved" or d.product_id is None
    ]
    if problems:
        raise ValidationError(
            {
                "drafts": f"Only approved drafts of existing products can be tested ({', '.join(problems)})."
            }
        )
    segments = {d.segment or "" for d in drafts}
    if len(segments) != 1:
        raise ValidationError(
            {
                "drafts": "All drafts of one experiment must be written for the same shoppers: "
                "drafts for different segments (or for a segment and for all shoppers) "
                "need separate experiments."
            }
        )
    field = {d.field for d in drafts}
    if len(field) != 1:
        raise ValidationError(
            {"drafts": "All drafts of one experiment must be for the same copy field."}
        )
    by_variant: dict[int, dict[int, Any]] = defaultdict(dict)
    for d in drafts:
        if d.product_id in by_variant[d.variant]:
            raise ValidationError(
                {"drafts": f"Two drafts for product {d.sku} in the same variant."}
            )
        by_variant[d.variant][d.product_id] = d
    weights = fields.pop("variants_weights", None)
    n = len(by_variant) + 1
    weights = weights or [round(1 / n, 6)] * (n - 1) + [round(1 - round(1 / n, 6) * (n - 1), 6)]
    variants = [{"name": "A", "weight": weights[0], "is_control": True}]
    for i, number in enumerate(sorted(by_variant), start=1):
        ds = by_variant[number]
        variants.append(
            {
                "name": chr(ord("A") + i),
                "weight": weights[i],
                "payload": {
                    "copy": {str(pid): specs.live_value(d.kind, d.text) for pid, d in ds.items()},
                    "drafts": {str(pid): d.pk for pid, d in ds.items()},
                },
            }
        )
    products = list(
        Product.objects.filter(merchant=merchant, pk__in={d.product_id for d in drafts})
    )
    return experiment_create(
        merchant=merchant, key=key, name=name, kind=Experiment.Kind.COPY, field=field.pop(), products=products,
        variants=variants, segment=segments.pop(), **fields,
    )  # fmt: skip


def experiment_drafts_check(*, experiment: Experiment) -> list[str]:
    """Withdraw alternative copy whose source draft was deleted or is no longer approved after
    the start (those visitors then see the live copy; the report warns). Returns what changed."""
    if not apps.is_installed("contentgen"):
        return []
    CopyDraft = apps.get_model("contentgen", "CopyDraft")
    changed = []
    for variant in experiment.variants.all():
        sources = variant.payload.get("drafts") or {}
        if not sources:
            continue
        ok = set(
            CopyDraft.objects.filter(pk__in=list(sources.values()), status="approved").values_list(
                "pk", flat=True
            )
        )
        for pid, draft_id in sources.items():
            if draft_id not in ok and pid not in variant.payload.get("withdrawn", []):
                variant_copy_withdraw(experiment=experiment, variant=variant, product_id=int(pid))
                changed.append(f"{variant.name}:{pid}")
    return changed


@transaction.atomic
def experiment_update(*, experiment: Experiment, **fields: Any) -> Experiment:
    """Change settings. Name, hypothesis, guardrails, sample size and inference may change any
    time; what decides who is exposed or what counts is frozen while the test runs."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    frozen = FROZEN_WHILE_RUNNING & set(fields)
    if experiment.status == Status.RUNNING and frozen:
        raise ValidationError(
            {sorted(frozen)[0]: "Pause or stop the experiment before changing this."}
        )
    if experiment.status == Status.STOPPED and set(fields) - {"name", "hypothesis"}:
        raise ValidationError({"status": "A stopped experiment can only be renamed."})
    for k, v in fields.items():
        if k in {"merchant", "key", "status", "run", "winner", "variants"}:
            raise ValidationError({k: "This cannot be changed here."})
        setattr(experiment, k, v)
    experiment.full_clean()
    experiment.save()
    _forget_now_and_on_commit(experiment.merchant_id)
    return experiment


@transaction.atomic
def experiment_weights_set(
    *, experiment: Experiment, weights: dict[str, float], restart: bool = False
) -> dict:
    """Change variant weights. Refused while the test has exposures unless `restart=True`,
    which discards its exposures and roll-ups and re-randomises (changing the split mid-test
    mixes visitors of different periods unevenly across arms: Simpson's paradox, SRM)."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    variants = list(experiment.variants.all())
    if set(weights) != {v.name for v in variants}:
        raise ValidationError({"weights": "Give a weight for every variant, by name."})
    new = [float(weights[v.name]) for v in variants]
    if any(w <= 0 for w in new):
        raise ValidationError({"weights": "Every variant needs a positive weight."})
    weights_check(new)
    exposed = experiment.exposures.count()
    warning = ""
    if experiment.status in (Status.RUNNING, Status.PAUSED) and exposed:
        if not restart:
            raise ValidationError(
                {"weights": f"Changing weights mid-test biases the result. Restart the test instead: it discards "
                 f"the {exposed:,} exposures so far."}
            )  # fmt: skip
        _restart(experiment)
        warning = f"Test restarted: {exposed:,} exposures discarded; visitors are assigned afresh."
    elif experiment.status == Status.STOPPED:
        raise ValidationError({"weights": "The experiment is stopped."})
    for v, w in zip(variants, new, strict=True):
        v.weight = w
    Variant.objects.bulk_update(variants, ["weight"])
    _forget_now_and_on_commit(experiment.merchant_id)
    return {"experiment": experiment, "warning": warning}


def _restart(experiment: Experiment) -> None:
    experiment.exposures.all().delete()
    experiment.days.all().delete()
    experiment.run += 1
    experiment.started_at = timezone.now() if experiment.status == Status.RUNNING else None
    experiment.rolled_up_at = None
    experiment.save(update_fields=["run", "started_at", "rolled_up_at", "updated_at"])


# --------------------------------------------------------------------------- lifecycle


def _conflicts(experiment: Experiment) -> list[Experiment]:
    running = Experiment.objects.filter(
        merchant_id=experiment.merchant_id, status=Status.RUNNING
    ).exclude(pk=experiment.pk)
    if experiment.kind == Experiment.Kind.PLACEMENT:
        return list(
            running.filter(kind=Experiment.Kind.PLACEMENT, placement_id=experiment.placement_id)
        )
    product_ids = list(experiment.products.values_list("pk", flat=True))
    return list(
        running.filter(
            kind=Experiment.Kind.COPY, field=experiment.field, products__in=product_ids
        ).distinct()
    )


@transaction.atomic
def experiment_transition(*, experiment: Experiment, action: str, user=None) -> Experiment:
    """start | pause | stop. Starting is refused while another running experiment tests the
    same copy field of one of the products, or the same placement (the two would interfere)."""
    if action not in LIFECYCLE:
        raise ValidationError({"action": f"Unknown action {action!r}."})
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    allowed, target = LIFECYCLE[action]
    if experiment.status not in allowed:
        raise ValidationError(
            {"status": f"Cannot {action} an experiment that is {experiment.status}."}
        )
    if target == Status.RUNNING:
        clash = _conflicts(experiment)
        if clash:
            what = (
                "placement"
                if experiment.kind == Experiment.Kind.PLACEMENT
                else f"{experiment.field} of the same products"
            )
            # Kept simple: a test for one segment and a test for all shoppers (or another
            # segment) of the same product field would share visitors, so they never overlap.
            raise ValidationError(
                {
                    "status": f"Experiment {clash[0].key!r} is already running on the {what}; stop it first."
                }
            )
        if (
            experiment.kind == Experiment.Kind.COPY
            and not experiment.products.filter(status="active").exists()
        ):
            raise ValidationError({"products": "None of the experiment's products is active."})
        experiment_drafts_check(experiment=experiment)
        if experiment.started_at is None:
            experiment.started_at = timezone.now()
    if target == Status.STOPPED:
        experiment.stopped_at = timezone.now()
    experiment.status = target
    experiment.save(update_fields=["status", "started_at", "stopped_at", "updated_at"])
    _forget_now_and_on_commit(experiment.merchant_id)
    return experiment


def experiment_start(*, experiment: Experiment, user=None) -> Experiment:
    return experiment_transition(experiment=experiment, action="start", user=user)


def experiment_pause(*, experiment: Experiment, user=None) -> Experiment:
    return experiment_transition(experiment=experiment, action="pause", user=user)


def experiment_stop(*, experiment: Experiment, user=None) -> Experiment:
    return experiment_transition(experiment=experiment, action="stop", user=user)


@transaction.atomic
def experiment_ship(
    *, experiment: Experiment, variant_name: str | None = None, user=None
) -> Experiment:
    """Make a variant the permanent version and stop the test.

    Copy: each product's text goes live through `catalog.services.live_copy_publish` (so it is
    in the copy history with a note naming the experiment). Placement: the variant's settings
    become the placement's own through `storefront.services.placement_update`.
    Without `variant_name`, ships the winner the report names; refuses when there is none."""
    from .selectors import experiment_report

    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.shipped_at:
        raise ValidationError({"status": f"Variant {experiment.winner} was already shipped."})
    if variant_name is None:
        decision = experiment_report(experiment.merchant, experiment)["analysis"]["decision"]
        if decision["status"] != "winner":
            raise ValidationError(
                {"variant": "There is no winner to ship yet; name the variant to ship it anyway."}
            )
        variant_name = decision["winner"]
    variant = experiment.variants.filter(name=variant_name).first()
    if variant is None:
        raise ValidationError({"variant": f"No variant named {variant_name!r}."})
    note = f"Experiment {experiment.key}: shipped variant {variant.name}"
    if experiment.kind == Experiment.Kind.COPY:
        withdrawn = set(variant.payload.get("withdrawn", []))
        products = {str(p.pk): p for p in experiment.products.all()}
        sources = variant.payload.get("drafts") or {}
        for pid, value in (variant.payload.get("copy") or {}).items():
            if pid in withdrawn or pid not in products or products[pid].status != "active":
                continue
            _shipped_copy_publish(
                experiment=experiment,
                product=products[pid],
                segment=experiment.segment,
                value=value,
                draft_id=sources.get(pid),
                user=user,
                note=note,
            )
    elif variant.payload:
        from merchandising.storefront.services import placement_update

        placement_update(placement=experiment.placement, **variant.payload)
    experiment.winner = variant.name
    experiment.shipped_at = timezone.now()
    if experiment.status != Status.STOPPED:
        experiment.status = Status.STOPPED
        experiment.stopped_at = experiment.shipped_at
    experiment.save(update_fields=["winner", "shipped_at", "status", "stopped_at", "updated_at"])
    _forget_now_and_on_commit(experiment.merchant_id)
    log.info("%s (user %s)", note, getattr(user, "pk", None))
    return experiment


def _shipped_copy_publish(
    *, experiment, product, value, draft_id, user, note: str, segment: str = ""
) -> None:
    """Through review when it is installed (the publish is then in its audit log), else
    straight through the catalog's one publish path. A segment experiment's winner becomes
    that segment's copy; the general live copy is left as it is."""
    if apps.is_installed("contentgen.review"):
        from contentgen.review.experiment_arms import experiment_copy_publish

        experiment_copy_publish(
            experiment=experiment,
            product=product,
            value=value,
            draft_id=draft_id,
            user=user,
            note=note,
            segment=segment,
        )
        return
    live_copy_publish(
        product=product,
        field=experiment.field,
        value=value,
        source="generated",
        user=user,
        note=note,
        segment=segment,
    )


@transaction.atomic
def variant_copy_withdraw(*, experiment: Experiment, variant: Variant, product_id: int) -> Variant:
    """Stop serving one product's alternative copy (it was rejected or deleted after the start):
    visitors in that variant see the live copy of that product from now on. The report warns."""
    variant = Variant.objects.select_for_update().get(pk=variant.pk, experiment=experiment)
    withdrawn = set(variant.payload.get("withdrawn", []))
    withdrawn.add(str(product_id))
    variant.payload = {**variant.payload, "withdrawn": sorted(withdrawn)}
    variant.save(update_fields=["payload"])
    _forget_now_and_on_commit(experiment.merchant_id)
    return variant


# --------------------------------------------------------------------------- serving


# Running experiments per merchant, held in this process so a storefront request costs one
# INSERT (the exposure) and no reads. Lifecycle writes bump a version in the shared cache (Redis
# in production), which every process checks per request; the TTL is a safety net.
RUNNING_CACHE_SECONDS = 30
_running_cache: dict[int, tuple[float, object, list[Experiment]]] = {}


def _version_key(merchant_id: int) -> str:
    return f"experiments:running:v:{merchant_id}"


def running_cache_forget(merchant_id: int) -> None:
    """Make every process reload this merchant's running experiments on its next request."""
    from django.core.cache import cache

    _running_cache.pop(merchant_id, None)
    cache.set(_version_key(merchant_id), time.time_ns(), None)


def _forget_now_and_on_commit(merchant_id: int) -> None:
    running_cache_forget(merchant_id)
    transaction.on_commit(lambda: running_cache_forget(merchant_id))


def running_experiments(merchant_id: int) -> list[Experiment]:
    """This merchant's running experiments with variants, products and placement loaded."""
    from django.core.cache import cache

    version = cache.get(_version_key(merchant_id))
    now = time.monotonic()
    hit = _running_cache.get(merchant_id)
    if hit is not None and hit[0] > now and hit[1] == version:
        return hit[2]
    experiments = list(
        Experiment.objects.filter(merchant_id=merchant_id, status=Status.RUNNING)
        .select_related("placement")
        .prefetch_related(
            "variants",
            Prefetch("products", queryset=Product.objects.only("pk", "sku", "merchant_id")),
        )
    )
    for e in experiments:
        e.product_ids = {p.pk for p in e.products.all()}
    _running_cache[merchant_id] = (now + RUNNING_CACHE_SECONDS, version, experiments)
    return experiments


def _running(
    merchant, *, kind: str, product: Product | None = None, field: str | None = None, placement=None
):
    found = []
    for e in running_experiments(merchant.pk):
        if e.kind != kind:
            continue
        if product is not None and product.pk not in e.product_ids:
            continue
        if field and e.field != field:
            continue
        if placement is not None and e.placement_id != placement.pk:
            continue
        found.append(e)
    return found


def _segment_member(experiment: Experiment, visitor_id: str) -> bool:
    """Whether the visitor takes part in this experiment's segment: always for a test for all
    shoppers; for a segment experiment, only a current member of that (active) segment."""
    if not experiment.segment:
        return True
    if not apps.is_installed("recsys.segments") or not experiment.segment.isdigit():
        return False
    Membership = apps.get_model("segments", "SegmentMembership")
    return Membership.objects.filter(
        merchant_id=experiment.merchant_id,
        segment_id=int(experiment.segment),
        segment__is_active=True,
        visitor_id=visitor_id,
    ).exists()


def _assign(experiment: Experiment, visitor_id: str) -> Variant | None:
    """The visitor's variant, or None outside the traffic share or, for a segment experiment,
    outside the segment (those visitors are not in the test: no exposure, normal copy)."""
    if not _segment_member(experiment, visitor_id):
        return None
    variants = list(experiment.variants.all())  # prefetched, ordered by position
    index = assignment.variant_index(
        experiment.seed, visitor_id, tuple(v.weight for v in variants), experiment.traffic_share
    )
    return None if index is None else variants[index]


def exposures_record(
    *, experiment: Experiment, pairs: Iterable[tuple[str, Variant]], when: datetime | None = None
) -> None:
    """Record first exposures; a visitor already exposed keeps its first row (ON CONFLICT DO NOTHING)."""
    when = when or timezone.now()
    rows = [
        Exposure(
            merchant_id=experiment.merchant_id,
            experiment=experiment,
            variant=v,
            visitor_id=vid,
            first_seen=when,
        )
        for vid, v in pairs
    ]
    Exposure.objects.bulk_create(rows, ignore_conflicts=True)


def exposure_record_and_variant(
    *,
    merchant,
    visitor_id: str | None,
    product: Product | None = None,
    field: str | None = None,
    placement=None,
) -> Variant | None:
    """The visitor's variant of the running experiment on this product (copy field) or placement,
    recording the first exposure; None when no experiment runs there, the visitor is outside its
    traffic share, or the visitor id is missing or invalid (they then see the live version).

    Storefront endpoints call this: the product endpoint with product= (and field=), the
    recommendations endpoint with placement=. For copy, the variant's text for the product is
    `variant_copy(variant, product)`; for placements, `variant.payload` holds the settings."""
    try:
        visitor_id = assignment.validate_visitor_id(visitor_id)
    except ValueError:
        return None
    if placement is not None:
        found = _running(merchant, kind=Experiment.Kind.PLACEMENT, placement=placement)
    elif product is not None:
        found = _running(merchant, kind=Experiment.Kind.COPY, product=product, field=field)
    else:
        raise ValueError("give product= or placement=")
    if not found:
        return None
    experiment = found[0]  # starting refuses overlaps, so there is at most one
    variant = _assign(experiment, visitor_id)
    if variant is not None:
        exposures_record(experiment=experiment, pairs=[(visitor_id, variant)])
    return variant


def experiment_visitor_assign(
    *, experiment: Experiment, visitor_id: str, when: datetime | None = None, record: bool = True
) -> Variant | None:
    """The visitor's variant of this experiment (whatever its status), recording the exposure at
    `when` (default now) unless record=False. For simulators and back-fills that know the
    experiment; storefront code uses `exposure_record_and_variant`."""
    visitor_id = assignment.validate_visitor_id(visitor_id)
    variant = _assign(experiment, visitor_id)
    if variant is not None and record:
        exposures_record(experiment=experiment, pairs=[(visitor_id, variant)], when=when)
    return variant


def variant_copy(variant: Variant, product: Product):
    """The variant's text for this product, or None (serve the live copy)."""
    pid = str(product.pk)
    if pid in variant.payload.get("withdrawn", ()):
        return None
    return (variant.payload.get("copy") or {}).get(pid)


def product_copy_hook(*, request, product: Product, visitor_id: str | None, data: dict) -> None:
    """storefront PRODUCT_COPY_HOOKS entry: substitute each running copy experiment's text."""
    if not visitor_id:
        return
    merchant = getattr(request, "merchant", None) or product.merchant
    for experiment in _running(merchant, kind=Experiment.Kind.COPY, product=product):
        try:
            vid = assignment.validate_visitor_id(visitor_id)
        except ValueError:
            return
        variant = _assign(experiment, vid)
        if variant is None:
            continue
        exposures_record(experiment=experiment, pairs=[(vid, variant)])
        value = variant_copy(variant, product)
        if value is None and experiment.segment:
            # the control of a segment test is the general copy, even where the segment
            # already has copy of its own for this field
            value = _general_live_value(product, experiment.field)
        if value is not None:
            data.setdefault("copy", {})[experiment.field] = value


def _general_live_value(product: Product, field: str):
    from merchandising.catalog.models import LiveCopy

    return (
        LiveCopy.objects.filter(product=product, field=field)
        .values_list("value", flat=True)
        .first()
    )


def visitor_assignments(*, merchant, visitor_id: str, record: bool = True) -> list[dict]:
    """Every running experiment's variant for this visitor (for shops that render on their side);
    records the exposures unless record=False."""
    visitor_id = assignment.validate_visitor_id(visitor_id)
    out = []
    for experiment in running_experiments(merchant.pk):
        variant = _assign(experiment, visitor_id)
        if variant is None:
            continue
        if record:
            exposures_record(experiment=experiment, pairs=[(visitor_id, variant)])
        item: dict[str, Any] = {
            "experiment": experiment.key,
            "kind": experiment.kind,
            "variant": variant.name,
        }
        if experiment.kind == Experiment.Kind.COPY:
            item["field"] = experiment.field
            if experiment.segment:
                item["segment"] = experiment.segment
            item["copy"] = {
                p.sku: variant_copy(variant, p)
                for p in experiment.products.all()
                if variant_copy(variant, p) is not None
            }
        else:
            item["placement"] = experiment.placement.key
            item["settings"] = variant.payload
        out.append(item)
    return out


# --------------------------------------------------------------------------- roll-ups


def _event_model():
    return apps.get_model("tracking", "Event")


def experiment_rollup(
    *, experiment: Experiment, full: bool = False, now: datetime | None = None
) -> int:
    """Recompute the daily roll-ups of the days whose numbers can still change.

    A day's cohort (visitors first exposed that day) can gain conversions until the attribution
    window has passed, so only days from (now - window - 1 day) are recomputed, or all with
    full=True. Events come from tracking: Event(merchant, type view|click|add_to_cart|purchase|
    impression, visitor_id, sku, ts, value, placement). Copy tests count events on the
    experiment's products; placement tests count any purchase and add-to-cart, and clicks on
    this placement. Idempotent: the recomputed days' rows are replaced.

    Works one exposure day at a time with two range scans (that day's exposures, and the
    merchant's relevant events from that day to the end of the window) joined in memory by
    visitor id: linear in rows, unlike a correlated subquery per exposure.
    Returns the number of rows written."""
    Event = _event_model()
    now = now or timezone.now()
    experiment_drafts_check(experiment=experiment)
    window = timedelta(hours=experiment.attribution_window_hours)
    tz = timezone.get_current_timezone()
    exposures = Exposure.objects.filter(experiment=experiment)
    since = None
    if not full and experiment.rolled_up_at is not None:
        since = timezone.localdate(now - window) - timedelta(days=1)
    bounds = exposures.aggregate(first=Min("first_seen"), last=Max("first_seen"))
    events = Event.objects.filter(
        merchant_id=experiment.merchant_id, type__in=("purchase", "add_to_cart", "click")
    )
    if experiment.kind == Experiment.Kind.COPY:
        events = events.filter(sku__in=list(experiment.products.values_list("sku", flat=True)))
    placement_key = (
        experiment.placement.key if experiment.kind == Experiment.Kind.PLACEMENT else None
    )
    agg: dict[tuple[int, date], list] = {}
    converted_by_day: dict[date, set[str]] = {}
    if bounds["first"] is not None:
        day = bounds["first"].astimezone(tz).date()
        if since is not None:
            day = max(day, since)
        last_day = bounds["last"].astimezone(tz).date()
        while day <= last_day:
            start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
            stop = start + timedelta(days=1)
            cohort = list(
                exposures.filter(first_seen__gte=start, first_seen__lt=stop).values_list(
                    "visitor_id", "variant_id", "first_seen"
                )
            )
            if cohort:
                seen_at = {vid: first for vid, _, first in cohort}
                by_visitor: dict[str, list] = defaultdict(list)
                rows = events.filter(ts__gte=start, ts__lt=stop + window).values_list(
                    "visitor_id", "type", "ts", "value", "placement"
                )
                for vid, etype, ts, value, placement in rows.iterator(chunk_size=5000):
                    first = seen_at.get(vid)
                    if first is not None and first <= ts < first + window:
                        by_visitor[vid].append((etype, value, placement))
                converted = converted_by_day.setdefault(day, set())
                for vid, variant_id, _first in cohort:
                    a = agg.setdefault((variant_id, day), [0, 0, 0, 0, 0.0, 0.0])
                    a[0] += 1
                    evs = by_visitor.get(vid)
                    if not evs:
                        continue
                    revenue = sum(float(v or 0) for t, v, _ in evs if t == "purchase")
                    if any(t == "purchase" for t, _, _ in evs):
                        a[1] += 1
                        converted.add(vid)
                    a[2] += any(t == "add_to_cart" for t, _, _ in evs)
                    a[3] += any(
                        t == "click" and (placement_key is None or p == placement_key)
                        for t, _, p in evs
                    )
                    a[4] += revenue
                    a[5] += revenue * revenue
            day += timedelta(days=1)
    with transaction.atomic():
        stale = VariantDay.objects.filter(experiment=experiment)
        if since is not None:
            stale = stale.filter(day__gte=since)
        stale.delete()
        VariantDay.objects.bulk_create(
            [
                VariantDay(
                    merchant_id=experiment.merchant_id,
                    experiment=experiment,
                    variant_id=vid,
                    day=day,
                    exposures=a[0],
                    converters=a[1],
                    add_to_cart=a[2],
                    clickers=a[3],
                    revenue_sum=a[4],
                    revenue_sumsq=a[5],
                )  # fmt: skip
                for (vid, day), a in sorted(agg.items(), key=lambda kv: (kv[0][1], kv[0][0]))
            ],
            batch_size=1000,
        )
        _exposures_mark_converted(exposures, converted_by_day, tz)
        Experiment.objects.filter(pk=experiment.pk).update(rolled_up_at=now)
    experiment.rolled_up_at = now
    return len(agg)


def _exposures_mark_converted(exposures, converted_by_day: dict[date, set[str]], tz) -> None:
    """Flag each recomputed day's converters on their exposure rows (for the per-segment
    breakdown). Only rows whose flag changes are written."""
    for day, converted in converted_by_day.items():
        start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        cohort = exposures.filter(first_seen__gte=start, first_seen__lt=start + timedelta(days=1))
        cohort.filter(converted=True).exclude(visitor_id__in=list(converted)).update(
            converted=False
        )
        if converted:
            cohort.filter(converted=False, visitor_id__in=list(converted)).update(converted=True)


def experiments_rollup_running(*, merchant=None) -> int:
    """Roll up every running (and recently stopped) experiment; for the periodic task."""
    qs = Experiment.objects.filter(status__in=[Status.RUNNING, Status.PAUSED])
    if merchant is not None:
        qs = qs.filter(merchant=merchant)
    recent = Experiment.objects.filter(
        status=Status.STOPPED, stopped_at__gte=timezone.now() - timedelta(days=8)
    )
    if merchant is not None:
        recent = recent.filter(merchant=merchant)
    total = 0
    for experiment in list(qs) + list(recent):
        total += experiment_rollup(experiment=experiment)
    return total
