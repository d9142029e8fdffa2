"""Linear algebra: matmul, einsum, tensordot.

Matrix multiply, Z = A B (A: n x k, B: k x m), in the row-gradient convention:

    dL/dA = dL/dZ  B^T          dL/dB = A^T  dL/dZ

Einsum generalises both: the gradient of an operand is another einsum, in which the output's
gradient takes the operand's place (see ``Einsum``). Tensordot is an einsum with generated
subscripts, so it reuses that rule.
"""

from __future__ import annotations

import string

import numpy as np

from ..graph import Operation, _lift
from .elementwise import unbroadcast


class MatMul(Operation):
    """Z = A @ B, with numpy's rules: batched over leading axes (which broadcast), and a 1-D
    A or B treated as a row or column vector that is removed from the result again.

    dL/dA = dL/dZ @ B^T,  dL/dB = A^T @ dL/dZ  (transposing the last two axes), then summed
    over any batch axes that were broadcast.
    """

    def forward(self, a, b):
        a_shape, b_shape = np.shape(a), np.shape(b)
        if not a_shape or not b_shape:
            raise ValueError(f"MatMul: operands must have at least one dimension, got shapes {a_shape} and {b_shape}; use * for scalars")
        inner_a = a_shape[-1]
        inner_b = b_shape[-2] if len(b_shape) > 1 else b_shape[0]
        if inner_a != inner_b:
            raise ValueError(
                f"MatMul: shapes {a_shape} and {b_shape} do not align: the last axis of the first "
                f"({inner_a}) must equal the {'second-to-last' if len(b_shape) > 1 else 'only'} axis of the second ({inner_b})"
            )
        self.a, self.b = a, b
        return np.matmul(a, b)

    def backward(self, grad):
        a_node, b_node = self.inputs
        a, b = self.a, self.b
        # Treat a vector as a matrix with one row (a) or one column (b).
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        # The gradient of the matrix product a2 @ b2 (the vector axes put back).
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g = np.reshape(grad, batch + (a2.shape[-2], b2.shape[-1]))
        grad_a = grad_b = None
        if a_node.requires_grad:
            grad_a = np.matmul(g, np.swapaxes(b2, -1, -2))
            grad_a = unbroadcast(grad_a, a2.shape).reshape(a.shape)
        if b_node.requires_grad:
            grad_b = np.matmul(np.swapaxes(a2, -1, -2), g)
            grad_b = unbroadcast(grad_b, b2.shape).reshape(b.shape)
        return grad_a, grad_b

    def jvp(self, ta, tb):
        return np.matmul(ta, self.b) + np.matmul(self.a, tb)


def matmul(a, b):
    return MatMul()(*_lift((a, b)))


class Affine(Operation):
    """Z = X @ W + b: a linear layer in one node (X: n x k, W: k x m, b: m).

        dL/dX = dL/dZ @ W^T,   dL/dW = X^T @ dL/dZ,   dL/db = sum of dL/dZ over the rows

    The same rules as MatMul followed by a broadcast Add, fused so that the bias is added
    into the product's fresh array instead of a copy of it (what nn.Linear uses).
    """

    def forward(self, x, w, b):
        if x.ndim != 2 or w.ndim != 2 or b.shape != w.shape[1:]:
            raise ValueError(f"Affine: expected X (n, k), W (k, m) and b (m,), got shapes "
                             f"{x.shape}, {w.shape} and {b.shape}")
        if x.shape[1] != w.shape[0]:
            raise ValueError(f"Affine: X of shape {x.shape} and W of shape {w.shape} do not align "
                             f"({x.shape[1]} != {w.shape[0]})")
        self.x, self.w = x, w
        z = x @ w
        z += b
        return z

    def backward(self, grad):
        x_node, w_node, b_node = self.inputs
        grad_x = grad @ self.w.T if x_node.requires_grad else None
        grad_w = self.x.T @ grad if w_node.requires_grad else None
        grad_b = grad.sum(axis=0) if b_node.requires_grad else None
        return grad_x, grad_w, grad_b

    def jvp(self, tx, tw, tb):
        return tx @ self.w + self.x @ tw + tb


