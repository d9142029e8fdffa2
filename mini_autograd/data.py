"""Small data sets that need no network: synthetic spirals and moons, and the 8x8 digits.

The digits (1,797 images of 8x8 pixels, 10 classes) are the UCI "Optical Recognition of
Handwritten Digits" test set as shipped by scikit-learn; see datasets/DIGITS.md.
"""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np


def make_spirals(n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2, seed=0):
    """Interleaved spiral arms in 2-D, one per class: X (n_per_class * n_classes, 2), y ints."""
    if n_per_class < 1 or n_classes < 1:
        raise ValueError(f"make_spirals needs positive sizes, got n_per_class={n_per_class}, n_classes={n_classes}")
    rng = np.random.default_rng(seed)
    X, y = [], []
    for c in range(n_classes):
        radius = np.linspace(0.0, 1.0, n_per_class)
        angle = np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class) + rng.normal(0, noise, n_per_class)
        X.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        y.append(np.full(n_per_class, c))
    return np.concatenate(X), np.concatenate(y)


def make_moons(n_samples: int = 200, noise: float = 0.1, seed=0):
    """Two interleaving half circles: X (n_samples, 2), y in {0, 1}."""
    if n_samples < 2:
        raise ValueError(f"make_moons needs at least 2 samples, got {n_samples}")
    rng = np.random.default_rng(seed)
    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    upper = np.linspace(0, np.pi, n_upper)
    lower = np.linspace(0, np.pi, n_lower)
    X = np.concatenate([
        np.column_stack([np.cos(upper), np.sin(upper)]),
        np.column_stack([1 - np.cos(lower), 0.5 - np.sin(lower)]),
    ])
    X = X + rng.normal(0, noise, X.shape)
    y = np.concatenate([np.zeros(n_upper, dtype=int), np.ones(n_lower, dtype=int)])
    return X, y


def load_digits():
    """The 8x8 handwritten digits: X (1797, 64) with pixels scaled to [0, 1], y (1797,) in 0..9."""
    raw = resources.files("mini_autograd.datasets").joinpath("digits.csv.gz").read_bytes()
    table = np.loadtxt(gzip.decompress(raw).decode().splitlines(), delimiter=",")
    return table[:, :-1] / 16.0, table[:, -1].astype(int)


def train_test_split(X, y, test_fraction: float = 0.25, seed=0):
    """Shuffle once and split: X_train, X_test, y_train, y_test."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(len(X) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def minibatches(X, y, batch_size: int, rng=None, shuffle: bool = True):
    """Yield (X_batch, y_batch) covering the data once, in a random order when shuffle is set."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    order = np.random.default_rng(rng).permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        batch = order[start:start + batch_size]
        yield X[batch], y[batch]
