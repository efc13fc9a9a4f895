"""Offline evaluation of recommenders on an interaction data set (pure: no Django).

Splits (:func:`split`):

* ``time``: rows sorted by timestamp (stable), the last 20% are the test set;
* ``last``: each user's last row (by timestamp) is the test set.

Warm evaluation (:func:`evaluate`): for every user seen in training who has at least one
test item that was seen in training and that the user did not already have in training, all
items seen in training are ranked with the user's training items excluded. Per user, at k:

* ``precision@k = hits / k``, ``recall@k = hits / |positives|``;
* ``ndcg@k = DCG / IDCG`` with binary relevance, ``DCG = sum_{rank r hit} 1 / log2(r + 1)``
  (ranks from 1) and the ideal DCG over ``min(|positives|, k)`` hits (Jarvelin and
  Kekalainen 2002, "Cumulated gain-based evaluation of IR techniques");
* ``auc``: the probability that a random positive is scored above a random negative
  candidate (ties count one half), over all candidates (Rendle et al. 2009, BPR, eq. 1).

Metrics are averaged over users. Models: ``popularity`` (training row count per item),
``lightfm_cf`` (LightFM on ids only, unit weights, same hyper-parameters), ``merchlab``
(:func:`recsys.training.train` with the production :class:`TrainingConfig`, exactly as the
Celery job trains), ``bought_together`` and ``next_items`` (``train_components``, as the job)
and their ``blend`` (see :func:`evaluate`).

Cold start:

* ``cold_items``: candidates are catalog items never seen in training; positives are those
  a training-seen user interacted with in the test set. The hybrid ranks them from metadata
  only; ``random`` (seeded) is the reference, as no history-based model can rank them.
* ``cold_users``: users first seen in the test set, ranking training items; ``merchlab``
  uses their features (users.csv) when there are any, else its learned item biases.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from recsys import fusion
from recsys.cooccurrence import BoughtTogetherConfig, baskets, family_key, train_bought_together
from recsys.datasets import InteractionDataset
from recsys.training import (
    RecommenderArtifact,
    TrainingConfig,
    TrainingData,
    train,
    train_components,
)

MODELS = ("popularity", "lightfm_cf", "merchlab", "bought_together", "next_items", "blend")
COMPONENT_MODELS = ("bought_together", "next_items")  # trained by training.train_components
ANCHOR_MODELS = ("popularity", "bought_together", "bought_together_other_families", "similar")
METRICS = ("precision", "recall", "ndcg", "auc")


# ---------------------------------------------------------------- metrics


def dcg_at_k(hits: Sequence[bool], k: int) -> float:
    """Binary-relevance DCG of a ranked list's first k positions."""
    hits = np.asarray(hits[:k], dtype=float)
    return float((hits / np.log2(np.arange(2, len(hits) + 2))).sum())


def ranking_metrics(scores: np.ndarray, positives: Sequence[int], k: int) -> dict[str, float]:
    """precision, recall, ndcg and auc at k for one user.

    ``scores`` holds one score per candidate (use ``-inf`` for excluded items: they are
    neither ranked nor counted as negatives); ``positives`` are candidate indices.
    """
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.unique(np.asarray(positives, dtype=np.int64))
    valid = np.isfinite(scores)
    n_valid = int(valid.sum())
    k_eff = min(k, n_valid)
    order = fusion.top_k(np.where(valid, scores, -np.inf), k_eff)
    is_pos = np.zeros(len(scores), dtype=bool)
    is_pos[positives] = True
    hits = is_pos[order]
    n_hits = int(hits.sum())
    idcg = dcg_at_k([True] * min(len(positives), k), k)
    pos_scores = scores[positives]
    negatives = valid & ~is_pos
    n_neg = int(negatives.sum())
    if n_neg and len(pos_scores):
        if len(pos_scores) <= 16:
            # A few positives (the usual case): one comparison pass per positive is cheaper
            # than sorting every candidate.
            neg_scores = scores[negatives]
            below = np.array([np.count_nonzero(neg_scores < p) for p in pos_scores])
            ties = np.array([np.count_nonzero(neg_scores == p) for p in pos_scores])
        else:
            neg_scores = np.sort(scores[negatives])
            below = np.searchsorted(neg_scores, pos_scores, side="left")
            ties = np.searchsorted(neg_scores, pos_scores, side="right") - below
        auc = float(((below + 0.5 * ties) / n_neg).mean())
    else:
        auc = float("nan")
    return {
        "precision": n_hits / k,
        "recall": n_hits / len(positives) if len(positives) else 0.0,
        "ndcg": dcg_at_k(hits, k) / idcg if idcg > 0 else 0.0,
        "auc": auc,
    }


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {m: None for m in METRICS} | {"users": 0}
    out = {}
    for m in METRICS:
        values = [r[m] for r in rows if r[m] == r[m]]  # NaN (no negatives) left out
        out[m] = round(float(np.mean(values)), 4) if values else None
    out["users"] = len(rows)
    return out


