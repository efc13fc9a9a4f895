"""Review test fixtures."""

from __future__ import annotations

import pytest

from tests.contentgen.review.drafts import make_draft


@pytest.fixture
def draft_factory():
    return make_draft
