"""Production settings: refuse an insecure secret key, and pass Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STRONG = "k3J9-pQ_x7Vb2nR8tYw4Lm6Zc1Hs5Df0Gj2Ka9Ue7Io3Py6Tr8Eq1Wb5Nv4Mx0Cz7"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # The suite sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; a production process never has it.
    dropped = ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_with_an_insecure_secret_key():
    for secret in ("", "short", "django-insecure-" + "x" * 60):
        result = run_manage("check", DEBUG="0", SECRET_KEY=secret, ALLOWED_HOSTS="shop.example.com")
        assert result.returncode != 0
        assert "insecure SECRET_KEY" in result.stderr


def test_deploy_check_is_clean_in_production():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=STRONG,
        ALLOWED_HOSTS="shop.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_openapi_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    result = run_manage("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "/api/v1/products" in out.read_text()
