"""nn, optim and data: layers, optimisers, data sets, and training to an accuracy threshold."""

import numpy as np
import pytest

import mini_autograd as ag
from mini_autograd.training import accuracy, train_classifier


@pytest.mark.slow
def test_mlp_reaches_95_percent_on_held_out_digits():
    X, y = ag.data.load_digits()
    X_train, X_test, y_train, y_test = ag.data.train_test_split(X, y, test_fraction=0.25, seed=0)
    model = ag.nn.MLP([64, 128, 64, 10], rng=0)  # a 3-layer ReLU MLP
    optimizer = ag.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    history = train_classifier(model, optimizer, X_train, y_train, epochs=15, batch_size=32, seed=0)
    assert history[-1] < history[0] / 10
    assert accuracy(model, X_test, y_test) >= 0.95


def test_mlp_learns_spirals():
    X, y = ag.data.make_spirals(n_per_class=100, n_classes=3, noise=0.1, seed=0)
    model = ag.nn.MLP([2, 64, 64, 3], rng=1)
    optimizer = ag.optim.Adam(model.parameters(), lr=0.01)
    train_classifier(model, optimizer, X, y, epochs=150, batch_size=64, seed=0)
    assert accuracy(model, X, y) >= 0.95


def test_float32_training_keeps_float32():
    X, y = ag.data.make_moons(200, noise=0.1, seed=0)
    X = X.astype(np.float32)
    model = ag.nn.MLP([2, 16, 2], rng=0, dtype=np.float32)
    optimizer = ag.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train_classifier(model, optimizer, X, y, epochs=30, batch_size=32)
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert accuracy(model, X, y) > 0.85


def test_sgd_momentum_and_weight_decay_follow_the_update_rule():
    w0 = np.array([1.0, -2.0, 3.0])
    w = ag.Variable(w0)
    optimizer = ag.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.01)
    expected, velocity = w0.copy(), np.zeros(3)
    for step in range(3):
        optimizer.zero_grad()
        loss = (w * w * np.array([1.0, 2.0, 3.0])).sum()
        loss.backward()
        g = 2 * expected * np.array([1.0, 2.0, 3.0]) + 0.01 * expected
        velocity = 0.9 * velocity + g
        expected = expected - 0.1 * velocity
        optimizer.step()
        np.testing.assert_allclose(w.value, expected, rtol=1e-12)


def test_adam_first_step_moves_each_weight_by_lr():
    w = ag.Variable([1.0, -2.0])
    optimizer = ag.optim.Adam([w], lr=0.01)
    (w * w * np.array([5.0, 0.1])).sum().backward()
    optimizer.step()
    # after bias correction the first step is lr * sign(g)
    np.testing.assert_allclose(w.value, [1.0 - 0.01, -2.0 + 0.01], rtol=1e-6)


def test_parameters_are_found_once_in_order():
    model = ag.nn.MLP([3, 4, 5, 2], rng=0)
    params = model.parameters()
    assert [p.shape for p in params] == [(3, 4), (4,), (4, 5), (5,), (5, 2), (2,)]
    layer = ag.nn.Linear(4, 4, rng=0)
    shared = ag.nn.Sequential(layer, ag.nn.ReLU(), layer)  # the same layer twice
    assert shared.parameters() == [layer.weight, layer.bias]
    model.zero_grad()
    assert all(p.grad is None for p in params)


def test_he_initialisation_keeps_relu_activations_alive():
    rng = np.random.default_rng(0)
    model = ag.nn.MLP([100, 100, 100, 100, 10], rng=0)
    x = rng.normal(size=(512, 100))
    h = x
    for layer in model.layers[:-1]:
        h = layer(h)
    assert 0.3 < float(np.std(h.value)) < 3.0


def test_linear_checks_its_input_size():
    with pytest.raises(ValueError, match=r"Linear\(3, 2\).*\(5, 4\).*3 features"):
        ag.nn.Linear(3, 2, rng=0)(np.ones((5, 4)))


def test_optimizer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="no parameters"):
        ag.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        ag.optim.SGD([ag.Variable(1.0)], lr=-1)
    with pytest.raises(ValueError, match="momentum"):
        ag.optim.SGD([ag.Variable(1.0)], lr=0.1, momentum=1.5)


def test_data_sets_have_the_documented_shapes():
    X, y = ag.data.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0 and set(np.unique(y)) == set(range(10))
    X, y = ag.data.make_spirals(50, 4, seed=1)
    assert X.shape == (200, 2) and np.bincount(y).tolist() == [50] * 4
    X, y = ag.data.make_moons(101, seed=1)
    assert X.shape == (101, 2) and set(y) == {0, 1}
    a = ag.data.train_test_split(*ag.data.make_moons(100), test_fraction=0.2, seed=3)
    assert [len(part) for part in a] == [80, 20, 80, 20]
    batches = list(ag.data.minibatches(np.arange(10), np.arange(10), 4, rng=0))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate([b[0] for b in batches]).tolist()) == list(range(10))


