"""Functions of neural networks: softmax, log-softmax, logsumexp and the losses.

Each is one node with a hand-derived backward pass, which is both faster and numerically
safer than chaining exp, sum and log: the max is subtracted before exponentiating, so
logits of +-1000 give finite values and gradients.
"""

from __future__ import annotations

import math

import numpy as np

from ..graph import Operation, Variable, _lift, constant
from .reductions import expand_reduced, _normalize_axes


def _stable_shift(x, axis):
    """The max m of x along axis (kept), subtracted before exponentiating so that exp(x - m) <= 1."""
    shift = x.max(axis=axis, keepdims=True)
    if not np.isfinite(shift).all():  # a row of -inf (or inf): shift by 0 there instead
        shift = np.where(np.isfinite(shift), shift, 0)
    return shift


def _stable_logsumexp(x, axis):
    """log(sum(exp(x))) along axis (kept), computed as m + log(sum(exp(x - m))) with m the max."""
    x = np.asarray(x)
    shift = _stable_shift(x, axis)
    return shift + np.log(np.exp(x - shift).sum(axis=axis, keepdims=True))


def _stable_log_softmax(x, axis, careful=True):
    """log softmax(x) = x - logsumexp(x) along axis, computed as (x - m) - log(sum(exp(x - m)))
    with m the max along the axis; careful=False skips _stable_shift's check for rows whose max
    is not finite (such rows come out all NaN then)."""
    shifted = x - (_stable_shift(x, axis) if careful else x.max(axis=axis, keepdims=True))
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Operation):
    """s = exp(x) / sum(exp(x)) along ``axis``.

    Jacobian: ds_i/dx_j = s_i (delta_ij - s_j). Its vector product never needs the matrix:
    grad_x = s * (grad_s - sum(grad_s * s)).
    """

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        self.s = np.exp(x - _stable_logsumexp(x, self.axis))
        return self.s

    def backward(self, grad):
        s = self.s
        return (s * (grad - np.sum(grad * s, axis=self.axis, keepdims=True)),)

    def jvp(self, t):
        s = self.s
        return s * (t - np.sum(s * t, axis=self.axis, keepdims=True))


class LogSoftmax(Operation):
    """z = x - logsumexp(x) along ``axis``.

    dz_i/dx_j = delta_ij - softmax(x)_j, so grad_x = grad_z - softmax(x) * sum(grad_z).
    """

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        z = _stable_log_softmax(x, self.axis)
        self.softmax = np.exp(z)
        return z

    def backward(self, grad):
        return (grad - self.softmax * np.sum(grad, axis=self.axis, keepdims=True),)

    def jvp(self, t):
        return t - np.sum(self.softmax * t, axis=self.axis, keepdims=True)


