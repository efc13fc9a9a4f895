"""Fine-tuning tests use the tiny model of ``tests/contentgen/conftest.py``; the generation
workers load that model too, so adapters trained on it can be activated."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def workers_use_the_tiny_model(settings, tiny_model_dir):
    settings.CONTENTGEN_BASE_MODEL = tiny_model_dir
