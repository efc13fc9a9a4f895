"""The next-item model: sequences, windows, padding, the causal mask, and a trained model that
follows the order of a visitor's actions."""

import numpy as np
import pytest
import torch

from recsys.sequence import (
    NextItems,
    SequenceConfig,
    attention_mask,
    training_windows,
    visitor_sequences,
)
from recsys.sequence_training import SelfAttentiveModel, train_next_items
from recsys.training import (
    RecommenderArtifact,
    TrainingConfig,
    TrainingData,
    train,
    train_components,
)

TINY = SequenceConfig(max_len=6, dim=8, blocks=2, heads=2, dropout=0.0, epochs=1, threads=1)


def test_sequences_follow_time_not_arrival_and_collapse_repeats():
    sequences = visitor_sequences(
        ["ann", "ann", "bob", "ann", "ann", "ann"],
        ["mug", "kettle", "tea", "kettle", "tea", "cup"],
        [30, 10, 5, 20, 40, 50],
        ["view", "view", "view", "view", "impression", "purchase"],
    )
    # kettle (10), kettle (20) collapsed, mug (30); the impression is not an action.
    assert sequences == {"ann": ["kettle", "mug", "cup"], "bob": ["tea"]}


def test_windows_are_left_padded_and_targets_are_the_next_product():
    inputs, targets = training_windows([[1, 2, 3]], max_len=4)
    assert inputs.tolist() == [[0, 0, 1, 2]]
    assert targets.tolist() == [[0, 0, 2, 3]]


def test_long_sequences_are_cut_from_the_end_so_every_transition_is_learned_once():
    sequence = list(range(1, 9))  # 7 transitions
    inputs, targets = training_windows([sequence, [5]], max_len=4)
    assert inputs.tolist() == [[4, 5, 6, 7], [0, 1, 2, 3]]
    assert targets.tolist() == [[5, 6, 7, 8], [0, 2, 3, 4]]
    assert int((targets > 0).sum()) == 7


def test_the_mask_hides_the_future_and_the_padding():
    allowed = attention_mask(np.array([0, 0, 7, 8]))
    assert allowed[3].tolist() == [False, False, True, True]
    assert allowed[2].tolist() == [False, False, True, False]
    assert allowed[0].tolist() == [True, False, False, False]  # padding sees itself only


def test_a_later_product_cannot_change_an_earlier_positions_output():
    torch.manual_seed(0)
    model = SelfAttentiveModel(10, TINY).eval()
    a = torch.tensor([[0, 3, 4, 5, 6, 7]])
    b = torch.tensor([[0, 3, 4, 5, 6, 9]])
    with torch.no_grad():
        out_a, out_b = model(a), model(b)
    assert torch.allclose(out_a[0, :5], out_b[0, :5])
    assert not torch.allclose(out_a[0, 5], out_b[0, 5])


def test_serving_in_numpy_gives_what_the_torch_model_computes():
    torch.manual_seed(1)
    model = SelfAttentiveModel(10, TINY).eval()
    served = NextItems(
        item_ids=[f"p{i}" for i in range(10)], weights=model.numpy_weights(), config=TINY
    )
    with torch.no_grad():
        padded = model(torch.tensor([[0, 0, 3, 1, 4, 2]]))[0, -1].numpy()
        exact = model(torch.tensor([[3, 1, 4, 2]]))[0, -1].numpy()
    assert np.allclose(padded, exact, atol=1e-5)
    assert np.allclose(served.encode([3, 1, 4, 2]), exact, atol=1e-5)


def _ordered_shop(visitors=60, seed=0):
    """Visitors walk a fixed route through the catalog: after product k comes k + 1."""
    rng = np.random.RandomState(seed)
    users, items, stamps = [], [], []
    for v in range(visitors):
        start = rng.randint(0, 12)
        for step in range(6):
            users.append(f"v{v}")
            items.append(f"p{(start + step) % 16}")
            stamps.append(v * 100 + step)
    return users, items, np.asarray(stamps, dtype=float)


def test_the_trained_model_predicts_what_comes_next_in_the_session():
    users, items, stamps = _ordered_shop()
    config = SequenceConfig(
        max_len=8, dim=16, blocks=1, dropout=0.0, epochs=20, threads=1, learning_rate=5e-3
    )
    model = train_next_items(users, items, stamps, None, config)
    assert model.meta["epochs_run"] == 20 and model.meta["visitors_with_sequences"] == 60
    hits = 0
    for k in range(3, 12):
        scores = model.scores([f"p{k - 2}", f"p{k - 1}", f"p{k}"])
        hits += model.item_ids[int(np.argmax(scores))] == f"p{k + 1}"
    assert hits >= 7, hits
    # It reacts to the session as it grows: another last product, another first guess.
    first = model.item_ids[int(np.argmax(model.scores(["p3"])))]
    later = model.item_ids[int(np.argmax(model.scores(["p3", "p4", "p5", "p6"])))]
    assert first != later


def test_a_session_of_ten_thousand_events_is_cut_to_the_window():
    users, items, stamps = _ordered_shop(visitors=10)
    model = train_next_items(users, items, stamps, None, TINY)
    long_session = [f"p{i % 16}" for i in range(10_000)]
    assert np.allclose(model.scores(long_session), model.scores(long_session[-TINY.max_len :]))
    assert model.scores(["unknown"]) is None


def test_visitors_with_one_event_each_train_nothing_and_say_so():
    model = train_next_items(["a", "b", "c"], ["p1", "p2", "p3"], [1.0, 2.0, 3.0], None, TINY)
    assert not model and "no visitor has two different products" in model.meta["skipped"]
    assert model.scores(["p1"]) is None


def test_the_model_travels_inside_the_recommender_artifact():
    users, items, stamps = _ordered_shop(visitors=20)
    data = TrainingData(user_ids=users, item_ids=items, timestamps=stamps)
    config = TrainingConfig.from_dict(
        {"no_components": 4, "epochs": 1, "num_threads": 1, "next_items": TINY.to_dict()}
    )
    artifact = train(data, config)
    artifact.components, report = train_components(data, config)
    assert report["next_items"]["windows"] == 20
    loaded = RecommenderArtifact.from_bytes(artifact.to_bytes()).components["next_items"]
    assert loaded.config == TINY
    assert np.allclose(
        loaded.scores(["p1", "p2"]), artifact.components["next_items"].scores(["p1", "p2"])
    )


@pytest.mark.parametrize("bad", [{"dim": 10, "heads": 3}, {"max_len": 1}])
def test_impossible_sizes_are_refused(bad):
    with pytest.raises(ValueError, match="next_items"):
        SequenceConfig.from_dict(bad)


def test_the_time_budget_can_end_training_inside_an_epoch():
    users, items, stamps = _ordered_shop(visitors=60)
    config = SequenceConfig(
        max_len=8, dim=8, blocks=1, dropout=0.0, epochs=5, threads=1, max_seconds=1e-9
    )
    model = train_next_items(users, items, stamps, None, config)
    assert model.meta["epochs_run"] == 0 and 0 < model.meta["last_epoch_fraction"] < 1
    assert model.scores(["p1"]) is not None  # what it learned so far is served
