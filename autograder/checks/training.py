"""Checks for the MLP assignment: losses on models, SGD loops, trained networks.

Like ``autograder.checks.gradients``, every check first verifies integrity, runs the student's code on
inputs it makes itself, judges the result with references taken when this module was
imported (before any student code ran), and verifies integrity again after the student's
code has run (it may have changed numpy or mini_autograd while it ran).

A trained model is never asked for its own predictions: the checks read the values of its
``ag.nn.Linear`` layers and evaluate the network with their own numpy references, so a
model whose ``forward`` (or an accuracy function) was replaced cannot pass.

    check_regularized_loss(fn, exercise)          fn(model, X, y, lam) -> Variable: CE + L2
    check_sgd_steps(train, exercise)              exact steps of minibatch SGD on small data
    check_training(train, exercise, ...)          trains on spirals: loss goes down, accuracy
    check_accuracy(model, X, y, minimum, ...)     held-out accuracy of a trained MLP
    check_bump(bump_parameters, cases, ...)       sigmoid units that build a bump
"""

from __future__ import annotations

import numpy

import mini_autograd as ag

from . import integrity as safe
from .core import MISTAKE, ROUNDING, fail
from .gradients import _CallWatch, call_student
from .messages import likely_cause, mismatch_message, student_text, worst_mismatch
from .numeric import as_float64

# References taken at import (the setup cell imports this module before any student code).
_Variable = ag.Variable
_Linear = ag.nn.Linear
_ReLU = ag.nn.ReLU
_Tanh = ag.nn.Tanh
_Sigmoid = ag.nn.Sigmoid
_Sequential = ag.nn.Sequential
_MLP = ag.nn.MLP
_cross_entropy = ag.cross_entropy
_CROSS_ENTROPY_CODE = ag.cross_entropy.__code__
_make_spirals = ag.data.make_spirals
_np_maximum = numpy.maximum
_np_tanh = numpy.tanh
_np_argmax = numpy.argmax
_np_mean = numpy.mean
_np_abs = numpy.abs
_np_linspace = numpy.linspace
_np_ravel = numpy.ravel
_np_repeat = numpy.repeat
_builtin_list = list
_builtin_tuple = tuple
_builtin_float = float
_builtin_type = type
_builtin_vars = vars
_builtin_max = max

MAX_DEPTH = 20  # nesting of Sequential models the checks follow


def _sigmoid(z):
    return 0.5 * (1.0 + _np_tanh(0.5 * z))


# --- evaluating a network without trusting it -----------------------------------------------

def _layers(exercise, module, depth=0):
    """The reference layers of a model, in order: Linear and activation modules only."""
    if depth > MAX_DEPTH:
        fail(exercise, "the model is nested too deeply.")
    kind = _builtin_type(module)
    if kind in (_Linear, _ReLU, _Tanh, _Sigmoid):
        return [module]
    if kind in (_Sequential, _MLP):
        layers = _builtin_vars(module).get("layers")
        if _builtin_type(layers) not in (_builtin_list, _builtin_tuple):
            fail(exercise, "the model's layers are not a list of layers.")
        found = []
        for layer in layers:
            found.extend(_layers(exercise, layer, depth + 1))
        return found
    fail(exercise, f"the model should be built from mini_autograd's reference pieces (ag.nn.MLP, or "
                    f"ag.nn.Sequential of ag.nn.Linear and activation layers), but it contains a "
                    f"{kind.__name__}.")


def _parameter_value(exercise, layer, name, shape):
    variable = _builtin_vars(layer).get(name)
    if _builtin_type(variable) is not _Variable:
        fail(exercise, f"the {name} of a Linear layer is not an ag.Variable.")
    value = variable.value
    if not safe.builtin_isinstance(value, safe.ndarray) or tuple(value.shape) != shape:
        fail(exercise, f"the {name} of a Linear layer should be an array of shape {shape}.")
    value = as_float64(value)
    if not safe.np_all(safe.np_isfinite(value)):
        fail(exercise, f"the {name} of a Linear layer contains NaN or inf: training diverged "
                        f"(a learning rate too large, or a step uphill?).")
    return value


