"""A plain minibatch training loop and accuracy, shared by the demo, the tests and the notebooks."""

from __future__ import annotations

import numpy as np

from .data import minibatches
from .graph import no_grad
from .ops import cross_entropy


def accuracy(model, X, y) -> float:
    """The fraction of rows of X whose highest-scoring class is y."""
    with no_grad():
        return float(np.mean(model(X).value.argmax(axis=-1) == y))


def train_classifier(model, optimizer, X, y, epochs: int, batch_size: int = 32, seed=0, on_epoch=None):
    """Minimise the mean cross-entropy with minibatch steps; returns the mean loss per epoch.

    ``on_epoch(epoch, mean_loss)`` is called after every epoch (for progress output).
    """
    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(epochs):
        losses = []
        for X_batch, y_batch in minibatches(X, y, batch_size, rng=rng):
            optimizer.zero_grad()
            loss = cross_entropy(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.value))
        history.append(float(np.mean(losses)))
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    return history