class LogSumExp(Operation):
    """z = log(sum(exp(x))) along ``axis``.   dz/dx = softmax(x)."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _normalize_axes(self.axis, np.ndim(x))
        self.shape = np.shape(x)
        z = _stable_logsumexp(x, self.axes)
        self.softmax = np.exp(x - z)
        return z if self.keepdims else np.squeeze(z, axis=self.axes)

    def backward(self, grad):
        return (expand_reduced(grad, self.axes, self.keepdims, self.shape) * self.softmax,)

    def jvp(self, t):
        return np.sum(self.softmax * t, axis=self.axes, keepdims=self.keepdims)


class CrossEntropy(Operation):
    """Mean cross-entropy of softmax(logits) against the targets, over all leading axes.

    logits: (..., C). targets: integer class labels of shape (...), or probabilities
    (one-hot or soft) of shape (..., C).
        L = -mean( sum_c y_c log softmax(logits)_c )
        dL/dlogits = (softmax(logits) - y) / N      (N examples)
        dL/dy = -log softmax(logits) / N            (only for probability targets)
    """

    def forward(self, logits, targets):
        logits, targets = np.asarray(logits), np.asarray(targets)
        if logits.ndim == 0:
            raise ValueError("CrossEntropy: logits must have a class axis, got a scalar")
        classes = logits.shape[-1]
        self.count = logits.size // classes if classes else 0
        if targets.shape == logits.shape[:-1]:
            labels = targets.reshape(-1)
            if labels.dtype.kind != "i":
                if labels.dtype.kind not in "uf" or np.any(labels != np.round(labels)):
                    raise ValueError(f"CrossEntropy: labels must be integers, got dtype {targets.dtype}")
                labels = labels.astype(np.intp)
            try:  # where log_p[i, labels[i]] sits in log_p flattened (a label outside 0..C-1 raises)
                self.picked = np.ravel_multi_index((np.arange(labels.size), labels), (labels.size, classes))
            except ValueError:
                raise ValueError(f"CrossEntropy: integer labels must lie in 0..{classes - 1}, "
                                 f"got values from {labels.min()} to {labels.max()}") from None
            self.labels, self.probabilities = labels, None
        elif targets.shape == logits.shape:
            self.labels, self.probabilities = None, targets
        else:
            raise ValueError(
                f"CrossEntropy: targets of shape {targets.shape} match neither labels of shape {logits.shape[:-1]} "
                f"nor probabilities of shape {logits.shape} for logits of shape {logits.shape}"
            )
        # A row whose max is inf or NaN comes out all NaN without the careful shift, and so
        # does the loss: only then is the careful version worth computing.
        self.log_p = _stable_log_softmax(logits, -1, careful=False)
        loss = self._mean_loss()
        if not math.isfinite(loss):
            self.log_p = _stable_log_softmax(logits, -1)
            loss = self._mean_loss()
        return loss

    def _mean_loss(self):
        """-mean over the examples of sum_c y_c log softmax(logits)_c, from self.log_p."""
        if self.labels is not None:
            return -self.log_p.reshape(-1)[self.picked].sum() / self.count
        return -np.sum(self.probabilities * self.log_p) / self.count

    def backward(self, grad):
        scale = grad / self.count
        softmax = np.exp(self.log_p)
        if self.labels is not None:
            flat = softmax.reshape(-1)  # (a view, unless log_p is not in C order: then a copy)
            flat[self.picked] -= 1  # softmax - onehot(labels)
            flat *= scale
            return flat.reshape(softmax.shape), None
        return (softmax - self.probabilities) * scale, -self.log_p * scale

    def jvp(self, t_logits, t_targets):
        softmax = np.exp(self.log_p)
        if self.labels is not None:
            y = np.zeros(softmax.size, softmax.dtype)
            y[self.picked] = 1
            y = y.reshape(softmax.shape)  # onehot(labels)
            t_targets = 0
        else:
            y = self.probabilities
        return (np.sum((softmax - y) * t_logits) - np.sum(t_targets * self.log_p)) / self.count

    def label(self):
        return "CrossEntropy"


class MSELoss(Operation):
    """L = mean((pred - target)**2).   dL/dpred = 2 (pred - target) / N = -dL/dtarget.

    pred and target must have the same shape: a (N, 1) prediction against an (N,) target
    would silently broadcast to (N, N) and train on the wrong loss.
    """

    def forward(self, pred, target):
        if np.shape(pred) != np.shape(target):
            raise ValueError(
                f"MSELoss: prediction of shape {np.shape(pred)} and target of shape {np.shape(target)} differ; "
                "reshape one so they match (broadcasting them would compare every prediction with every target)"
            )
        self.diff = pred - target
        return np.mean(self.diff * self.diff)

    def backward(self, grad):
        grad_pred = (2 * grad / max(self.diff.size, 1)) * self.diff
        return grad_pred, -grad_pred

    def jvp(self, t_pred, t_target):
        return 2 * np.mean(self.diff * (t_pred - t_target))


class BCEWithLogits(Operation):
    """Binary cross-entropy of sigmoid(z) against targets y in [0, 1], averaged:

        L = mean( max(z, 0) - z y + log(1 + exp(-|z|)) )     (stable at |z| = 1000)
        dL/dz = (sigmoid(z) - y) / N,      dL/dy = -z / N
    """

    def forward(self, logits, targets):
        if np.shape(logits) != np.shape(targets):
            raise ValueError(f"BCEWithLogits: logits of shape {np.shape(logits)} and targets of shape {np.shape(targets)} differ")
        self.z, self.y = logits, targets
        self.count = max(np.size(logits), 1)
        return np.mean(np.maximum(logits, 0) - logits * targets + np.log1p(np.exp(-np.abs(logits))))

    def backward(self, grad):
        sigmoid = np.exp(-np.logaddexp(0, -self.z))
        scale = grad / self.count
        return (sigmoid - self.y) * scale, -self.z * scale

    def jvp(self, t_z, t_y):
        sigmoid = np.exp(-np.logaddexp(0, -self.z))
        return (np.sum((sigmoid - self.y) * t_z) - np.sum(self.z * t_y)) / self.count


def softmax(x, axis=-1):
    return Softmax(axis)(x)


def log_softmax(x, axis=-1):
    return LogSoftmax(axis)(x)


def logsumexp(x, axis=None, keepdims=False):
    return LogSumExp(axis, keepdims)(x)


def cross_entropy(logits, targets):
    """Mean softmax cross-entropy; targets are integer labels or probabilities (one-hot)."""
    if not isinstance(targets, Variable):
        targets = np.asarray(targets)
        # integer labels stay integers; probabilities take the logits' floating dtype
        targets = constant(targets) if targets.dtype.kind in "iu" else _lift((logits, targets))[1]
    return CrossEntropy()(logits, targets)


def mse_loss(pred, target):
    return MSELoss()(*_lift((pred, target)))


def binary_cross_entropy_with_logits(logits, targets):
    return BCEWithLogits()(*_lift((logits, targets)))