def network_logits(exercise, model, X):
    """The model's output for X, computed in float64 from its parameter values."""
    out = as_float64(X)
    for layer in _layers(exercise, model):
        kind = _builtin_type(layer)
        if kind is _Linear:
            n_in, n_out = _builtin_vars(layer).get("in_features"), _builtin_vars(layer).get("out_features")
            if out.shape[-1] != n_in:
                fail(exercise, f"a Linear layer expects {n_in} features but gets {out.shape[-1]}.")
            out = out @ _parameter_value(exercise, layer, "weight", (n_in, n_out))
            if _builtin_vars(layer).get("bias") is not None:
                out = out + _parameter_value(exercise, layer, "bias", (n_out,))
        elif kind is _ReLU:
            out = _np_maximum(out, 0.0)
        elif kind is _Tanh:
            out = _np_tanh(out)
        else:
            out = _sigmoid(out)
    return out


def network_accuracy(exercise, model, X, y) -> float:
    logits = network_logits(exercise, model, X)
    y = safe.np_asarray(y)
    if logits.ndim != 2 or logits.shape[0] != y.shape[0]:
        fail(exercise, f"the model's output has shape {tuple(logits.shape)}; expected ({y.shape[0]}, classes).")
    return _builtin_float(_np_mean(_np_argmax(logits, axis=1) == y))


def check_accuracy(model, X, y, minimum: float, exercise: str, what: str = "the held-out accuracy"):
    """``model`` (an ag.nn.MLP or Sequential of reference layers) must classify at least
    ``minimum`` of the rows of X correctly."""
    safe.verify(exercise)
    accuracy = network_accuracy(exercise, model, X, y)
    if not accuracy >= minimum:
        fail(exercise, f"{what} is {accuracy:.1%}, below the required {minimum:.0%}. Train longer, with "
                        f"momentum, or with another learning rate (the loss per epoch tells you which).")
    return accuracy


# --- the regularised loss ------------------------------------------------------------------------

def _weights(model):
    return [p for p in model.parameters() if p.ndim == 2]


