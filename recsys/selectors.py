"""Reads of the model registry, scoped by merchant.

``active_model_artifact(merchant)`` returns the active version's
:class:`recsys.training.RecommenderArtifact` from an in-process cache keyed by version id, so
a newly activated version is picked up on the next call without a restart (the storefront's
``recsys.serving`` keeps its own aligned snapshot on top of the same ``load_artifact``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.core.files.storage import default_storage

from recsys.models import ModelVersion
from recsys.training import RecommenderArtifact

# Keyed by (id, artifact path): an id alone can come back for another row where ids are reused
# (SQLite after a rollback), the path never does (it carries a random suffix).
_CACHE: OrderedDict[tuple[int, str], RecommenderArtifact] = OrderedDict()
_CACHE_SIZE = 8
_LOCK = threading.Lock()


def model_versions(merchant):
    return ModelVersion.objects.filter(merchant=merchant).order_by("-version")


def model_version_get(merchant, version_id: int) -> ModelVersion:
    """Raises ModelVersion.DoesNotExist for another merchant's id (a 404 upstream)."""
    return ModelVersion.objects.get(merchant=merchant, pk=version_id)


def active_model_version(merchant) -> ModelVersion | None:
    return ModelVersion.objects.filter(
        merchant=merchant, is_active=True, status=ModelVersion.Status.READY
    ).first()


def load_artifact(version: ModelVersion) -> RecommenderArtifact:
    """Read a version's artifact from Django storage (no cache)."""
    with default_storage.open(version.artifact_path, "rb") as fh:
        return RecommenderArtifact.from_bytes(fh.read())


def active_model_artifact(merchant) -> RecommenderArtifact | None:
    """The active version's artifact (cached per version id), or None when there is none."""
    version = active_model_version(merchant)
    if version is None:
        return None
    key = (version.pk, version.artifact_path)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return cached
    artifact = load_artifact(version)
    artifact.meta.setdefault("model_version", version.version)
    with _LOCK:
        _CACHE[key] = artifact
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return artifact


def model_versions_summary(merchant, limit: int = 20) -> list[dict]:
    """Versions with the numbers the dashboard shows (hold-out NDCG vs popularity, seconds)."""
    out = []
    for v in model_versions(merchant)[:limit]:
        holdout = (v.metrics or {}).get("models") or {}
        out.append(
            {
                "id": v.pk,
                "version": v.version,
                "kind": v.kind,
                "status": v.status,
                "is_active": v.is_active,
                "created_at": v.created_at,
                "training_seconds": v.training_seconds,
                "counts": v.counts,
                "k": (v.metrics or {}).get("k"),
                "model": holdout.get("merchlab"),
                "popularity": holdout.get("popularity"),
                "beats_popularity": (v.metrics or {}).get("beats_popularity"),
                # Each model's and the blend's hold-out NDCG, the weights and what serves home.
                "fusion": (v.metrics or {}).get("fusion"),
                "skipped": (v.metrics or {}).get("skipped") or {},
            }
        )
    return out