# ---------------------------------------------------------------- splits


def split(dataset: InteractionDataset, how: str = "time", test_fraction: float = 0.2) -> np.ndarray:
    """Boolean mask of test rows."""
    n = len(dataset)
    order = np.argsort(dataset.timestamps, kind="stable")
    test = np.zeros(n, dtype=bool)
    if how == "time":
        cut = int(round(n * (1 - test_fraction)))
        test[order[cut:]] = True
    elif how == "last":
        last: dict[str, int] = {}
        for row in order:
            last[dataset.user_ids[row]] = row
        test[list(last.values())] = True
    else:
        raise ValueError(f"unknown split {how!r} (time or last)")
    return test


# ---------------------------------------------------------------- models


def training_data(train_set: InteractionDataset) -> TrainingData:
    """The training job's input for a data set's rows."""
    return TrainingData(
        user_ids=list(train_set.user_ids),
        item_ids=list(train_set.item_ids),
        timestamps=train_set.timestamps,
        weights=train_set.weights,
        items=train_set.items,
        users=train_set.users,
    )


def merchlab_config(overrides: Mapping | None = None) -> TrainingConfig:
    """The production configuration (optionally with overrides for experiments)."""
    return TrainingConfig.from_dict(dict(overrides or {}))


def _timestamps_are_seconds(timestamps: np.ndarray) -> bool:
    # A sequence position (Amazon's seq_pos) is not a time: recency decay would be nonsense.
    return len(timestamps) > 0 and float(np.nanmin(timestamps)) > 1e8


def without_decay_on_positions(config: TrainingConfig, timestamps: np.ndarray) -> TrainingConfig:
    """``config`` with recency decay switched off (hybrid and bought together) when the
    timestamps are sequence positions rather than unix seconds."""
    if not _timestamps_are_seconds(np.asarray(timestamps, dtype=np.float64)):
        config.interactions.half_life_days = None
        config.bought_together.half_life_days = None
    return config