def check_regularized_loss(student_fn, exercise: str, *, cases=(((4, 6, 3), 8, 0.1, 0),)):
    """student_fn(model, X, y, lam) must return a Variable equal to the mean cross-entropy plus
    lam * (sum of the squares of every weight matrix, not the biases), whose backward pass
    gives the gradient of that total. cases: (sizes, batch, lam, seed)."""
    safe.verify(exercise)
    for sizes, batch, lam, seed in cases:
        rng = safe.np_random_default_rng(seed)
        X = rng.normal(size=(batch, sizes[0]))
        y = rng.integers(0, sizes[-1], size=batch)
        reference_model = _MLP(sizes, rng=seed)
        for p in reference_model.parameters():
            p.value = p.value + 0.1 * rng.normal(size=p.shape)  # biases that are not zero
        expected = _cross_entropy(reference_model(X), y)
        for W in _weights(reference_model):
            expected = expected + lam * (W * W).sum()
        expected.backward()
        model = _MLP(sizes, rng=seed)
        params = model.parameters()
        for p, q in zip(params, reference_model.parameters()):
            p.value = safe.np_copy(q.value)
        where = f"for an MLP {list(sizes)}, a batch of {batch} and lam = {lam}"
        got = call_student(exercise, "regularized_loss", student_fn, model, safe.np_copy(X), safe.np_copy(y), lam)
        if _builtin_type(got) is not _Variable:
            fail(exercise, f"regularized_loss should return an ag.Variable (build it with ag operations so "
                            f"that backward works), got {type(got).__name__}.")
        if got.shape != ():
            fail(exercise, f"regularized_loss should return a scalar, got shape {got.shape}.")
        mismatch = worst_mismatch(got.value, expected.value, ROUNDING.atol, ROUNDING.rtol)
        if mismatch is not None:
            plain = float(_cross_entropy(reference_model(X), y).value)
            hint = None
            if abs(float(got.value) - plain) < 1e-9:
                hint = "the penalty is missing"
            else:
                with_bias = float(expected.value) + lam * sum(float(safe.np_sum(b.value ** 2))
                                                              for b in reference_model.parameters() if b.ndim == 1)
                if abs(float(got.value) - with_bias) < ROUNDING.rtol * (1 + abs(with_bias)):
                    hint = "the biases were penalised too: only weight matrices are"
            fail(exercise, mismatch_message(f"the loss {where}", mismatch, hint))
        for p in params:
            p.grad = None
        try:
            got.backward()
        except Exception as error:  # a loss that is not part of a graph
            fail(exercise, f"backward() on your loss failed ({type(error).__name__}: {student_text(error)}).")
        safe.verify(exercise)
        for k, (p, q) in enumerate(zip(params, reference_model.parameters())):
            name = f"{'weight' if q.ndim == 2 else 'bias'} of layer {k // 2 + 1}"
            if p.grad is None:
                fail(exercise, f"after backward, the {name} has no gradient {where}: the loss must be built "
                                f"from the model's Variables with ag operations.")
            mismatch = worst_mismatch(p.grad, q.grad, ROUNDING.atol, ROUNDING.rtol)
            if mismatch is not None:
                cause = likely_cause(p.grad, q.grad)
                if q.ndim == 2 and worst_mismatch(p.grad, q.grad - 2 * lam * q.value, MISTAKE.atol, MISTAKE.rtol) is None:
                    cause = ("the penalty adds to the loss's value but not to its gradient: compute it from the "
                             "Variables (W * W).sum(), not from W.value with numpy")
                elif q.ndim == 2 and worst_mismatch(p.grad, q.grad - lam * q.value, MISTAKE.atol, MISTAKE.rtol) is None:
                    cause = "the gradient of lam * W^2 is 2 lam W: a factor 2 is missing"
                fail(exercise, mismatch_message(f"the gradient of the {name} {where}", mismatch, cause))


# --- the SGD loop ----------------------------------------------------------------------------------

def _reference_sgd(model, batches, lr):
    """Plain SGD steps on the given batches; returns the loss before each step."""
    params = model.parameters()
    losses = []
    for X, y in batches:
        for p in params:
            p.grad = None
        loss = _cross_entropy(model(X), y)
        loss.backward()
        for p in params:
            p.value = p.value - lr * p.grad
        losses.append(float(loss.value))
    return losses


def _losses_list(exercise, losses, epochs):
    if safe.builtin_isinstance(losses, (str, bytes)) or not hasattr(losses, "__len__"):
        fail(exercise, f"train should return the list of mean losses, one per epoch; got {type(losses).__name__}.")
    if safe.builtin_len(losses) != epochs:
        fail(exercise, f"train returned {safe.builtin_len(losses)} losses for {epochs} epochs; return one mean "
                        f"loss per epoch.")
    values = []
    for loss in losses:
        if _builtin_type(loss) is _Variable:
            fail(exercise, "train should return numbers (float(loss.value)), not Variables: keeping the "
                            "Variables keeps every graph alive.")
        try:
            values.append(_builtin_float(loss))
        except (TypeError, ValueError):
            fail(exercise, f"train returned a loss of type {type(loss).__name__}; return numbers.")
    for value in values:
        if not safe.math_isfinite(value):
            fail(exercise, f"a loss is {value}: training diverged (a step uphill, or gradients that pile up?).")
    return values


