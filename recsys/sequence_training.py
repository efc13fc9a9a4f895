"""Training the next-item model (SASRec, see ``recsys.sequence``) with torch, on CPU.

``train_next_items(user_ids, item_ids, timestamps, event_types, config)`` builds the visitors'
sequences, cuts them into windows and trains :class:`SelfAttentiveModel` with Adam on the
cross-entropy of the next product at every position (against the full catalog, or against a
uniform sample of ``max_softmax`` products plus the batch's targets on a big catalog: a
sampled softmax, Jean et al. 2015, arXiv:1412.2007). The paper trains with one sampled
negative per position and binary cross-entropy; the softmax over many negatives learns more
per epoch, which matters on two cores. It returns a :class:`recsys.sequence.NextItems` whose
numpy forward pass serves it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from recsys.sequence import NextItems, SequenceConfig, training_windows, visitor_sequences


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.ff1 = nn.Linear(dim, dim)
        self.ff2 = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        hd = d // self.heads
        q, k, v = (
            part.reshape(b, n, self.heads, hd).transpose(1, 2)
            for part in self.qkv(self.ln1(x)).chunk(3, dim=-1)
        )
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        att = att.masked_fill(~allowed[:, None], float("-inf"))
        o = (self.drop(att.softmax(dim=-1)) @ v).transpose(1, 2).reshape(b, n, d)
        x = x + self.drop(self.out(o))
        return x + self.drop(self.ff2(self.drop(torch.relu(self.ff1(self.ln2(x))))))


class SelfAttentiveModel(nn.Module):
    """SASRec with pre-LN blocks; item embeddings are shared by input and output."""

    def __init__(self, n_items: int, config: SequenceConfig):
        super().__init__()
        self.config = config
        self.item_emb = nn.Embedding(n_items + 1, config.dim, padding_idx=0)
        self.pos_emb = nn.Embedding(config.max_len, config.dim)
        self.blocks = nn.ModuleList(
            _Block(config.dim, config.heads, config.dropout) for _ in range(config.blocks)
        )
        self.final_ln = nn.LayerNorm(config.dim)
        self.drop = nn.Dropout(config.dropout)
        nn.init.normal_(self.item_emb.weight, std=1.0 / math.sqrt(config.dim))
        with torch.no_grad():
            self.item_emb.weight[0].zero_()

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        n = codes.shape[1]
        positions = torch.arange(self.config.max_len - n, self.config.max_len)
        x = self.item_emb(codes) * math.sqrt(self.config.dim) + self.pos_emb(positions)
        x = self.drop(x)
        causal = torch.tril(torch.ones(n, n, dtype=torch.bool))
        allowed = (causal & (codes > 0)[:, None, :]) | torch.eye(n, dtype=torch.bool)
        for block in self.blocks:
            x = block(x, allowed)
        return self.final_ln(x)

    def numpy_weights(self) -> dict[str, np.ndarray]:
        """The weights under the names ``recsys.sequence.NextItems`` reads."""
        out = {}
        for name, tensor in self.state_dict().items():
            out[name.replace("blocks.", "block", 1).replace("_emb.weight", "_emb")] = (
                tensor.detach().cpu().numpy().astype(np.float32)
            )
        return out


def train_next_items(
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    timestamps: Sequence[float] | None,
    event_types: Sequence[str] | None = None,
    config: SequenceConfig | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> NextItems:
    """Train on every visitor with at least two products in a row (see module docstring).

    An empty model with ``meta["skipped"]`` is returned when no visitor has a sequence.
    """
    config = config or SequenceConfig()
    started = time.perf_counter()
    sequences = visitor_sequences(user_ids, item_ids, timestamps, event_types, config.event_types)
    usable = {u: s for u, s in sequences.items() if len(s) >= 2}
    meta: dict = {
        "visitors": len(sequences),
        "visitors_with_sequences": len(usable),
        "skipped_visitors": len(sequences) - len(usable),
    }
    if not usable:
        meta["skipped"] = (
            "no visitor has two different products in a row yet, so there is no sequence to learn"
        )
        return NextItems(item_ids=[], weights={}, config=config, meta=meta)
    vocabulary: dict[str, int] = {}
    for sequence in usable.values():
        for item in sequence:
            vocabulary.setdefault(item, len(vocabulary) + 1)
    inputs, targets = training_windows(
        [[vocabulary[i] for i in s] for s in usable.values()], config.max_len
    )
    n_items = len(vocabulary)
    meta.update(
        {"items": n_items, "windows": int(len(inputs)), "transitions": int((targets > 0).sum())}
    )

    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, config.threads))
    try:
        torch.manual_seed(config.random_state)
        rng = np.random.RandomState(config.random_state)
        model = SelfAttentiveModel(n_items, config)
        optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate, betas=(0.9, 0.98))
        # A small shop has few windows: smaller batches give it enough steps per epoch.
        batch_size = int(min(config.batch_size, max(8, len(inputs) // 16)))
        meta["batch_size"] = batch_size
        x_all = torch.from_numpy(inputs)
        y_all = torch.from_numpy(targets)
        epochs_run, last, loss_value = 0, 0.0, float("nan")
        stopped_early = False
        for epoch in range(config.epochs):
            elapsed = time.perf_counter() - started
            if config.max_seconds and epoch > 0 and elapsed + last > config.max_seconds:
                break
            began = time.perf_counter()
            model.train()
            order = torch.from_numpy(rng.permutation(len(inputs)))
            total, count = 0.0, 0
            for start in range(0, len(order), batch_size):
                if (
                    config.max_seconds
                    and start
                    and time.perf_counter() - started > config.max_seconds
                ):
                    stopped_early = True  # a big shop: the budget ends inside an epoch
                    break
                batch = order[start : start + batch_size]
                x, y = x_all[batch], y_all[batch]
                hidden = model(x)[y > 0]  # (positions, dim)
                target = y[y > 0]
                if n_items <= config.max_softmax:
                    logits = hidden @ model.item_emb.weight[1:].T
                    loss = nn.functional.cross_entropy(logits, target - 1)
                else:
                    sample = torch.from_numpy(rng.randint(1, n_items + 1, config.max_softmax))
                    candidates, where = torch.unique(
                        torch.cat([target, sample]), return_inverse=True
                    )
                    logits = hidden @ model.item_emb.weight[candidates].T
                    loss = nn.functional.cross_entropy(logits, where[: len(target)])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += float(loss.detach()) * len(target)
                count += len(target)
            loss_value = total / max(count, 1)
            if stopped_early:
                meta["last_epoch_fraction"] = round(start / len(order), 3)
                break
            epochs_run = epoch + 1
            last = time.perf_counter() - began
            if progress is not None:
                progress(epochs_run / config.epochs, f"next_items epoch {epochs_run}")
        model.eval()
        weights = model.numpy_weights()
    finally:
        torch.set_num_threads(threads)
    meta.update(
        {
            "epochs_run": epochs_run,
            "final_loss": round(loss_value, 4),
            "training_seconds": round(time.perf_counter() - started, 3),
        }
    )
    item_ids = sorted(vocabulary, key=vocabulary.__getitem__)
    return NextItems(item_ids=item_ids, weights=weights, config=config, meta=meta)