def test_demo_runs_and_writes_its_outputs(tmp_path):
    from mini_autograd import demo

    assert demo.main(["--epochs", "2", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "lecture_example.dot").read_text().count("->") == 15  # 6 operations, 9 edges in, 6 out
    import json

    summary = json.loads((tmp_path / "training.json").read_text())
    assert len(summary["loss_per_epoch"]) == 2 and summary["test_accuracy"] > 0.8


def test_demo_rejects_bad_arguments(capsys):
    from mini_autograd import demo

    with pytest.raises(SystemExit):
        demo.main(["--epochs", "0"])
    assert "--epochs must be at least 1" in capsys.readouterr().err


def _hand_mlp_step(X, y, W1, b1, W2, b2):
    """The MLP step of benchmarks/mlp_step.py by hand, without any in-place operation:
    (h_pre, h, logits, loss, grads of h_pre, h, logits, W1, b1, W2, b2)."""
    n = len(y)
    h_pre = X @ W1 + b1
    h = np.maximum(h_pre, 0)
    logits = h @ W2 + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean()
    g_logits = p.copy()
    g_logits[np.arange(n), y] -= 1
    g_logits /= n
    g_h = g_logits @ W2.T
    g_pre = g_h * (h_pre > 0)
    return (h_pre, h, logits, loss,
            {"h_pre": g_pre, "h": g_h, "logits": g_logits, "W1": X.T @ g_pre, "b1": g_pre.sum(0),
             "W2": h.T @ g_logits, "b2": g_logits.sum(0)})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kept_intermediates_keep_their_values_and_gradients_through_a_training_step(dtype):
    """A user who keeps the intermediates of an MLP step (pre-activation, activation, logits)
    must find their values and gradients intact after backward() and optimizer.step(): no
    node may compute in place into another node's value or gradient."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 12)).astype(dtype)
    y = rng.integers(0, 5, 16)
    model = ag.nn.MLP([12, 8, 5], rng=1, dtype=dtype)
    linear1, relu, linear2 = model.layers
    W1, b1, W2, b2 = (p.value.copy() for p in model.parameters())
    h_pre, h, logits, loss, grads = _hand_mlp_step(X.astype(np.float64), y, *(w.astype(np.float64) for w in (W1, b1, W2, b2)))
    optimizer = ag.optim.SGD(model.parameters(), lr=0.5)
    for step in range(2):  # the second step checks that nothing of the first leaked into it
        optimizer.zero_grad()
        kept_pre = linear1(X)
        kept_h = relu(kept_pre)
        kept_logits = linear2(kept_h)
        kept_loss = ag.cross_entropy(kept_logits, y)
        copies = {"h_pre": kept_pre.value.copy(), "h": kept_h.value.copy(), "logits": kept_logits.value.copy()}
        kept_loss.backward()
        if step == 0:
            seen = {"h_pre": kept_pre.grad.copy(), "h": kept_h.grad.copy(), "logits": kept_logits.grad.copy()}
        optimizer.step()
        for name, v in (("h_pre", kept_pre), ("h", kept_h), ("logits", kept_logits)):
            assert v.value.dtype == dtype and v.grad.dtype == dtype
            np.testing.assert_array_equal(v.value, copies[name], err_msg=f"{name}'s value changed by backward/step")
        if step == 0:
            tol = dict(rtol=1e-4, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(kept_pre.value, h_pre, **tol)
            np.testing.assert_allclose(kept_h.value, h, **tol)
            np.testing.assert_allclose(kept_logits.value, logits, **tol)
            np.testing.assert_allclose(kept_loss.value, loss, **tol)
            for name, v in (("h_pre", kept_pre), ("h", kept_h), ("logits", kept_logits)):
                np.testing.assert_array_equal(v.grad, seen[name], err_msg=f"{name}'s grad changed by later nodes or the step")
                np.testing.assert_allclose(v.grad, grads[name], err_msg=f"{name}'s grad", **tol)
            for name, expected, before in zip(("W1", "b1", "W2", "b2"), (grads[k] for k in ("W1", "b1", "W2", "b2")),
                                              (W1, b1, W2, b2)):
                p = {"W1": linear1.weight, "b1": linear1.bias, "W2": linear2.weight, "b2": linear2.bias}[name]
                np.testing.assert_allclose(p.grad, expected, err_msg=f"{name}'s grad", **tol)
                np.testing.assert_allclose(p.value, before - 0.5 * expected, err_msg=f"{name} after the step", **tol)
        # a later graph that reuses the kept activation gets its own, correct gradient
        kept_h.grad = None
        again = (kept_h * kept_h).sum()
        again.backward()
        np.testing.assert_allclose(kept_h.grad, 2 * copies["h"], rtol=1e-6)
        np.testing.assert_array_equal(kept_h.value, copies["h"])


def test_a_kept_leaf_gradient_is_not_changed_by_a_later_backward_into_another_leaf():
    """The first gradient a leaf gets is stored without a copy: a later backward pass must
    not add into it through another leaf or intermediate that shares the array."""
    x = ag.Variable(np.ones((3, 4)))
    w = ag.Variable(np.full((4, 2), 2.0))
    b = ag.Variable(np.zeros(2))
    out = ag.affine(x, w, b) if hasattr(ag, "affine") else x @ w + b
    out.sum().backward()
    kept = w.grad
    kept_copy = kept.copy()
    b.grad = None
    x.grad = None
    out2 = ag.nn.Linear(4, 2, rng=0)(x)
    out2.sum().backward()
    np.testing.assert_array_equal(kept, kept_copy)
    (x @ w).sum().backward()  # accumulates into w.grad, which may replace the array, not edit a kept copy
    np.testing.assert_array_equal(kept, kept_copy)
    np.testing.assert_allclose(w.grad, 2 * kept_copy)