def _epoch_means(step_losses, batch_sizes):
    """The two accepted mean losses of each epoch, from the loss of each step in order: the mean
    over the minibatches, and the mean over the examples (minibatches weighted by their size)."""
    per_epoch = safe.builtin_len(batch_sizes)
    by_batch, by_example = [], []
    for start in safe.builtin_range(0, safe.builtin_len(step_losses), per_epoch):
        epoch = step_losses[start:start + per_epoch]
        by_batch.append(sum(epoch) / per_epoch)
        by_example.append(sum(loss * size for loss, size in zip(epoch, batch_sizes)) / sum(batch_sizes))
    return safe.np_array(by_batch), safe.np_array(by_example)


def _compare_loss_history(exercise, reported, step_losses, batch_sizes, what):
    """The losses train returned must be the losses its steps computed: each epoch's mean of its
    minibatch losses (each computed before its step), not made-up, stale or last-batch values."""
    reported = safe.np_array(reported, dtype=float)
    by_batch, by_example = _epoch_means(step_losses, batch_sizes)
    if worst_mismatch(reported, by_example, ROUNDING.atol, ROUNDING.rtol) is None:
        return
    mismatch = worst_mismatch(reported, by_batch, ROUNDING.atol, ROUNDING.rtol)
    if mismatch is not None:
        fail(exercise, mismatch_message(
            f"{what}, the returned loss of epoch {mismatch.index[0] + 1}", mismatch,
            "the returned losses are not the ones the loop computed: return, for each epoch, the mean of the "
            "losses of its minibatches (each float(loss.value) computed before its step)"))


def _compare_parameters(exercise, params, expected_model, before, what, hint=None):
    for k, (p, q, start) in enumerate(zip(params, expected_model.parameters(), before)):
        name = f"{'weight' if q.ndim == 2 else 'bias'} of layer {k // 2 + 1}"
        got = as_float64(p.value)
        if tuple(got.shape) != tuple(q.shape):
            fail(exercise, f"{what}, the {name} has shape {tuple(got.shape)} instead of {tuple(q.shape)}.")
        mismatch = worst_mismatch(got, q.value, ROUNDING.atol, ROUNDING.rtol)
        if mismatch is None:
            continue
        step, expected_step = got - start, q.value - start
        if safe.np_all(step == 0):
            cause = ("the parameters did not change: update the Variables of model.parameters() in place "
                     "(p.value -= lr * p.grad), after loss.backward()")
        elif worst_mismatch(step, -expected_step, MISTAKE.atol, MISTAKE.rtol) is None:
            cause = "the step goes uphill: subtract lr * gradient from the parameters"
        else:
            cause = likely_cause(step, expected_step)
            cause = f"the step (new value - old value) is off: {cause}" if cause else hint
        fail(exercise, mismatch_message(f"{what}, the {name}", mismatch, cause))


