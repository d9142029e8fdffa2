"""Neural-network building blocks: Module, Linear, activations, Sequential, MLP.

A Module is a function with parameters. Its parameters are the Variables stored in its
attributes (and in the attributes of the Modules it contains), found in a fixed order.
Layers use the row convention of the lecture code: a batch X has one example per row,
and Linear computes X @ W + b with W of shape (in_features, out_features).
"""

from __future__ import annotations

import numpy as np

from .graph import Variable
from .ops import affine, relu, sigmoid, tanh


class Module:
    """Base class: subclasses define ``forward``; calling the module calls forward."""

    training = True

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def __call__(self, *args):
        return self.forward(*args)

    def parameters(self) -> list[Variable]:
        """Every Variable with requires_grad in this module and its sub-modules, each once,
        in the order the attributes were assigned."""
        found, seen = [], set()

        def visit(value):
            if isinstance(value, Variable):
                if value.requires_grad and id(value) not in seen:
                    seen.add(id(value))
                    found.append(value)
            elif isinstance(value, Module):
                for item in vars(value).values():
                    visit(item)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    visit(item)
            elif isinstance(value, dict):
                for item in value.values():
                    visit(item)

        visit(self)
        return found

    def zero_grad(self) -> None:
        for parameter in self.parameters():
            parameter.grad = None

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())


class Linear(Module):
    """y = x @ W + b, with W of shape (in_features, out_features) and b of shape (out_features,).

    W is initialised from N(0, gain^2 / in_features) (He initialisation for gain = sqrt(2),
    which keeps the size of ReLU activations constant from layer to layer); b starts at 0.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, gain: float = np.sqrt(2.0),
                 rng=None, dtype=np.float64):
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs positive sizes, got in_features={in_features}, out_features={out_features}")
        rng = np.random.default_rng(rng)
        scale = gain / np.sqrt(in_features)
        self.weight = Variable(rng.normal(0.0, scale, (in_features, out_features)), name="W", dtype=dtype)
        self.bias = Variable(np.zeros(out_features), name="b", dtype=dtype) if bias else None
        self.in_features, self.out_features = in_features, out_features

    def forward(self, x):
        shape = x.shape
        if shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) got input of shape {tuple(shape)}; "
                             f"its last axis must have {self.in_features} features")
        if self.bias is not None and len(shape) == 2:
            return affine(x, self.weight, self.bias)  # x @ W + b as one node
        out = x @ self.weight
        return out + self.bias if self.bias is not None else out

    def __repr__(self):
        return f"Linear({self.in_features}, {self.out_features})"


class ReLU(Module):
    def forward(self, x):
        return relu(x)


class Tanh(Module):
    def forward(self, x):
        return tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return sigmoid(x)


class Sequential(Module):
    """Apply modules one after the other."""

    def __init__(self, *layers: Module):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        return "Sequential(" + ", ".join(map(repr, self.layers)) + ")"


ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


class MLP(Sequential):
    """A multi-layer perceptron: Linear layers with an activation between them (none after the
    last). ``MLP([64, 128, 64, 10])`` has three Linear layers."""

    def __init__(self, sizes, activation: str = "relu", rng=None, dtype=np.float64):
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least an input and an output size, got sizes={sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
        rng = np.random.default_rng(rng)
        gain = np.sqrt(2.0) if activation == "relu" else 1.0
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = i == len(sizes) - 2
            layers.append(Linear(n_in, n_out, gain=1.0 if last else gain, rng=rng, dtype=dtype))
            if not last:
                layers.append(ACTIVATIONS[activation]())
        super().__init__(*layers)
        self.sizes = sizes
