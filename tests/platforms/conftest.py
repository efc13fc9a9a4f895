from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "platform_formats"


def sample(relative: str) -> Path:
    path = SAMPLES / relative
    if not path.is_file():
        pytest.skip(f"shared sample {relative} is absent (../shared/data/platform_formats)")
    return path
