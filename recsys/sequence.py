"""The next-item model: a small self-attentive sequence model of what a visitor does next
(data preparation and inference; pure numpy, no Django, no torch).

The architecture is SASRec (Kang and McAuley 2018, "Self-Attentive Sequential
Recommendation", arXiv:1808.09781): item embeddings (shared between input and output) plus
learned position embeddings, ``blocks`` transformer blocks of causal self-attention and a
two-layer point-wise feed-forward net, each with a residual connection, layer normalisation
and dropout; the score of item ``i`` after the sequence ``s_1..s_t`` is ``F_t . M_i``, the last
position's output against the item's embedding. Here the layer normalisation comes before each
sub-layer (pre-LN, as the paper's public PyTorch port does for the attention's query).

Training (torch, on the ``default`` queue) is in ``recsys.sequence_training``; this module holds
what training and serving share:

* :func:`visitor_sequences`: each visitor's products in time order, consecutive repeats of the
  same product collapsed;
* :func:`training_windows`: each sequence cut into windows of ``max_len + 1`` products, left-
  padded with 0, giving (inputs, targets) where target ``t`` is the product after input ``t``;
* :func:`attention_mask`: what position ``t`` may attend to: itself and earlier real products
  (the future and the padding are masked);
* :class:`NextItems`: the trained weights with a numpy forward pass, so web processes serve the
  model without importing torch; ``scores(session_skus)`` ranks every product for a session
  (cut to the last ``max_len`` products).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

SEQUENCE_EVENT_TYPES = ("view", "click", "add_to_cart", "purchase")


@dataclass
class SequenceConfig:
    """Sized for two CPU cores (see docs/recommenders.md for the training times measured)."""

    max_len: int = 50
    dim: int = 48
    blocks: int = 2
    heads: int = 1
    dropout: float = 0.2
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 1e-3
    # Catalogs larger than this train against a uniform sample of this many products (plus
    # the batch's targets) per step instead of the full softmax.
    max_softmax: int = 4096
    # Stop before an epoch that would overrun this budget (None = every epoch).
    max_seconds: float | None = 120.0
    # One thread: on the shared two-core machine a second one made training 4 to 10 times
    # slower (threads waiting on each other; measured, see docs/recommenders.md).
    threads: int = 1
    random_state: int = 42
    event_types: tuple[str, ...] = SEQUENCE_EVENT_TYPES

    @classmethod
    def from_dict(cls, data: Mapping | None) -> SequenceConfig:
        data = dict(data or {})
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "event_types" in known:
            known["event_types"] = tuple(known["event_types"])
        config = cls(**known)
        if config.dim % config.heads:
            raise ValueError("next_items dim must be a multiple of heads")
        if config.max_len < 2:
            raise ValueError("next_items max_len must be at least 2")
        return config

    def to_dict(self) -> dict:
        out = asdict(self)
        out["event_types"] = list(self.event_types)
        return out


def visitor_sequences(
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    timestamps: Sequence[float] | None,
    event_types: Sequence[str] | None = None,
    allowed_types: Sequence[str] = SEQUENCE_EVENT_TYPES,
) -> dict[str, list[str]]:
    """visitor -> products in time order (ties in input order), repeats in a row collapsed."""
    n = len(user_ids)
    stamps = np.asarray(timestamps, dtype=np.float64) if timestamps is not None else np.arange(n)
    order = np.argsort(stamps, kind="stable")
    allowed = set(allowed_types)
    out: dict[str, list[str]] = {}
    for row in order:
        if event_types is not None and event_types[row] not in allowed:
            continue
        sequence = out.setdefault(str(user_ids[row]), [])
        item = str(item_ids[row])
        if not sequence or sequence[-1] != item:
            sequence.append(item)
    return out


def training_windows(
    sequences: Sequence[Sequence[int]], max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets), each (n_windows, max_len), 0 = padding (product codes start at 1).

    A sequence of m products gives m - 1 transitions; a long one is cut from its end into
    windows of ``max_len + 1`` products overlapping by one, so every transition is learned
    once. Windows are left-padded, so the newest product is always at the last position.
    """
    inputs, targets = [], []
    for sequence in sequences:
        seq = list(sequence)
        end = len(seq)
        while end >= 2:
            start = max(0, end - max_len - 1)
            chunk = seq[start:end]
            x = np.zeros(max_len, dtype=np.int64)
            y = np.zeros(max_len, dtype=np.int64)
            x[max_len - len(chunk) + 1 :] = chunk[:-1]
            y[max_len - len(chunk) + 1 :] = chunk[1:]
            inputs.append(x)
            targets.append(y)
            end = start + 1
    if not inputs:
        empty = np.zeros((0, max_len), dtype=np.int64)
        return empty, empty.copy()
    return np.stack(inputs), np.stack(targets)