def evaluate(
    dataset: InteractionDataset,
    how: str = "time",
    k: int = 10,
    models: Sequence[str] = MODELS,
    config: TrainingConfig | None = None,
    progress: Callable[[str], None] | None = None,
    full_epochs: bool = True,
    max_users: int | None = None,
    step: float = 0.1,
) -> dict:
    """Train each model on the training split and report warm and cold-start metrics.

    ``full_epochs`` switches the production time budgets (the hybrid's and the next-items
    model's) off so every model runs all its epochs (the comparison would otherwise depend on
    how busy the machine is); the training job's own hold-out check keeps the budget.
    ``max_users`` scores a seeded sample of at most that many visitors per group (warm, cold
    items, cold users) instead of all of them.

    ``bought_together`` and ``next_items`` rank what they can score for a visitor (the
    products bought with their ``RECENT_ANCHORS`` latest training products, what follows their
    training sequence: :func:`personal_model_scores`, as the training job's hold-out does);
    the remaining products follow in popularity order, as serving backfills. ``blend`` fuses
    the hybrid, both of them and popularity over every candidate (min-max per model, as
    serving does) with weights fitted by ``fusion.fit_weights`` on the other half of the
    evaluated visitors (``fusion.fold_weights``), so no visitor is scored with weights fitted
    on them; ``result["blend"]["weights"]`` are fitted on all of them (what the training job
    would store). Its ``training_seconds`` is the sum of its models' plus the fitting.
    """
    say = progress or (lambda message: None)
    test_mask = split(dataset, how)
    train_set = dataset.subset(~test_mask)
    test_set = dataset.subset(test_mask)
    train_items = sorted(set(train_set.item_ids))
    item_col = {item: i for i, item in enumerate(train_items)}
    train_users = sorted(set(train_set.user_ids))
    user_row = {user: i for i, user in enumerate(train_users)}

    seen: dict[str, set[int]] = {}
    history: dict[str, list[str]] = {}  # each visitor's training products in time order
    for row in np.argsort(train_set.timestamps, kind="stable"):
        user, item = str(train_set.user_ids[row]), str(train_set.item_ids[row])
        seen.setdefault(user, set()).add(item_col[item])
        history.setdefault(user, []).append(item)
    warm_pos: dict[str, set[int]] = {}
    cold_item_pos: dict[str, set[str]] = {}
    cold_user_pos: dict[str, set[int]] = {}
    for user, item in zip(test_set.user_ids, test_set.item_ids, strict=True):
        col = item_col.get(item)
        if user in user_row:
            if col is None:
                cold_item_pos.setdefault(user, set()).add(item)
            elif col not in seen[user]:
                warm_pos.setdefault(user, set()).add(col)
        elif col is not None:
            cold_user_pos.setdefault(user, set()).add(col)
    if max_users is not None:
        warm_pos = _sample(warm_pos, max_users)
        cold_item_pos = _sample(cold_item_pos, max_users)
        cold_user_pos = _sample(cold_user_pos, max_users)
    eval_users = sorted(warm_pos)

    result: dict = {
        "data": dataset.name,
        "split": how,
        "k": k,
        "train_rows": int((~test_mask).sum()),
        "test_rows": int(test_mask.sum()),
        "train_users": len(train_users),
        "train_items": len(train_items),
        "models": {},
    }
    popularity = np.zeros(len(train_items))
    np.add.at(popularity, [item_col[i] for i in train_set.item_ids], 1.0)

    artifacts: dict[str, RecommenderArtifact] = {}
    components: dict = {}
    seconds: dict[str, float] = {"popularity": 0.0}
    base = config or merchlab_config()
    # Every model runs all its epochs here: the production time budget would make the
    # comparison depend on how busy the machine is.
    if full_epochs:
        base.max_seconds = None
        base.next_items.max_seconds = None
    without_decay_on_positions(base, train_set.timestamps)

    def model_scores(name: str, user: str) -> np.ndarray | None:
        return personal_model_scores(
            name,
            artifact=artifacts.get("merchlab"),
            components=components,
            item_ids=train_items,
            user_id=user,
            recent=history[user],
            popularity=popularity,
        )

    def warm_scores(model: str) -> Callable[[list[str]], np.ndarray]:
        if model == "popularity":
            return lambda users: np.tile(popularity, (len(users), 1))
        if model in COMPONENT_MODELS:
            return lambda users: np.vstack(
                [_backfilled(model_scores(model, u), popularity) for u in users]
            )
        artifact = artifacts[model]
        cols = np.asarray([artifact.item_index[i] for i in train_items])

        def score(users: list[str]) -> np.ndarray:
            rows = np.asarray([artifact.user_index[u] for u in users])
            return artifact.score_users(rows)[:, cols]

        return score

    unknown = set(models) - set(MODELS)
    if unknown:
        raise ValueError(f"unknown model {sorted(unknown)[0]!r}")
    needed = set(models) | (set(FUSED_MODELS) if "blend" in models else set())
    wanted = [c for c in COMPONENT_MODELS if c in needed]
    for model in [m for m in MODELS if m in needed]:
        started = time.perf_counter()
        if model == "merchlab":
            say("training merchlab")
            artifacts[model] = train(training_data(train_set), base)
        elif model == "lightfm_cf":
            say("training lightfm_cf")
            cf = TrainingConfig.collaborative_only(
                no_components=base.no_components,
                loss=base.loss,
                learning_rate=base.learning_rate,
                max_sampled=base.max_sampled,
                epochs=base.epochs,
                num_threads=base.num_threads,
                random_state=base.random_state,
                max_seconds=base.max_seconds,
            )
            artifacts[model] = train(training_data(train_set), cf)
        elif model in COMPONENT_MODELS and not components:
            say("training " + ", ".join(wanted))
            only = TrainingConfig.from_dict(base.to_dict() | {"components": wanted})
            components, report = train_components(training_data(train_set), only)
            for name, info in report.items():
                seconds[name] = info["training_seconds"]
                if "skipped" in info:
                    result.setdefault("skipped", {})[name] = info["skipped"]
        if model == "blend":
            say("fitting the blend")
            names = list(FUSED_MODELS)
            result["blend"] = _fit_blend(names, eval_users, model_scores, seen, warm_pos, k, step)
            seconds["blend"] = sum(seconds[m] for m in names) + result["blend"].pop("seconds")
            rows = result["blend"].pop("rows")
        else:
            seconds.setdefault(model, time.perf_counter() - started)
            if model not in models:
                continue
            say(f"scoring {model}")
            rows = _score_users(warm_scores(model), eval_users, seen, warm_pos, k)
        result["models"][model] = _mean(rows) | {"training_seconds": round(seconds[model], 2)}

    if "merchlab" in artifacts:
        result["cold_items"] = _cold_items(artifacts["merchlab"], train_items, cold_item_pos, k)
        result["cold_users"] = _cold_users(
            artifacts["merchlab"],
            dataset,
            train_items,
            popularity,
            cold_user_pos,
            k,
            blend_weights=(result.get("blend") or {}).get("weights"),
        )
    return result