def check_sgd_steps(train_fn, exercise: str, *, seeds=(0,), sizes=(3, 5, 4), lr: float = 0.1):
    """train_fn(model, X, y, epochs, lr, batch_size, seed) must take exactly the steps of plain
    minibatch SGD on the mean cross-entropy (ag.cross_entropy), covering every example once per
    epoch, the last batch possibly smaller, and return the mean loss of each epoch.

    Shuffling makes minibatches unpredictable, so the check uses batches whose order does not
    matter: the whole data set as one batch, and a data set of identical rows."""
    safe.verify(exercise)
    for seed in seeds:
        rng = safe.np_random_default_rng(seed)
        n = 12
        X = rng.normal(size=(n, sizes[0]))
        y = rng.integers(0, sizes[-1], size=n)
        for epochs in (1, 3):
            model = _MLP(sizes, rng=seed)
            params = model.parameters()
            before = [safe.np_copy(p.value) for p in params]
            expected_model = _MLP(sizes, rng=seed)
            expected_losses = _reference_sgd(expected_model, [(X, y)] * epochs, lr)
            what = (f"after train(model, X, y, epochs={epochs}, lr={lr}, batch_size={n}, seed={seed}) "
                    f"on {n} examples (one batch per epoch: plain gradient descent)")
            losses = call_student(exercise, "train", train_fn, model, safe.np_copy(X), safe.np_copy(y), epochs, lr, n, seed)
            values = _losses_list(exercise, losses, epochs)
            hint = ("one step was right but several are not: do the gradients pile up? Set every p.grad = None "
                    "(or call zero_grad) before each backward" if epochs > 1 else
                    "one step of gradient descent should give p - lr * dL/dp, with L the mean cross-entropy "
                    "of the batch (and X and y must stay paired when you shuffle)")
            _compare_parameters(exercise, params, expected_model, before, what, hint)
            mismatch = worst_mismatch(safe.np_array(values), safe.np_array(expected_losses), ROUNDING.atol, ROUNDING.rtol)
            if mismatch is not None:
                fail(exercise, mismatch_message(f"{what}, the returned losses", mismatch,
                                                 "each epoch's loss is the mean of its minibatch losses, each computed "
                                                 "before its step"))
        # identical rows: every minibatch has the same mean gradient, whatever the shuffle
        row = rng.normal(size=(1, sizes[0]))
        label = rng.integers(0, sizes[-1], size=1)
        n, batch_size, epochs = 10, 4, 2
        X, y = _np_repeat(row, n, axis=0), _np_repeat(label, n)
        model = _MLP(sizes, rng=seed + 1)
        params = model.parameters()
        before = [safe.np_copy(p.value) for p in params]
        expected_model = _MLP(sizes, rng=seed + 1)
        step_losses = _reference_sgd(expected_model, [(row, label)] * (3 * epochs), lr)
        losses = call_student(exercise, "train", train_fn, model, X, y, epochs, lr, batch_size, seed)
        values = _losses_list(exercise, losses, epochs)
        what = (f"after train(..., epochs={epochs}, lr={lr}, batch_size={batch_size}) on {n} identical "
                f"examples (3 steps per epoch: batches of 4, 4 and 2; every example once per epoch)")
        _compare_parameters(exercise, params, expected_model, before, what,
                            "take one step per minibatch, use every example once per epoch (the last batch may be "
                            "smaller) and reset the gradients before each backward")
        _compare_loss_history(exercise, values, step_losses, [4, 4, 2], what)


class _LossWatch(_CallWatch):
    """Records the value of every ag.cross_entropy call while the student's train runs
    (sys.setprofile, on the reference taken at import), so that the losses train reports can be
    compared with the losses it computed."""

    def __init__(self):
        self.losses = []

    def _profile(self, frame, event, arg):
        if event == "return" and frame.f_code is _CROSS_ENTROPY_CODE and _builtin_type(arg) is _Variable:
            self.losses.append(_builtin_float(arg.value))


def _shuffled_spirals(n_per_class, classes, data_seed):
    X, y = _make_spirals(n_per_class, classes, seed=data_seed)
    order = safe.np_random_default_rng(data_seed + 12345).permutation(safe.builtin_len(X))
    return X[order], y[order]


