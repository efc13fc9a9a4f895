"""Upgrades and backups, rehearsed on real PostgreSQL databases of their own (never the shared
server's other databases, never a server restart):

- a database is migrated and populated (merchants, products with live copy, events, jobs); a copy
  of it (CREATE DATABASE ... TEMPLATE, what a staging copy of production is) is taken back to an
  older schema (every app with later migrations returns to its first) and migrated forward again
  with `manage.py migrate`: no error, and every row is still there;
- the documented backup (`pg_dump -Fc`) restored into an empty database (`pg_restore`) holds the
  same rows;
- the models have no changes that lack a migration (`makemigrations --check`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not DATABASE_URL.startswith("postgres"),
        reason="rehearses PostgreSQL upgrades and pg_dump/pg_restore (CI uses PostgreSQL)",
    ),
]

POPULATE = r"""
from merchandising.accounts import services as accounts
from merchandising.catalog.services import product_import_csv
from merchandising.tracking.services import events_ingest
from merchandising.jobs.models import Job
from django.contrib.auth import get_user_model

owner = get_user_model().objects.create_user("mig-owner", "o@mig.test", "pw-123-long-enough")
merchant = accounts.merchant_create(name="Migrated", slug="migrated", owner=owner,
                                    storefront_origins=["https://migrated.shop.test"])
accounts.api_key_create(merchant=merchant, name="server", kind="secret")
rows = "".join(f"M-{i:04d},Product {i},{i}.25,Brand {i % 7},Kitchen > Pans,Text {i},steel\n"
               for i in range(300))
product_import_csv(merchant=merchant,
                   data=("sku,title,price,brand,category,description,material\n" + rows).encode())
events = [{"event_id": f"e{i}", "type": "view", "visitor_id": f"v{i % 30}", "sku": f"M-{i % 300:04d}"}
          for i in range(500)]
events_ingest(merchant=merchant, events=events)
Job.objects.create(merchant=merchant, kind="catalog_import", status="succeeded", progress=100)
"""

COUNT = r"""
import json
from django.apps import apps
print("COUNTS" + json.dumps({m._meta.label: m.objects.count() for m in apps.get_models()}))
"""


def server_url(dbname: str) -> str:
    parts = urlsplit(DATABASE_URL)
    return parts._replace(path=f"/{dbname}").geturl()


def admin_sql(*statements: str) -> None:
    import psycopg

    with psycopg.connect(server_url("postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def manage(dbname: str, *args: str, code: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": server_url(dbname), "CELERY_TASK_ALWAYS_EAGER": "1"}
    command = [sys.executable, "manage.py", *args]
    if code is not None:
        command = [sys.executable, "manage.py", "shell", "-c", code]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{args or 'shell'} failed:\n{result.stdout}\n{result.stderr}"
    return result


def counts(dbname: str) -> dict[str, int]:
    out = manage(dbname, code=COUNT).stdout
    line = next(x for x in out.splitlines() if x.startswith("COUNTS"))
    return json.loads(line[len("COUNTS") :])


@pytest.fixture
def scratch_databases():
    prefix = f"relmig_{os.getpid()}"
    names = {k: f"{prefix}_{k}" for k in ("source", "copy", "restored")}
    admin_sql(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names.values()))
    yield names
    admin_sql(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names.values()))


def apps_with_later_migrations() -> dict[str, str]:
    """app label -> its first migration, for apps that have more than one."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    out = {}
    for app in {app for app, _ in loader.disk_migrations}:
        names = sorted(name for a, name in loader.disk_migrations if a == app)
        if len(names) > 1:
            out[app] = names[0]
    return out


def test_migrations_upgrade_a_copy_of_a_populated_database_and_backups_restore(
    scratch_databases, tmp_path
):
    source, copy, restored = (scratch_databases[k] for k in ("source", "copy", "restored"))
    admin_sql(f'CREATE DATABASE "{source}"')
    manage(source, "migrate", "--noinput", "-v", "0")
    manage(source, code=POPULATE)
    before = counts(source)
    assert before["catalog.Product"] == 300 and before["tracking.Event"] == 500
    assert before["catalog.LiveCopy"] == 300

    # A copy of the populated database, taken back to an older schema and upgraded again.
    admin_sql(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
    older = apps_with_later_migrations()
    for app, first in sorted(older.items()):
        manage(copy, "migrate", app, first, "--noinput", "-v", "0")
    plan = manage(copy, "migrate", "--plan").stdout
    assert all(app in plan for app in older), plan
    manage(copy, "migrate", "--noinput", "-v", "0")
    assert "No planned migration operations" in manage(copy, "migrate", "--plan").stdout
    after = counts(copy)
    for label, n in before.items():
        if label.startswith(("catalog.", "tracking.", "accounts.", "jobs.")):
            assert after[label] == n, (label, n, after[label])

    # The documented backup and restore (docs/operations/backups-and-upgrades.md).
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump/pg_restore are not installed (apt-get install postgresql-client)")
    dump = tmp_path / "merchlab.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", server_url(source)],
        check=True,
        timeout=300,
    )
    admin_sql(f'CREATE DATABASE "{restored}"')
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={server_url(restored)}", dump],
        check=True,
        timeout=300,
    )
    assert counts(restored) == before
    assert "No planned migration operations" in manage(restored, "migrate", "--plan").stdout


def test_models_have_no_unmigrated_changes():
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"models changed without a migration:\n{result.stdout}"