def _backfilled(scores: np.ndarray | None, popularity: np.ndarray) -> np.ndarray:
    """What a model scores first (in its order), then the rest by popularity."""
    out = popularity / (popularity.max() + 1.0)  # below 1
    if scores is not None:
        scored = np.isfinite(scores)
        out[scored] = 1.0 + fusion.normalise(scores)[scored]
    return out


def _fit_blend(names, users, model_scores, seen, positives, k, step) -> dict:
    """Cross-fitted fused metrics per visitor (``rows``), the weights fitted on all of them."""
    started = time.perf_counter()
    cases = []
    for user in users:
        raw = {name: model_scores(name, user) for name in names}
        n = len(raw["popularity"])
        scores = {name: fusion.normalise(s, n) for name, s in raw.items()}
        cases.append(
            {"scores": scores, "positives": sorted(positives[user]), "exclude": sorted(seen[user])}
        )
    rows = []
    for case, weights in zip(cases, fusion.fold_weights(cases, names, k, step), strict=True):
        fused = fusion.fuse(case["scores"], weights)
        fused[case["exclude"]] = -np.inf
        rows.append(ranking_metrics(fused, case["positives"], k))
    weights, _in_sample = fusion.fit_weights(cases, names, k, step) if cases else ({}, 0.0)
    return {"weights": weights, "rows": rows, "seconds": time.perf_counter() - started}


def _sample(positives: dict, n: int) -> dict:
    """At most ``n`` users of ``positives`` (seeded, so a re-run picks the same ones)."""
    if len(positives) <= n:
        return positives
    users = sorted(positives)
    chosen = np.random.RandomState(0).choice(len(users), size=n, replace=False)
    return {users[i]: positives[users[i]] for i in sorted(chosen)}


