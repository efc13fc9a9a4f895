"""Soak benchmark: recommendations and events together behind gunicorn for minutes, on loopback.

Uses the serving benchmark's data set and gunicorn configuration (benchmarks/bench_serving.py:
50,000 products, 100,000 visitors, a LightFM model, the master warms the catalog and model before
forking). A load process sends, open-loop (each request at its scheduled time whether or not
earlier ones finished; latency counted from that time):

- GET /api/v1/storefront/recommendations at --rate requests/s (default 200, the serving target),
- POST /api/v1/storefront/events batches of 500 new events at --events-rate batches/s (default 10,
  i.e. 5,000 events/s, the ingestion target),

with the default storefront rate limits in force, for --duration seconds (default 300). Meanwhile
this process samples the resident memory (RSS) of the gunicorn master and each worker every
--sample seconds and loads a dashboard page (the catalog list, signed in) to show that it stays
usable (its latency per minute). Passing means zero errors (every answer 200 with a body of the
right shape, every dashboard load 200; the script exits non-zero otherwise) and flat memory (the
RSS at each minute is printed and the slope over the second half of the run is reported in MB per
minute).

    python benchmarks/bench_soak.py [--duration 300] [--rate 200] [--events-rate 10]
        [--products 50000 --visitors 100000]   # smaller data for a quick run

Prints the figures and writes benchmarks/results/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

import bench_serving as serving_bench  # noqa: E402  (same folder; shares data set and config)


def configure_size(products: int, visitors: int) -> None:
    """Smaller data sets live under their own merchant so the full one is never rebuilt."""
    if (products, visitors) != (serving_bench.N_PRODUCTS, serving_bench.N_VISITORS):
        serving_bench.SLUG = f"bench-soak-{products}-{visitors}"
    serving_bench.N_PRODUCTS = products
    serving_bench.N_VISITORS = visitors
    serving_bench.SESSION_VISITORS = min(serving_bench.SESSION_VISITORS, max(1, visitors // 20))


# --------------------------------------------------------------------------------------
# Load generator (no Django; its own process)


async def _send(host, port, raw: bytes, timeout: float, scheduled: float, want: bytes):
    loop = asyncio.get_running_loop()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.write(raw)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
        writer.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
        return loop.time() - scheduled, status, status == 200 and want in data
    except Exception:  # timeouts and resets are errors
        return loop.time() - scheduled, -1, False


def _get(host, port, path, key) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nX-Storefront-Key: {key}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


def _post(host, port, path, key, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nX-Storefront-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


def events_body(batch: int, run_id: str, size: int = 500) -> bytes:
    n_products, n_visitors = serving_bench.N_PRODUCTS, serving_bench.N_VISITORS
    kinds = ("view", "view", "view", "click", "add_to_cart", "impression")
    events = [
        {
            "event_id": f"soak-{run_id}-{batch}-{i}",
            "type": kinds[(batch + i) % len(kinds)],
            "visitor_id": f"v{(batch * 7919 + i * 104729) % n_visitors}",
            "sku": f"B{(batch * 31 + i * 17) % n_products:06d}",
            "placement": "home",
        }
        for i in range(size)
    ]
    return json.dumps({"events": events}).encode()


async def _load(args) -> dict:
    loop = asyncio.get_running_loop()
    run_id = str(int(time.time()))
    rec_paths = serving_bench.request_paths(int(args.rate * args.duration) + 1, seed=11)
    schedule = [(k / args.rate, "rec", k) for k in range(int(args.rate * args.duration))]
    if args.events_rate > 0:
        schedule += [
            (k / args.events_rate, "events", k)
            for k in range(int(args.events_rate * args.duration))
        ]
    schedule.sort()
    start = loop.time() + 0.3
    tasks = []
    for offset, kind, k in schedule:
        at = start + offset
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if kind == "rec":
            raw, want = _get(args.host, args.port, rec_paths[k], args.key), b'"items":['
        else:
            body = events_body(k, run_id)
            raw = _post(args.host, args.port, "/api/v1/storefront/events", args.key, body)
            want = b'"accepted":500'
        task = asyncio.ensure_future(_send(args.host, args.port, raw, args.timeout, at, want))
        tasks.append((offset, kind, task))
    await asyncio.gather(*(t for _, _, t in tasks))
    elapsed = loop.time() - start

    out: dict = {"duration_s": round(elapsed, 1)}
    for kind in ("rec", "events"):
        rows = [(off, t.result()) for off, k, t in tasks if k == kind]
        if not rows:
            continue
        lat = sorted(r[0] for _, r in rows)
        statuses: dict[str, int] = {}
        for _, r in rows:
            statuses[str(r[1])] = statuses.get(str(r[1]), 0) + 1
        per_minute = []
        for minute in range(int(args.duration // 60) + 1):
            part = sorted(r[0] for off, r in rows if minute * 60 <= off < (minute + 1) * 60)
            if part:
                per_minute.append(
                    {
                        "minute": minute,
                        "requests": len(part),
                        "p50_ms": round(part[len(part) // 2] * 1000, 1),
                        "p99_ms": round(part[min(len(part) - 1, int(len(part) * 0.99))] * 1000, 1),
                    }
                )

        def pct(p, lat=lat):
            return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000, 1)

        out["recommendations" if kind == "rec" else "events"] = {
            "requests": len(rows),
            "rate_target": args.rate if kind == "rec" else args.events_rate,
            "errors": sum(1 for _, r in rows if not r[2]),
            "statuses": statuses,
            "p50_ms": pct(50),
            "p99_ms": pct(99),
            "max_ms": round(lat[-1] * 1000, 1),
            "per_minute": per_minute,
        }
    if "events" in out:
        out["events"]["events_per_s"] = round(out["events"]["requests"] * 500 / elapsed, 1)
    return out


# --------------------------------------------------------------------------------------
# Memory and dashboard sampling (this process)


def rss_sample(pid: int) -> dict:
    import psutil

    master = psutil.Process(pid)
    workers = master.children()
    return {
        "master_mb": round(master.memory_info().rss / 2**20, 1),
        "workers_mb": [round(w.memory_info().rss / 2**20, 1) for w in workers],
    }


def slope_mb_per_min(series: list[dict]) -> float | None:
    """Least-squares slope of total worker RSS over the second half of the run (the first half
    includes warm-up and allocator growth)."""
    half = [s for s in series if s["t"] >= series[-1]["t"] / 2] if series else []
    if len(half) < 3:
        return None
    xs = [s["t"] / 60 for s in half]
    ys = [sum(s["workers_mb"]) for s in half]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return (
        round(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den, 3)
        if den
        else None
    )


def rss_per_minute(series: list[dict]) -> str:
    """The workers' total RSS at the first sample of each minute, and at the end."""
    picked: dict[int, dict] = {}
    for sample in series:
        picked.setdefault(int(sample["t"] // 60), sample)
    if series and series[-1] not in picked.values():
        picked[-1] = series[-1]
    return ", ".join(
        f"{s['t']:.0f} s: {sum(s['workers_mb']):.0f}"
        for _, s in sorted(picked.items(), key=lambda kv: kv[1]["t"])
    )


def per_minute_dashboard(dashboard: list[dict]) -> list[dict]:
    minutes: dict[int, list[dict]] = {}
    for d in dashboard:
        minutes.setdefault(int(d["t"] // 60), []).append(d)
    out = []
    for minute, rows in sorted(minutes.items()):
        ms = sorted(r["ms"] for r in rows)
        out.append(
            {
                "minute": minute,
                "loads": len(rows),
                "non_200": sum(1 for r in rows if r["status"] != 200),
                "p50_ms": ms[len(ms) // 2],
                "max_ms": ms[-1],
            }
        )
    return out


def dashboard_cookie(slug: str) -> tuple[str, str]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from merchandising.accounts.models import Merchant
    from merchandising.accounts.services import membership_set

    user, _ = get_user_model().objects.get_or_create(username="bench-soak-editor")
    membership_set(merchant=Merchant.objects.get(slug=slug), user=user, role="editor")
    client = Client()
    client.force_login(user)
    return settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value


def dashboard_ms(port: int, slug: str, cookie: tuple[str, str]) -> tuple[int, float]:
    import urllib.request

    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/m/{slug}/catalog/", headers={"Cookie": f"{cookie[0]}={cookie[1]}"}
    )
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()
            status = r.status
    except Exception as exc:  # an error page or a timeout: recorded
        status = getattr(exc, "code", -1)
    return status, round((time.perf_counter() - t) * 1000, 1)


# --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=300)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--events-rate", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=float, default=5)
    parser.add_argument("--products", type=int, default=serving_bench.N_PRODUCTS)
    parser.add_argument("--visitors", type=int, default=serving_bench.N_VISITORS)
    parser.add_argument("--output", default=str(RESULTS / "soak.json"))
    parser.add_argument("--loadgen", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--key", default="", help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=10.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    configure_size(args.products, args.visitors)
    if args.loadgen:
        print(json.dumps(asyncio.run(_load(args))))
        return

    secret = os.environ.get("BENCH_SECRET_KEY", "bench-" + "x1y2z3" * 10)
    # The dashboard session made here must verify in gunicorn: same secret key.
    os.environ["SECRET_KEY"] = secret
    serving_bench.django_setup()
    info = serving_bench.build()
    key = info.pop("key")
    cookie = dashboard_cookie(serving_bench.SLUG)
    from django.db import connections

    connections.close_all()

    port = serving_bench.free_port()
    static_root = Path(tempfile.mkdtemp(prefix="merchlab-soak-static-"))
    env = dict(os.environ)
    env.update(
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        DEBUG="0",
        SECRET_KEY=secret,
        MERCHLAB_STATIC_ROOT=str(static_root),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        DB_CONN_MAX_AGE="600",
        BENCH_WARM_SLUG=serving_bench.SLUG,
        PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
    )
    # Production settings serve hashed static files (whitenoise manifest): collect them first.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "merchandising.wsgi", "--config", "python:bench_serving"]
        + ["--workers", str(args.workers), "--bind", f"127.0.0.1:{port}", "--backlog", "2048"]
        + ["--timeout", "120", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    size = ["--products", str(args.products), "--visitors", str(args.visitors)]
    series: list[dict] = []
    dashboard: list[dict] = []
    try:
        serving_bench.wait_ready(port, key)
        subprocess.run(  # warm every worker before measuring
            [sys.executable, __file__, "--loadgen", "--port", str(port), "--key", key]
            + ["--rate", "20", "--events-rate", "1", "--duration", "10", "--timeout", "60", *size],
            capture_output=True,
            check=True,
        )
        load = subprocess.Popen(
            [sys.executable, __file__, "--loadgen", "--port", str(port), "--key", key]
            + ["--rate", str(args.rate), "--events-rate", str(args.events_rate)]
            + ["--duration", str(args.duration), *size],
            stdout=subprocess.PIPE,
            text=True,
        )
        started = time.monotonic()
        stop = threading.Event()

        def sampler() -> None:
            while not stop.is_set():
                t = round(time.monotonic() - started, 1)
                series.append({"t": t, **rss_sample(gunicorn.pid)})
                status, ms = dashboard_ms(port, serving_bench.SLUG, cookie)
                dashboard.append({"t": t, "status": status, "ms": ms})
                stop.wait(args.sample)

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        out, _ = load.communicate(timeout=args.duration + 600)
        stop.set()
        thread.join(timeout=60)
        result = json.loads(out.strip().splitlines()[-1])
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        try:
            gunicorn.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gunicorn.kill()

    totals = [round(sum(s["workers_mb"]), 1) for s in series]
    dash_ms = sorted(d["ms"] for d in dashboard)
    dash_failed = sum(1 for d in dashboard if d["status"] != 200)
    errors = sum(result.get(k, {}).get("errors", 0) for k in ("recommendations", "events"))
    report = {
        "benchmark": "soak",
        "command": (
            f"python benchmarks/bench_soak.py --duration {args.duration:g} --rate {args.rate:g} "
            f"--events-rate {args.events_rate:g} --products {args.products} "
            f"--visitors {args.visitors} --workers {args.workers}"
        ),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
        "data": info,
        "errors": errors,
        **result,
        "rss": {
            "samples": series,
            "workers_total_mb_first": totals[0] if totals else None,
            "workers_total_mb_last": totals[-1] if totals else None,
            "workers_total_mb_max": max(totals) if totals else None,
            "slope_second_half_mb_per_min": slope_mb_per_min(series),
        },
        "dashboard": {
            "page": "/m/<slug>/catalog/ (signed in)",
            "samples": len(dashboard),
            "non_200": dash_failed,
            "p50_ms": dash_ms[len(dash_ms) // 2] if dash_ms else None,
            "p95_ms": dash_ms[min(len(dash_ms) - 1, int(len(dash_ms) * 0.95))] if dash_ms else None,
            "max_ms": dash_ms[-1] if dash_ms else None,
            "per_minute": per_minute_dashboard(dashboard),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2))
    short = {k: v for k, v in report.items() if k not in ("rss", "data")}
    for part in ("recommendations", "events"):
        if part in short:
            short[part] = {k: v for k, v in short[part].items() if k != "per_minute"}
    print(json.dumps(short, indent=2))
    print(
        "RSS workers total MB: first {workers_total_mb_first}, last {workers_total_mb_last}, "
        "max {workers_total_mb_max}, slope (2nd half) {slope_second_half_mb_per_min} MB/min".format(
            **report["rss"]
        )
    )
    print("RSS over time (workers total MB): " + rss_per_minute(series))
    print(f"wrote {args.output}")
    if errors or dash_failed:
        sys.exit(f"{errors} errors and {dash_failed} failed dashboard loads during the soak")


if __name__ == "__main__":
    main()
