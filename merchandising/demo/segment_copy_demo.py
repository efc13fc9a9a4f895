"""Demo: copy written for one shopper segment, waiting for review.

After the recommender is trained the shop's shoppers are clustered into segments (a job on the
worker; here in-process when none is found yet, so the demo starts with them), and the largest
found segment gets pending description drafts (demo-written, labelled so). The merchant reviews
them and can test them against the general copy from "Copy test from drafts".
"""

from __future__ import annotations

from django.apps import apps


def seed_segment_copy(context) -> None:
    if not apps.is_installed("recsys.segments") or not apps.is_installed("contentgen"):
        context.say("segment copy: the segments or copy apps are not installed")
        return
    from contentgen.services import segment_drafts_demo
    from recsys.segments.clustering import NotEnoughVisitors
    from recsys.segments.models import Segment
    from recsys.segments.services import segments_discover

    merchant = context.merchant
    found = Segment.objects.filter(merchant=merchant, is_active=True, kind=Segment.Kind.FOUND)
    if not found.exists():
        try:
            run = segments_discover(merchant=merchant)
        except NotEnoughVisitors as exc:
            context.say(f"segment copy: {exc}")
            return
        context.say(f"segments: {run.k} found among {run.visitors:,} shoppers ({run.criterion})")
    drafts = segment_drafts_demo(merchant=merchant)
    if not drafts:
        context.say("segment copy: no product of the largest segment's top category has copy")
        return
    segment = Segment.objects.filter(merchant=merchant, pk=int(drafts[0].segment)).first()
    context.say(
        f"segment copy: {len(drafts)} description drafts for {segment.name if segment else 'a segment'}"
        " wait for review (demo-written)"
    )