def _score_users(score_fn, users, seen, positives, k, batch: int = 256) -> list[dict]:
    rows = []
    for start in range(0, len(users), batch):
        chunk = users[start : start + batch]
        scores = np.asarray(score_fn(chunk), dtype=np.float64)
        for i, user in enumerate(chunk):
            row = scores[i]
            row[list(seen.get(user, ()))] = -np.inf
            rows.append(ranking_metrics(row, sorted(positives[user]), k))
    return rows


def _cold_items(artifact: RecommenderArtifact, train_items, positives, k) -> dict:
    warm = set(train_items)
    cold = [i for i in artifact.item_ids if i not in warm]
    if not cold or not positives:
        return {"merchlab": _mean([]), "random": _mean([]), "candidates": len(cold)}
    cols = np.asarray([artifact.item_index[i] for i in cold])
    position = {item: j for j, item in enumerate(cold)}
    users = sorted(u for u, items in positives.items() if any(i in position for i in items))
    rng = np.random.RandomState(0)
    merch, rand = [], []
    for user in users:
        pos = sorted(position[i] for i in positives[user] if i in position)
        row = artifact.user_index[user]
        scores = (
            artifact.item_vectors[cols] @ artifact.user_vectors[row] + artifact.item_biases[cols]
        )
        merch.append(ranking_metrics(scores, pos, k))
        rand.append(ranking_metrics(rng.rand(len(cold)), pos, k))
    return {"merchlab": _mean(merch), "random": _mean(rand), "candidates": len(cold)}


def _cold_users(
    artifact, dataset, train_items, popularity, positives, k, blend_weights=None
) -> dict:
    """New visitors: the hybrid from their features, popularity and, with ``blend_weights``,
    their blend (bought together and next items have no history of theirs to start from, so
    only the hybrid and popularity contribute, as at serving)."""
    blend = blend_weights is not None
    if not positives:
        return {"merchlab": _mean([]), "popularity": _mean([])} | (
            {"blend": _mean([])} if blend else {}
        )
    records = {str(r["user_id"]): r for r in dataset.users}
    cols = np.asarray([artifact.item_index[i] for i in train_items])
    merch, pop, fused = [], [], []
    for user in sorted(positives):
        vector, bias, _how = artifact.user_representation(user_record=records.get(user))
        scores = artifact.item_vectors[cols] @ vector + artifact.item_biases[cols]
        pos = sorted(positives[user])
        merch.append(ranking_metrics(scores, pos, k))
        pop.append(ranking_metrics(popularity, pos, k))
        if blend:
            parts = {
                "merchlab": fusion.normalise(scores),
                "popularity": fusion.normalise(popularity),
            }
            fused.append(ranking_metrics(fusion.fuse(parts, blend_weights), pos, k))
    out = {"merchlab": _mean(merch), "popularity": _mean(pop)}
    return out | ({"blend": _mean(fused)} if blend else {})


