"""The demo's copy experiment: approved alternative copy (demo-written, labelled so), a copy test
made from it, simulated shoppers with a true effect the report detects, shipping the winner
changes what the storefront serves, and re-seeding duplicates nothing."""

import pytest
from django.apps import apps
from django.core.management import call_command

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.slow,
    pytest.mark.skipif(not apps.is_installed("contentgen.review"), reason="review not installed"),
]


@pytest.fixture
def demo(settings, tmp_path):
    from merchandising.demo.seed import seed_catalog, seed_merchant

    settings.VAR_DIR = tmp_path
    context = seed_merchant(say=lambda line: None)
    seed_catalog(context)
    return context


def test_demo_copy_experiment_finds_the_built_in_difference_and_ships_it(demo, api):
    from contentgen.models import CopyDraft
    from contentgen.review.models import ReviewDecision
    from merchandising.demo import experiments_demo
    from merchandising.experiments import services
    from merchandising.experiments.models import Experiment, Exposure
    from merchandising.experiments.selectors import experiment_report

    experiments_demo.seed_copy_experiment(demo)
    exp = Experiment.objects.get(merchant=demo.merchant, key=experiments_demo.COPY_KEY)
    assert exp.kind == "copy" and exp.status == "stopped" and not exp.shipped_at
    products = list(exp.products.order_by("sku"))
    assert len({p.category.split(">")[0] for p in products}) >= 8  # spread over the shop
    drafts = CopyDraft.objects.filter(merchant=demo.merchant, sku__in=[p.sku for p in products])
    assert drafts.count() == len(products)
    assert all(d.status == "approved" and "not by the LLM" in d.model_id for d in drafts)
    decisions = ReviewDecision.objects.filter(experiment=exp, action="experiment")
    assert decisions.count() == len(products)
    assert {d.actor for d in decisions} == {"reviewer"}

    report = experiment_report(demo.merchant, exp)
    analysis = report["analysis"]
    assert analysis["decision"]["status"] == "winner" and analysis["decision"]["winner"] == "B"
    b = next(v for v in analysis["variants"] if v["name"] == "B")
    assert b["always_valid_ci_low"] > 0  # the uncertainty is shown and excludes no effect
    assert not report["warnings"]  # no sample-ratio mismatch
    exposures = Exposure.objects.filter(experiment=exp).count()

    experiments_demo.seed_copy_experiment(demo)  # idempotent
    assert Experiment.objects.filter(merchant=demo.merchant, key=exp.key).count() == 1
    assert Exposure.objects.filter(experiment=exp).count() == exposures
    assert CopyDraft.objects.filter(merchant=demo.merchant).count() == len(products)

    store = api.as_storefront(demo.keys["publishable"])
    sku = products[0].sku
    before = store.get(f"/api/v1/storefront/products/{sku}").json()["copy"]["description"]
    services.experiment_ship(experiment=exp, user=demo.owner)
    after = store.get(f"/api/v1/storefront/products/{sku}").json()["copy"]["description"]
    assert after != before
    assert after == experiments_demo.alternative_description(products[0].facts())
    assert ReviewDecision.objects.filter(experiment=exp, action="approve").count() == len(products)


def test_simulate_traffic_command_fills_a_new_copy_test(demo, capsys):
    from contentgen.review.experiment_arms import drafts_approve_as_experiment
    from merchandising.demo import experiments_demo
    from merchandising.experiments.models import Experiment, VariantDay

    products = experiments_demo.copy_test_products(demo.merchant)[:3]
    ids = experiments_demo.copy_drafts_seed(demo, products)
    exp = drafts_approve_as_experiment(
        merchant=demo.merchant, draft_ids=ids, user=demo.owner, key="manual", name="Manual"
    )
    call_command("simulate_experiment_traffic", "manual", "--visitors", "300", "--days", "3")
    exp = Experiment.objects.get(pk=exp.pk)
    assert exp.status == "running"  # started by the command
    assert exp.exposures.count() > 100
    assert VariantDay.objects.filter(experiment=exp).count() >= 2
    assert "simulated visits to manual" in capsys.readouterr().out
    with pytest.raises(Exception, match="No experiment"):
        call_command("simulate_experiment_traffic", "missing")


def test_simulate_traffic_button_is_demo_only_and_runs_a_job(
    demo, client, shop, products, django_capture_on_commit_callbacks
):
    from contentgen.review.experiment_arms import drafts_approve_as_experiment
    from merchandising.demo import experiments_demo
    from merchandising.experiments import services
    from merchandising.jobs.models import Job

    ids = experiments_demo.copy_drafts_seed(
        demo, experiments_demo.copy_test_products(demo.merchant)[:2]
    )
    exp = drafts_approve_as_experiment(
        merchant=demo.merchant, draft_ids=ids, user=demo.owner, key="button", name="Button"
    )
    client.force_login(demo.owner)
    page = client.get(f"/m/demo/experiments/{exp.pk}/").content.decode()
    assert "Simulate traffic (demo)" in page
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(f"/m/demo/experiments/{exp.pk}/simulate/", follow=True)
    job = Job.objects.get(merchant=demo.merchant, kind=experiments_demo.SIMULATE_JOB_KIND)
    assert job.status == "succeeded", job.error
    assert job.result["visits"] > 0
    assert f"job #{job.pk}" in resp.content.decode()
    exp.refresh_from_db()
    assert exp.status == "running" and exp.exposures.count() > 100

    other = services.experiment_create(
        merchant=shop.merchant, key="other", name="Other", kind="copy", field="description", products=products[:1],
        variants=[{"name": "A", "weight": 0.5, "is_control": True},
                  {"name": "B", "weight": 0.5, "payload": {"copy": {str(products[0].pk): "B."}}}],
    )  # fmt: skip
    client.force_login(shop.owner)
    base = f"/m/{shop.merchant.slug}/experiments/{other.pk}/"
    assert "Simulate traffic" not in client.get(base).content.decode()
    assert client.post(base + "simulate/").status_code == 404
    assert not other.exposures.exists()