def check_training(train_fn, exercise: str, *, sizes=(2, 64, 64, 3), n_per_class: int = 100, data_seed: int = 0,
                   model_seed: int = 0, epochs: int = 60, lr: float = 0.5, batch_size: int = 32, seed: int = 0,
                   min_accuracy: float = 0.9):
    """Train a fresh ag.nn.MLP on the spirals with train_fn: the loss must go down and the
    training accuracy (computed by the check from the parameters) reach min_accuracy."""
    safe.verify(exercise)
    classes = sizes[-1]
    X, y = _shuffled_spirals(n_per_class, classes, data_seed)
    model = _MLP(list(sizes), rng=model_seed)
    setting = (f"train(MLP({list(sizes)}), spirals of {classes} x {n_per_class} points, epochs={epochs}, lr={lr}, "
               f"batch_size={batch_size}, seed={seed})")
    with _LossWatch() as watch:
        losses = call_student(exercise, "train", train_fn, model, safe.np_copy(X), safe.np_copy(y), epochs, lr,
                              batch_size, seed)
    values = _losses_list(exercise, losses, epochs)
    n = safe.builtin_len(X)
    batch_sizes = [min(batch_size, n - start) for start in safe.builtin_range(0, n, batch_size)]
    if safe.builtin_len(watch.losses) == epochs * safe.builtin_len(batch_sizes):  # one ag.cross_entropy per step
        _compare_loss_history(exercise, values, watch.losses, batch_sizes, setting)
    if not values[-1] < 0.5 * values[0]:
        fail(exercise, f"{setting}: the loss went from {values[0]:.4g} (first epoch) to {values[-1]:.4g} (last "
                        f"epoch); it should fall to less than half.")
    accuracy = network_accuracy(exercise, model, X, y)
    if not accuracy >= min_accuracy:
        fail(exercise, f"{setting}: the training accuracy is {accuracy:.1%}, below {min_accuracy:.0%}, although "
                        f"the returned losses fell from {values[0]:.4g} to {values[-1]:.4g}. Are the model's own "
                        f"parameters updated, and do X and y stay paired when you shuffle?")
    return values


# --- the universal approximation construction ---------------------------------------------------

def sigmoid_network(x, w, b, v):
    """sum_h v_h sigmoid(w_h x + b_h) for every element of the 1-D array x (the check's reference)."""
    x = as_float64(x)
    return _sigmoid(x[:, None] * as_float64(w)[None, :] + as_float64(b)[None, :]) @ as_float64(v)


def check_bump(student_fn, cases, exercise: str):
    """student_fn(left, right, height, steepness) must return (w, b, v), the parameters of
    sigmoid units whose weighted sum is ``height`` on (left, right) and 0 elsewhere, up to
    the blur of the sigmoids: points within 5 / steepness of an edge are not checked."""
    safe.verify(exercise)
    for left, right, height, steepness in cases:
        call = f"bump_parameters({left}, {right}, {height}, steepness={steepness})"
        got = call_student(exercise, call, student_fn, left, right, height, steepness)
        if not safe.builtin_isinstance(got, (_builtin_tuple, _builtin_list)) or safe.builtin_len(got) != 3:
            fail(exercise, f"{call} should return a tuple (w, b, v) of three arrays.")
        w, b, v = (_np_ravel(safe.np_asarray(part, dtype=float)) for part in got)
        if not (w.shape == b.shape == v.shape) or w.size == 0:
            fail(exercise, f"{call}: w, b and v should have one entry per unit, got shapes "
                            f"{tuple(w.shape)}, {tuple(b.shape)}, {tuple(v.shape)}.")
        if not (safe.np_all(safe.np_isfinite(w)) and safe.np_all(safe.np_isfinite(b)) and safe.np_all(safe.np_isfinite(v))):
            fail(exercise, f"{call} returned NaN or inf.")
        margin = 5.0 / steepness
        x = _np_linspace(left - 0.5, right + 0.5, 801)
        x = x[(_np_abs(x - left) > margin) & (_np_abs(x - right) > margin)]
        target = safe.np_where((x > left) & (x < right), _builtin_float(height), 0.0)
        out = sigmoid_network(x, w, b, v)
        tolerance = 0.05 * _builtin_max(abs(height), 0.1)
        error = _np_abs(out - target)
        worst = int(_np_argmax(error))
        if not error[worst] <= tolerance:
            side = "inside" if left < x[worst] < right else "outside"
            fail(exercise, f"{call}: at x = {x[worst]:.4g} ({side} the bump) the network gives {out[worst]:.4g} "
                            f"instead of {target[worst]:.4g}. A unit with weight w and bias b steps at x = -b/w; "
                            f"the steeper w, the sharper the step.")


safe.protect_new_modules()  # changing this module now counts as tampering too