def affine(x, w, b):
    return Affine()(x, w, b)  # calling the node turns arrays and numbers into constants


# --- einsum -------------------------------------------------------------------------

_LETTERS = string.ascii_letters


def parse_einsum(subscripts: str, shapes: list[tuple]) -> tuple[list[str], str]:
    """Rewrite numpy einsum subscripts in an explicit form with one letter per axis.

    Handles implicit output ('ij,jk'), ellipses ('...ij->...i') and checks everything numpy
    checks, with messages that name the subscripts and shapes at fault.
    Returns (input_terms, output_term), where every term has exactly one letter per axis.
    """
    where = f"einsum({subscripts!r}) with operand shapes {', '.join(map(str, shapes))}"
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum subscripts must be a string such as 'ij,jk->ik', got {type(subscripts).__name__}")
    spec = subscripts.replace(" ", "")
    allowed = set(_LETTERS) | set(",.->")
    bad = sorted(set(spec) - allowed)
    if bad:
        raise ValueError(f"{where}: invalid character(s) {bad}; use letters a-z, A-Z, ',', '...' and '->'")
    if spec.count("->") > 1 or ("-" in spec.replace("->", "")) or (">" in spec.replace("->", "")):
        raise ValueError(f"{where}: '->' must appear at most once, between inputs and output")
    explicit = "->" in spec
    inputs_part, output_part = spec.split("->") if explicit else (spec, None)
    terms = inputs_part.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"{where}: the subscripts name {len(terms)} operand(s) but {len(shapes)} were given")
    for term in terms + ([output_part] if explicit else []):
        if term.replace("...", "").count(".") or term.count("...") > 1:
            raise ValueError(f"{where}: '.' may only appear as a single '...' per term, found {term!r}")

    used = set(spec) & set(_LETTERS)
    fresh = iter(c for c in _LETTERS if c not in used)
    ellipsis_ndim = 0
    for term, shape in zip(terms, shapes):
        letters = len(term.replace("...", ""))
        if "..." in term:
            if letters > len(shape):
                raise ValueError(f"{where}: term {term!r} names {letters} axes but its operand has shape {shape}")
            ellipsis_ndim = max(ellipsis_ndim, len(shape) - letters)
        elif letters != len(shape):
            raise ValueError(
                f"{where}: term {term!r} names {letters} axes but its operand has {len(shape)} (shape {shape})"
            )
    ellipsis_letters = "".join(next(fresh) for _ in range(ellipsis_ndim))

    explicit_terms = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            n = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", ellipsis_letters[ellipsis_ndim - n :])
        explicit_terms.append(term)

    if explicit:
        # Without '...' in the output, numpy sums the ellipsis axes away.
        output = output_part.replace("...", ellipsis_letters)
        for letter in output_part.replace("...", ""):
            if output_part.count(letter) > 1:
                raise ValueError(f"{where}: output subscript {letter!r} appears more than once")
            if letter not in inputs_part:
                raise ValueError(f"{where}: output subscript {letter!r} does not appear in any input")
    else:
        counts: dict[str, int] = {}
        for letter in inputs_part.replace("...", ""):
            if letter in _LETTERS:
                counts[letter] = counts.get(letter, 0) + 1
        output = ellipsis_letters + "".join(sorted(c for c, k in counts.items() if k == 1))

    sizes: dict[str, int] = {}
    for term, shape in zip(explicit_terms, shapes):
        for letter, size in zip(term, shape):
            known = sizes.get(letter, 1)
            if size != known and size != 1 and known != 1:
                raise ValueError(
                    f"{where}: subscript {letter!r} stands for axes of different sizes ({known} and {size})"
                )
            sizes[letter] = max(known, size)
    return explicit_terms, output