def attention_mask(codes: np.ndarray) -> np.ndarray:
    """(..., L, L) booleans: query t may attend to key s when s <= t and s is a real product;
    a padding query attends to itself only (its output is never used)."""
    codes = np.asarray(codes)
    length = codes.shape[-1]
    causal = np.tril(np.ones((length, length), dtype=bool))
    allowed = causal & (codes > 0)[..., None, :]
    return allowed | np.eye(length, dtype=bool)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


class NextItems:
    """Trained next-item weights and their forward pass (numpy; mirrors the torch module)."""

    name = "next_items"

    def __init__(
        self,
        *,
        item_ids: list[str],
        weights: dict[str, np.ndarray],
        config: SequenceConfig,
        meta: dict | None = None,
    ):
        self.item_ids = list(item_ids)
        # Product codes start at 1: 0 is padding.
        self.item_code = {s: i + 1 for i, s in enumerate(self.item_ids)}
        self.weights = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        self.config = config
        self.meta = dict(meta or {})

    def __bool__(self) -> bool:
        return bool(self.item_ids) and "item_emb" in self.weights

    def encode(self, codes: Sequence[int]) -> np.ndarray:
        """The last position's output for a sequence of product codes (cut to max_len)."""
        w, cfg = self.weights, self.config
        codes = np.asarray(list(codes)[-cfg.max_len :], dtype=np.int64)
        n = len(codes)
        d = cfg.dim
        x = w["item_emb"][codes] * np.float32(np.sqrt(d)) + w["pos_emb"][cfg.max_len - n :]
        allowed = attention_mask(codes)
        heads, head_dim = cfg.heads, d // cfg.heads
        for b in range(cfg.blocks):
            p = f"block{b}."
            h = _layer_norm(x, w[p + "ln1.weight"], w[p + "ln1.bias"])
            qkv = h @ w[p + "qkv.weight"].T + w[p + "qkv.bias"]
            q, k, v = (
                part.reshape(n, heads, head_dim).transpose(1, 0, 2)
                for part in np.split(qkv, 3, axis=-1)
            )
            att = q @ k.transpose(0, 2, 1) / np.float32(np.sqrt(head_dim))
            att = np.where(allowed[None], att, -np.inf)
            o = (_softmax(att) @ v).transpose(1, 0, 2).reshape(n, d)
            x = x + o @ w[p + "out.weight"].T + w[p + "out.bias"]
            h = _layer_norm(x, w[p + "ln2.weight"], w[p + "ln2.bias"])
            f = np.maximum(h @ w[p + "ff1.weight"].T + w[p + "ff1.bias"], 0.0)
            x = x + f @ w[p + "ff2.weight"].T + w[p + "ff2.bias"]
        x = _layer_norm(x, w["final_ln.weight"], w["final_ln.bias"])
        return x[-1].astype(np.float32)

    def scores(self, session_skus: Sequence[str]) -> np.ndarray | None:
        """Scores of every product (``item_ids`` order) after this session, or None when no
        product of the session is known to the model. Only the last ``max_len`` products
        count; consecutive repeats are collapsed as in training."""
        codes: list[int] = []
        for sku in session_skus:
            code = self.item_code.get(str(sku))
            if code is not None and (not codes or codes[-1] != code):
                codes.append(code)
        if not codes or not self:
            return None
        return self.weights["item_emb"][1:] @ self.encode(codes)

    # -- persistence (inside the recommender artifact's .npz) --------------------------

    def to_arrays(self) -> tuple[dict, dict[str, np.ndarray]]:
        header = {"item_ids": self.item_ids, "config": self.config.to_dict(), "meta": self.meta}
        return header, dict(self.weights)

    @classmethod
    def from_arrays(cls, header: dict, arrays: Mapping[str, np.ndarray]) -> NextItems:
        return cls(
            item_ids=header["item_ids"],
            weights=dict(arrays),
            config=SequenceConfig.from_dict(header.get("config")),
            meta=header.get("meta"),
        )
