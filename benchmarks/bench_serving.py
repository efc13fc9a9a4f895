"""Serving benchmark: the recommendations endpoint behind gunicorn under a fixed request rate.

Setup (kept between runs in the database named by DATABASE_URL and in MEDIA_ROOT):
a merchant "bench-serving" with 50,000 products (categories, brands, tags, prices, 10% out of
stock), 100,000 visitors with 3 interactions each, a LightFM model trained on them with the
production code (`recsys.training.train`, default configuration except 2 epochs: latency does not
depend on how long the model trained) and registered as the active ModelVersion, plus recent
tracking events for 5,000 of the visitors (so session look-ups find rows).

Run: gunicorn (4 sync workers on this 2-core machine: a sync worker sits idle during its
request's Redis and PostgreSQL round trips, and two more workers fill those waits; in A/B runs at
200 requests/s 4 workers had fewer timeouts than 2 in both pairs; OPENBLAS_NUM_THREADS=1 so numpy
does not spawn threads per request) serving the app on 127.0.0.1; a second process generates load
open-loop at a fixed rate (default 200 requests/s for 60 s): each request is sent at its
scheduled time whether or not earlier ones finished, and latency is measured from that scheduled
time, so a stall shows in the figures instead of slowing the load down (no coordinated omission).
Requests mix: 50% known visitors on "home", 20% new visitors with a session on "home", 20%
"product_similar" with a sku, 10% "cart_complete" with a sku.

    python benchmarks/bench_serving.py [--rate 200] [--duration 60] [--workers 4]

Prints the figures and writes benchmarks/results/serving.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# One BLAS thread per process: a request's matrix-vector product is far too small to share,
# and idle BLAS threads spinning on 2 cores steal the CPU from the other worker.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SLUG = "bench-serving"
N_PRODUCTS = 50_000
N_VISITORS = 100_000
PER_VISITOR = 3
SESSION_VISITORS = 5_000


# --------------------------------------------------------------------------------------
# Setup (Django)


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchandising.settings")
    import django

    django.setup()


def build(force: bool = False) -> dict:
    from datetime import timedelta
    from decimal import Decimal

    import numpy as np
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.core.management import call_command
    from django.utils import timezone
    from tqdm import tqdm

    from merchandising.accounts.models import ApiKey, Merchant
    from merchandising.accounts.services import api_key_create, merchant_create
    from merchandising.catalog.models import Product
    from merchandising.tracking.models import Event
    from recsys.models import ModelVersion
    from recsys.training import TrainingConfig, TrainingData, train

    call_command("migrate", verbosity=0)
    rng = np.random.default_rng(7)
    merchant = Merchant.objects.filter(slug=SLUG).first()
    if merchant is not None and force:
        merchant.delete()
        merchant = None
    if merchant is None:
        merchant = merchant_create(name="Bench serving", slug=SLUG)
    info: dict = {}

    if Product.objects.filter(merchant=merchant).count() != N_PRODUCTS:
        Product.objects.filter(merchant=merchant).delete()
        tops = [f"Dept{i}" for i in range(12)]
        cats = [f"{tops[i % 12]} > Aisle{i % 40} > Shelf{i}" for i in range(240)]
        rows = []
        for i in tqdm(range(N_PRODUCTS), desc="products"):
            rows.append(
                Product(
                    merchant=merchant,
                    sku=f"B{i:06d}",
                    title=f"Product {i} {['steel', 'oak', 'wool', 'glass', 'linen'][i % 5]} {['pan', 'chair', 'scarf', 'vase', 'towel'][i % 7 % 5]}",
                    brand=f"Brand{i % 500}",
                    category=cats[i % 240],
                    price=Decimal(f"{5 + (i * 37) % 495}.99"),
                    stock=0 if i % 10 == 0 else 1 + i % 20,
                    tags=[f"tag{i % 30}"],
                    image_url=f"https://img.example.test/{i}.jpg",
                )
            )
        Product.objects.bulk_create(rows, batch_size=5000)
    info["products"] = Product.objects.filter(merchant=merchant).count()

    version = ModelVersion.objects.filter(merchant=merchant, is_active=True).first()
    if version is None or not default_storage.exists(version.artifact_path):
        ModelVersion.objects.filter(merchant=merchant).delete()
        # Visitors in 50 taste groups, each group prefers a slice of the catalog.
        users, items = [], []
        for u in range(N_VISITORS):
            group = u % 50
            base = group * (N_PRODUCTS // 50)
            for j in rng.integers(0, N_PRODUCTS // 50, size=PER_VISITOR):
                users.append(f"v{u}")
                items.append(f"B{base + int(j):06d}")
        records = list(
            Product.objects.filter(merchant=merchant).values(
                "sku", "title", "brand", "category", "price", "tags"
            )
        )
        item_rows = [
            {
                "item_id": r["sku"],
                "title": r["title"],
                "brand": r["brand"],
                "category": r["category"],
                "price": float(r["price"]),
                "tags": r["tags"],
            }
            for r in records
        ]
        config = TrainingConfig(epochs=2)
        bar = tqdm(total=100, desc="training")

        def progress(fraction: float, message: str) -> None:
            bar.n = int(fraction * 100)
            bar.set_postfix_str(message)
            bar.refresh()

        started = time.perf_counter()
        artifact = train(
            TrainingData(user_ids=users, item_ids=items, items=item_rows), config, progress
        )
        bar.close()
        info["setup_training_seconds"] = round(time.perf_counter() - started, 1)
        path = default_storage.save(
            f"recsys/{merchant.pk}/bench.npz", ContentFile(artifact.to_bytes())
        )
        version = ModelVersion.objects.create(
            merchant=merchant,
            version=1,
            status=ModelVersion.Status.READY,
            artifact_path=path,
            artifact_size=default_storage.size(path),
            is_active=True,
            counts={"users": len(artifact.user_ids), "items": len(artifact.item_ids)},
        )
    info["model_users"] = version.counts.get("users")
    info["model_items"] = version.counts.get("items")

    if Event.objects.filter(merchant=merchant).count() < SESSION_VISITORS:
        Event.objects.filter(merchant=merchant).delete()
        now = timezone.now()
        events = []
        for u in range(SESSION_VISITORS):
            for k in range(4):
                sku = f"B{int(rng.integers(0, N_PRODUCTS)):06d}"
                events.append(
                    Event(
                        merchant=merchant,
                        event_id=f"s{u}-{k}",
                        type="view" if k < 3 else "add_to_cart",
                        visitor_id=f"new{u}",
                        sku=sku,
                        ts=now - timedelta(minutes=10 - k),
                    )
                )
        Event.objects.bulk_create(events, batch_size=5000)
    info["events"] = Event.objects.filter(merchant=merchant).count()

    ApiKey.objects.filter(merchant=merchant, name="bench").delete()
    _, raw = api_key_create(merchant=merchant, name="bench", kind="publishable")
    info["key"] = raw
    return info


# --------------------------------------------------------------------------------------
# Load generator (no Django; runs in its own process)


def request_paths(n: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        x = rnd.random()
        sku = f"B{rnd.randrange(N_PRODUCTS):06d}"
        if x < 0.5:
            q = f"placement=home&visitor_id=v{rnd.randrange(N_VISITORS)}"
        elif x < 0.7:
            q = f"placement=home&visitor_id=new{rnd.randrange(SESSION_VISITORS)}"
        elif x < 0.9:
            q = f"placement=product_similar&visitor_id=v{rnd.randrange(N_VISITORS)}&sku={sku}"
        else:
            q = f"placement=cart_complete&visitor_id=new{rnd.randrange(SESSION_VISITORS)}&sku={sku}"
        out.append("/api/v1/storefront/recommendations?" + q)
    return out


async def _one(host: str, port: int, path: str, key: str, scheduled: float, timeout: float):
    loop = asyncio.get_running_loop()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nX-Storefront-Key: {key}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
        writer.close()
        latency = loop.time() - scheduled
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
        ok = status == 200 and b'"items":[{' in data
        return latency, status, ok
    except Exception:  # timeouts, resets: counted as errors
        return loop.time() - scheduled, -1, False


async def _load(
    host: str, port: int, key: str, rate: float, duration: float, timeout: float
) -> dict:
    loop = asyncio.get_running_loop()
    n = int(rate * duration)
    paths = request_paths(n)
    start = loop.time() + 0.2
    tasks = []
    for k, path in enumerate(paths):
        at = start + k / rate
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(_one(host, port, path, key, at, timeout)))
    results = await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    lat = sorted(r[0] for r in results)
    errors = sum(1 for r in results if not r[2])
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r[1])] = statuses.get(str(r[1]), 0) + 1

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000, 2)

    return {
        "requests": n,
        "rate_target": rate,
        "rate_achieved": round(n / elapsed, 1),
        "duration_s": round(elapsed, 1),
        "errors": errors,
        "statuses": statuses,
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": round(lat[-1] * 1000, 2),
        "mean_ms": round(sum(lat) / len(lat) * 1000, 2),
    }


def loadgen_main(args) -> None:
    result = asyncio.run(
        _load(args.host, args.port, args.key, args.rate, args.duration, args.timeout)
    )
    print(json.dumps(result))


# --------------------------------------------------------------------------------------
# gunicorn hooks: this module is also the gunicorn config (`-c python:bench_serving`), so the
# master loads the catalog and model snapshots once before forking and the workers start warm
# (numpy buffers are shared copy-on-write). The same pattern serves production.

preload_app = True


def on_starting(server) -> None:
    slug = os.environ.get("BENCH_WARM_SLUG")
    if not slug:
        return
    from django.db import connections

    from merchandising.accounts.models import Merchant
    from recsys import serving

    serving.warm([Merchant.objects.get(slug=slug).pk])
    connections.close_all()  # never share a database connection across fork


def ranking_only(n_items: int = N_PRODUCTS, dim: int = 64, runs: int = 200) -> dict:
    """The pure ranking step (recsys.ranking, no Django, no database) for one visitor over the
    catalog: score, filters, a category cap, a boost and a pin. Milliseconds per call."""
    import numpy as np

    from recsys import ranking

    rng = np.random.default_rng(0)
    table = ranking.ItemTable(
        skus=[f"P{i}" for i in range(n_items)],
        categories=[f"C{i % 12} > D{i % 240}" for i in range(n_items)],
        brands=[f"B{i % 500}" for i in range(n_items)],
        prices=rng.uniform(1, 500, n_items),
        stock=rng.integers(0, 10, n_items),
    )
    emb = rng.normal(size=(n_items, dim)).astype(np.float32)
    bias = rng.normal(size=n_items).astype(np.float32)
    rules = ranking.Rules.from_json(
        [
            {"action": "boost", "field": "brand", "value": "B3"},
            {"action": "pin", "sku": "P5", "position": 2},
        ]
    )
    div = ranking.Diversity(max_per_category=2, category_level=1)
    times = []
    for k in range(runs + 10):
        q = ranking.visitor_vector(user_vector=emb[k], session_vectors=emb[[k + 1, k + 2]])
        t = time.perf_counter()
        ranking.recommend(
            table=table,
            scores=ranking.personal_scores(q, emb, bias),
            reason="r",
            limit=8,
            rules=rules,
            diversity=div,
        )
        if k >= 10:
            times.append(time.perf_counter() - t)
    times.sort()
    return {
        "items": n_items,
        "dim": dim,
        "p50_ms": round(times[len(times) // 2] * 1000, 3),
        "p99_ms": round(times[int(len(times) * 0.99)] * 1000, 3),
    }


def cpu_per_request(key: str, n: int = 300) -> dict:
    """CPU seconds one process spends per request, in-process (Django test client): the
    capacity of an idle machine is about cores / this figure, whatever the load now."""
    from django.test import Client

    from recsys import serving

    serving.reset()
    client = Client(HTTP_X_STOREFRONT_KEY=key)
    paths = request_paths(n + 30, seed=5)
    for p in paths[:30]:
        client.get(p, HTTP_HOST="127.0.0.1")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for p in paths[30:]:
        r = client.get(p, HTTP_HOST="127.0.0.1")
        assert r.status_code == 200, r.content[:300]
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {
        "requests": n,
        "cpu_ms_per_request": round(cpu / n * 1000, 2),
        "wall_ms_per_request": round(wall / n * 1000, 2),
    }


# --------------------------------------------------------------------------------------
# Orchestration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, key: str, seconds: float = 180) -> None:
    import urllib.request

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/storefront/recommendations?placement=home&visitor_id=v1",
                headers={"X-Storefront-Key": key},
            )
            with urllib.request.urlopen(req, timeout=60) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(1)
    raise SystemExit("gunicorn did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--rebuild", action="store_true", help="recreate products, model and events"
    )
    parser.add_argument("--loadgen", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--key", default="", help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=5.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loadgen:
        loadgen_main(args)
        return

    django_setup()
    info = build(force=args.rebuild)
    key = info.pop("key")
    in_process = cpu_per_request(key)
    print("in-process:", in_process)
    ranking_step = ranking_only()
    print("ranking only:", ranking_step)
    from django.db import connections

    connections.close_all()

    port = free_port()
    env = dict(os.environ)
    env.update(
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        DEBUG="0",
        SECRET_KEY=env.get("BENCH_SECRET_KEY", "bench-" + "x1y2z3" * 10),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        DB_CONN_MAX_AGE="600",
        BENCH_WARM_SLUG=SLUG,
        PYTHONPATH=os.pathsep.join([str(ROOT / "benchmarks"), env.get("PYTHONPATH", "")]),
    )
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "merchandising.wsgi",
            "--config",
            "python:bench_serving",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_ready(port, key)
        # Warm every worker (each process loads the catalog and the model once).
        warm = subprocess.run(
            [
                sys.executable,
                __file__,
                "--loadgen",
                "--port",
                str(port),
                "--key",
                key,
                "--rate",
                "20",
                "--duration",
                "10",
                "--timeout",
                "60",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        print("warm-up:", warm.stdout.strip())
        run = subprocess.run(
            [
                sys.executable,
                __file__,
                "--loadgen",
                "--port",
                str(port),
                "--key",
                key,
                "--rate",
                str(args.rate),
                "--duration",
                str(args.duration),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        try:
            gunicorn.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gunicorn.kill()

    result.update(
        in_process=in_process,
        ranking_only=ranking_step,
        setup=info,
        workers=args.workers,
        machine=f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        load_avg_before=os.getloadavg(),
        command=f"python benchmarks/bench_serving.py --rate {args.rate:g} --duration {args.duration:g} --workers {args.workers}",
        targets={"p50_ms": 10, "p99_ms": 30, "errors": 0},
        passed=result["p50_ms"] <= 10 and result["p99_ms"] <= 30 and result["errors"] == 0,
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = (
        "serving.json"
        if args.rate == 200 and args.duration == 60
        else f"serving_rate{args.rate:g}_{args.duration:g}s.json"
    )
    (RESULTS / name).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