class Einsum(Operation):
    """Z = einsum(subscripts, X_1, ..., X_n), any subscripts numpy accepts.

    Every einsum is a sum of products and so is linear in each operand. The gradient of
    operand k is **the same einsum, with dL/dZ in the place of X_k and X_k's subscripts as
    the output**: multiply the output's gradient (with the output's subscripts) by the other
    operands, and ask for the subscripts of the operand you want.

        dL/dX_k = einsum('<out>,<other terms>-><term k>', dL/dZ, <the other operands>)

    For 'abc,bad->ab' that is einsum('ab,bad->abc', dL/dZ, Y) for X. numpy refuses some of
    these strings; the helpers after this class handle those cases (``backward`` reads as the
    rule above):
    * a letter of term k that appears nowhere else ('c' above) was summed away in the
      forward pass, so the gradient is copied along that axis (``_copy_along``);
    * a letter repeated in term k ('ii') reads a diagonal: the gradient goes to the diagonal
      entries only, the rest of X_k gets zero (``_onto_diagonal``);
    * an axis of size 1 that numpy broadcast against a longer one gets a letter of its own,
      so the gradient sums over it (``_own_letters_for_broadcast_axes``);
    * '...' and implicit outputs were already written out as letters by ``parse_einsum``.
    """

    def __init__(self, subscripts: str):
        self.subscripts = subscripts

    def forward(self, *operands):
        shapes = [np.shape(x) for x in operands]
        self.terms, self.output_term = parse_einsum(self.subscripts, shapes)
        self.operands = operands
        explicit = ",".join(self.terms) + "->" + self.output_term
        try:
            return np.einsum(explicit, *operands, optimize=len(operands) > 1)
        except ValueError as error:
            raise ValueError(f"einsum({self.subscripts!r}) with operand shapes {', '.join(map(str, shapes))}: {error}") from None

    def backward(self, grad):
        terms = _own_letters_for_broadcast_axes(self.terms, self.operands)
        operands, output = list(self.operands), self.output_term
        grads = []
        for k, x in enumerate(operands):
            if not self.inputs[k].requires_grad:
                grads.append(None)
                continue
            others = terms[:k] + terms[k + 1:]
            other_operands = operands[:k] + operands[k + 1:]
            # the same einsum, with dL/dZ in the place of X_k and X_k's subscripts as the output
            spec = ",".join([output] + others) + "->" + terms[k]
            grads.append(_gradient_einsum(spec, grad, other_operands, np.shape(x)))
        return tuple(grads)

    def jvp(self, *tangents):
        explicit = ",".join(self.terms) + "->" + self.output_term
        total = None
        for k, tangent in enumerate(tangents):
            if not np.any(tangent):
                continue
            operands = list(self.operands)
            operands[k] = tangent
            term = np.einsum(explicit, *operands, optimize=len(operands) > 1)
            total = term if total is None else total + term
        if total is None:
            return np.zeros_like(np.einsum(explicit, *self.operands))
        return total

    def label(self):
        return f"Einsum({self.subscripts!r})"


# --- the general cases of the einsum rule ------------------------------------------


def _gradient_einsum(spec: str, grad, other_operands: list, shape: tuple) -> np.ndarray:
    """np.einsum(spec, grad, *other_operands) for a gradient spec '<out>,<others>-><term k>',
    also where numpy refuses it: letters of term k found in no input were summed away in the
    forward pass (``_copy_along``), and a repeated letter reads a diagonal (``_onto_diagonal``)."""
    inputs, term = spec.split("->")
    unique = "".join(dict.fromkeys(term))  # each letter once, in order
    computable = "".join(c for c in unique if c in inputs)
    partial = np.einsum(inputs + "->" + computable, grad, *other_operands, optimize=len(other_operands) > 0)
    if computable != unique:
        partial = _copy_along(partial, computable, unique, {c: n for c, n in zip(term, shape)})
    return _onto_diagonal(partial, term, unique, shape)


def _copy_along(partial: np.ndarray, letters: str, unique: str, sizes: dict) -> np.ndarray:
    """``partial`` (axes ``letters``) copied along the letters of ``unique`` it lacks: letters
    summed away in the forward pass, on which the gradient does not depend. (The notebook
    multiplies by vectors of ones; a broadcast view gives the same values without the products.)"""
    partial = np.expand_dims(partial, [unique.index(c) for c in unique if c not in letters])
    return np.broadcast_to(partial, [sizes[c] for c in unique])