def _f(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def format_table(result: dict) -> str:
    """A Markdown table of one evaluation result."""
    k = result["k"]
    lines = [
        f"data `{result['data']}`, split `{result['split']}`, k={k}: "
        f"{result['train_rows']} train rows, {result['test_rows']} test rows",
        "",
        f"| model | users | precision@{k} | recall@{k} | ndcg@{k} | auc | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in result["models"].items():
        lines.append(
            f"| {name} | {m['users']} | {_f(m['precision'])} | {_f(m['recall'])} | "
            f"{_f(m['ndcg'])} | {_f(m['auc'])} | {m['training_seconds']} |"
        )
    for section in ("cold_items", "cold_users"):
        for name, m in (result.get(section) or {}).items():
            if isinstance(m, dict):
                lines.append(
                    f"| {section}: {name} | {m['users']} | {_f(m['precision'])} | "
                    f"{_f(m['recall'])} | {_f(m['ndcg'])} | {_f(m['auc'])} | |"
                )
    weights = (result.get("blend") or {}).get("weights")
    if weights:
        lines += ["", "blend weights: " + ", ".join(f"{m} {w:.1f}" for m, w in weights.items())]
    for name, why in (result.get("skipped") or {}).items():
        lines.append(f"{name} skipped: {why}")
    return "\n".join(lines)


# ---------------------------------------------------------------- product-page anchors


def evaluate_anchors(
    dataset: InteractionDataset,
    k: int = 10,
    models: Sequence[str] = ANCHOR_MODELS[:3],
    config: TrainingConfig | None = None,
    progress: Callable[[str], None] | None = None,
    max_baskets: int | None = None,
) -> dict:
    """Product-page recommendations: the last basket of each customer is held out.

    Baskets are built as ``recsys.cooccurrence.baskets`` builds them (one customer's rows
    within ``config.bought_together.session_gap_hours``). Every customer's last basket with at
    least two products is the test set, everything else trains. For each test basket the
    anchor is its first product seen in training (the product page the customer was on); the
    positives are the basket's other products seen in training; every training product but
    the anchor is a candidate. Models:

    * ``popularity``: training row count per product;
    * ``bought_together``: the anchor's partners by co-occurrence score, the remaining
      candidates after them in popularity order (serving backfills the same way);
    * ``bought_together_other_families``: the same with the anchor's variants (same
      ``family_key``) left out, as serving does unless a placement asks for them;
    * ``similar``: cosine of the hybrid's item representations (the ``similar`` strategy).
    """
    say = progress or (lambda message: None)
    base = config or merchlab_config()
    bt_config = base.bought_together
    rows = np.argsort(dataset.timestamps, kind="stable")
    users = np.asarray(dataset.user_ids, dtype=object)[rows]
    items = np.asarray(dataset.item_ids, dtype=object)[rows]
    stamps = np.asarray(dataset.timestamps, dtype=np.float64)[rows]
    gap = bt_config.session_gap_hours * 3600.0
    # The row index where each customer's last basket begins.
    last_start: dict[str, int] = {}
    previous: dict[str, float] = {}
    for i, (user, ts) in enumerate(zip(users, stamps, strict=True)):
        if user not in previous or ts - previous[user] > gap:
            last_start[user] = i
        previous[user] = ts
    position = np.arange(len(users))
    starts = np.asarray([last_start[u] for u in users])
    test_mask = position >= starts
    train_users, train_items = users[~test_mask], items[~test_mask]
    train_stamps = stamps[~test_mask]
    item_list = sorted(set(train_items))
    col = {item: j for j, item in enumerate(item_list)}
    popularity = np.zeros(len(item_list))
    np.add.at(popularity, [col[i] for i in train_items], 1.0)
    families = {str(r["item_id"]): family_key(r) for r in dataset.items if str(r["item_id"]) in col}

    cases = []
    for _ts, basket in baskets(users[test_mask], items[test_mask], stamps[test_mask], 1e12):
        known = [i for i in basket if i in col]
        if len(known) >= 2:
            cases.append((known[0], [col[i] for i in known[1:]]))
    if max_baskets is not None and len(cases) > max_baskets:
        chosen = np.random.RandomState(0).choice(len(cases), size=max_baskets, replace=False)
        cases = [cases[i] for i in sorted(chosen)]

    result: dict = {
        "data": dataset.name,
        "split": "last_basket",
        "k": k,
        "train_rows": int((~test_mask).sum()),
        "test_rows": int(test_mask.sum()),
        "train_users": len(set(train_users)),
        "train_items": len(item_list),
        "models": {},
    }
    together = None
    artifact = None
    for model in models:
        started = time.perf_counter()
        if model.startswith("bought_together") and together is None:
            say("training bought_together")
            together = train_bought_together(
                train_users, train_items, train_stamps, None, BoughtTogetherConfig.from_dict(
                    bt_config.to_dict()
                )
            )  # fmt: skip
            result["bought_together"] = together.meta
        elif model == "similar" and artifact is None:
            say("training merchlab for similar")
            base.max_seconds = None
            artifact = train(
                TrainingData(
                    user_ids=list(train_users),
                    item_ids=list(train_items),
                    timestamps=train_stamps,
                    items=dataset.items,
                    users=dataset.users,
                ),
                base,
            )
        elif model not in ANCHOR_MODELS:
            raise ValueError(f"unknown model {model!r}")
        seconds = time.perf_counter() - started
        say(f"scoring {model}")
        scored = []
        if artifact is not None and model == "similar":
            cols = np.asarray([artifact.item_index[i] for i in item_list])
            unit = artifact._unit_items[cols]
        for anchor, positives in cases:
            a = col[anchor]
            if model == "popularity":
                scores = popularity.copy()
            elif model == "similar":
                scores = unit @ unit[a]
            else:
                # Partners first (their scores lie in (0, 1] for cosine; lift is shifted
                # above the popularity scale), then the rest by popularity.
                scores = popularity / (popularity.max() + 1.0)
                for partner, score in together.partners(anchor):
                    if model.endswith("other_families") and families.get(partner) == families.get(
                        anchor
                    ):
                        continue
                    scores[col[partner]] = 1.0 + score
            scores[a] = -np.inf
            scored.append(ranking_metrics(scores, positives, k))
        result["models"][model] = _mean(scored) | {"training_seconds": round(seconds, 2)}
    return result


# ---------------------------------------------------------------- fusion on the time hold-out

FUSED_MODELS = ("merchlab", "bought_together", "next_items", "popularity")
RECENT_ANCHORS = 5  # a visitor's latest products stand in for their cart in bought_together
CANDIDATES_PER_MODEL = 50


def personal_model_scores(
    name: str,
    *,
    artifact: RecommenderArtifact | None,
    components: Mapping,
    item_ids: Sequence[str],
    user_id: str,
    recent: Sequence[str],
    popularity: np.ndarray,
) -> np.ndarray | None:
    """One model's scores of ``item_ids`` for a visitor (None when it cannot score them):
    the hybrid's profile, the products bought with their ``RECENT_ANCHORS`` latest products,
    what comes next after their sequence, or popularity. ``components`` holds the trained
    ``bought_together`` and ``next_items`` (``training.train_components``)."""
    if name == "popularity":
        return popularity.astype(np.float64)
    if name == "merchlab":
        row = artifact.user_index.get(user_id) if artifact is not None else None
        if row is None:
            return None
        cols = np.asarray([artifact.item_index[i] for i in item_ids])
        return artifact.score_users(np.asarray([row]))[0, cols].astype(np.float64)
    component = components.get(name)
    if component is None:
        return None
    position = {item: j for j, item in enumerate(item_ids)}
    if name == "bought_together":
        related = component.related(list(dict.fromkeys(reversed(recent)))[:RECENT_ANCHORS])
        if not related:
            return None
        scores = np.full(len(item_ids), -np.inf)
        for partner, (score, _anchor) in related.items():
            if partner in position:
                scores[position[partner]] = score
        return scores
    if name == "next_items":
        raw = component.scores(recent)
        if raw is None:
            return None
        scores = np.full(len(item_ids), -np.inf)
        for j, item in enumerate(component.item_ids):
            if item in position:
                scores[position[item]] = raw[j]
        return scores
    raise ValueError(f"unknown model {name!r}")


def _candidate_case(scores: dict, positives: set[int], exclude: set[int], per_model: int) -> dict:
    """Cascade: the union of each model's best candidates, re-ranked by the fused score."""
    pool: set[int] = set()
    for s in scores.values():
        s = s.copy()
        if exclude:
            s[list(exclude)] = -np.inf
        finite = np.flatnonzero(np.isfinite(s))
        if len(finite) > per_model:
            finite = finite[np.argpartition(-s[finite], per_model - 1)[:per_model]]
        pool.update(int(i) for i in finite)
    pool_list = sorted(pool)
    where = {i: j for j, i in enumerate(pool_list)}
    return {
        "scores": {m: fusion.normalise(s[pool_list]) for m, s in scores.items()},
        "positives": [where[p] for p in positives if p in where],
        "n_positives": len(positives),
        "exclude": [],
    }


def fusion_holdout(
    data: TrainingData,
    config: TrainingConfig,
    k: int = 10,
    max_users: int = 500,
    models: Sequence[str] = FUSED_MODELS,
    step: float = 0.1,
) -> dict:
    """Each model and their fusion on the last 20% of events (by time).

    All models train on the first 80% (the hybrid and its components, as the job trains
    them). For a seeded sample of at most ``max_users`` visitors known in training with new
    products in the hold-out, every model scores the training products (the visitor's own
    training products excluded); the fused ranking re-ranks the union of each model's
    ``CANDIDATES_PER_MODEL`` best (a cascade). Weights are fitted by ``fusion.fit_weights``;
    ``blend`` is the cross-fitted NDCG@k (weights from the other half of the visitors), so it
    is comparable with the single models'. ``chosen`` is ``blend`` when it beats every single
    model, else the best single model.
    """
    n = len(data)
    order = np.argsort(np.asarray(data.timestamps, dtype=np.float64), kind="stable")
    cut = int(round(n * 0.8))
    train_rows, test_rows = order[:cut], order[cut:]

    def pick(values, rows):
        return None if values is None else [values[i] for i in rows]

    train_data = TrainingData(
        user_ids=pick(list(data.user_ids), train_rows),
        item_ids=pick(list(data.item_ids), train_rows),
        timestamps=np.asarray(data.timestamps, dtype=np.float64)[train_rows],
        event_types=pick(
            list(data.event_types) if data.event_types is not None else None, train_rows
        ),
        weights=None if data.weights is None else np.asarray(data.weights)[train_rows],
        items=data.items,
        users=data.users,
    )
    started = time.perf_counter()
    artifact = train(train_data, config)
    artifact.components, _report = train_components(train_data, config)
    seconds = time.perf_counter() - started
    item_ids = sorted(set(train_data.item_ids))
    col = {item: j for j, item in enumerate(item_ids)}
    popularity = np.zeros(len(item_ids))
    np.add.at(popularity, [col[i] for i in train_data.item_ids], 1.0)
    history: dict[str, list[str]] = {}
    for user, item in zip(train_data.user_ids, train_data.item_ids, strict=True):
        history.setdefault(str(user), []).append(str(item))
    positives: dict[str, set[int]] = {}
    for i in test_rows:
        user, item = str(data.user_ids[i]), str(data.item_ids[i])
        if user in history and item in col and item not in history[user]:
            positives.setdefault(user, set()).add(col[item])
    positives = _sample(positives, max_users)
    names = [m for m in models if m == "popularity" or m == "merchlab" or m in artifact.components]
    cases = []
    for user in sorted(positives):
        scores = {}
        for name in names:
            s = personal_model_scores(
                name,
                artifact=artifact,
                components=artifact.components,
                item_ids=item_ids,
                user_id=user,
                recent=history[user],
                popularity=popularity,
            )
            scores[name] = s if s is not None else np.full(len(item_ids), -np.inf)
        exclude = {col[i] for i in history[user]}
        cases.append(_candidate_case(scores, positives[user], exclude, CANDIDATES_PER_MODEL))
    singles = {name: round(fusion.mean_ndcg(cases, {name: 1.0}, k), 4) for name in names}
    weights, in_sample = fusion.fit_weights(cases, names, k, step)
    blend = round(fusion.cross_fitted(cases, names, k, step), 4)
    best_single = max(singles, key=singles.get) if singles else None
    chosen = "blend" if singles and blend > max(singles.values()) else best_single
    return {
        "k": k,
        "users": len(cases),
        "models": singles,
        "blend": blend,
        "blend_in_sample": round(in_sample, 4),
        "weights": weights,
        "chosen": chosen,
        "training_seconds": round(seconds, 2),
    }