def _onto_diagonal(values: np.ndarray, term: str, unique: str, shape: tuple) -> np.ndarray:
    """Put ``values`` (axes in the order of ``unique``) into an array of ``shape`` whose axes are
    labelled by ``term``. A letter repeated in ``term`` (as in 'ii') addresses a diagonal, so only
    those entries receive values; the others have zero gradient."""
    if term == unique:
        return values
    if len(set(term)) == len(term):
        return np.transpose(values, [unique.index(c) for c in term])
    full = np.zeros(shape, dtype=values.dtype)
    # np.einsum('ii->i', full) is a writeable view of the diagonal, as in the notebook
    np.einsum(term + "->" + unique, full)[...] = values
    return full


def _own_letters_for_broadcast_axes(terms: list, operands) -> list:
    """The terms with a fresh letter for every axis of size 1 that numpy broadcast against a
    longer axis of the same letter, so that every letter stands for one size in the gradient
    einsums: in the gradient of that operand the fresh letter is found in no other input and
    the einsum sums over the longer axis (the gradient of a broadcast)."""
    sizes: dict[str, int] = {}
    for term, x in zip(terms, operands):
        for letter, size in zip(term, np.shape(x)):
            sizes[letter] = max(sizes.get(letter, 1), size)
    used = set("".join(terms))
    fresh = iter(c for c in _LETTERS if c not in used)
    return ["".join(next(fresh) if size == 1 and sizes[c] > 1 else c for c, size in zip(term, np.shape(x)))
            for term, x in zip(terms, operands)]


def einsum(subscripts: str, *operands):
    return Einsum(subscripts)(*_lift(operands))


def _tensordot_subscripts(a_ndim: int, b_ndim: int, axes) -> str:
    """The einsum subscripts that compute np.tensordot(a, b, axes)."""
    if isinstance(axes, (int, np.integer)):
        if axes < 0 or axes > min(a_ndim, b_ndim):
            raise ValueError(f"tensordot: axes={axes} must be between 0 and {min(a_ndim, b_ndim)} for operands of {a_ndim} and {b_ndim} dimensions")
        a_axes, b_axes = list(range(a_ndim - axes, a_ndim)), list(range(axes))
    else:
        try:
            a_axes, b_axes = axes
        except (TypeError, ValueError):
            raise ValueError(f"tensordot: axes must be an int or a pair of axis lists such as ([1, 2], [0, 1]), got {axes!r}") from None
        a_axes = [a_axes] if np.ndim(a_axes) == 0 else list(a_axes)
        b_axes = [b_axes] if np.ndim(b_axes) == 0 else list(b_axes)
        if len(a_axes) != len(b_axes):
            raise ValueError(f"tensordot: the axis lists {a_axes} and {b_axes} must have the same length")
        a_axes = [a % a_ndim for a in a_axes]
        b_axes = [b % b_ndim for b in b_axes]
    letters = iter(_LETTERS)
    a_term = [next(letters) for _ in range(a_ndim)]
    b_term = [next(letters) for _ in range(b_ndim)]
    for i, j in zip(a_axes, b_axes):
        b_term[j] = a_term[i]
    out = [c for i, c in enumerate(a_term) if i not in a_axes] + [c for j, c in enumerate(b_term) if j not in b_axes]
    return "".join(a_term) + "," + "".join(b_term) + "->" + "".join(out)


class TensorDot(Einsum):
    """Z = tensordot(A, B, axes): contract the listed axes of A with those of B.

    Tensordot is the einsum whose subscripts pair the contracted axes, so the forward pass
    uses np.tensordot and the backward pass is Einsum's rule.
    """

    def __init__(self, axes=2):
        self.axes = axes

    def forward(self, a, b):
        self.subscripts = _tensordot_subscripts(np.ndim(a), np.ndim(b), self.axes)
        self.terms, self.output_term = parse_einsum(self.subscripts, [np.shape(a), np.shape(b)])
        self.operands = (a, b)
        try:
            return np.tensordot(a, b, self.axes)
        except ValueError as error:
            raise ValueError(f"tensordot with axes={self.axes!r} and shapes {np.shape(a)}, {np.shape(b)}: {error}") from None

    def label(self):
        return f"TensorDot(axes={self.axes!r})"


def tensordot(a, b, axes=2):
    return TensorDot(axes)(*_lift((a, b)))
