"""Feedback that teaches: where an answer differs, by how much, and the likely cause.

``compare`` finds the worst element of an answer against the expected array; ``likely_cause``
recognises the usual mistakes from the shape and values of a wrong answer (transposed,
sign flipped, missing factor, not summed over the batch...).
"""

from __future__ import annotations

import os
import types
from dataclasses import dataclass

from .. import student_text_markers
from . import integrity as safe
from .tolerances import ROUNDING

STUDENT_TEXT_START, STUDENT_TEXT_END = student_text_markers.START, student_text_markers.END


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_TracebackType = types.TracebackType


def student_text(value) -> str:
    """str(value), from student code, marked as such (see STUDENT_TEXT_START)."""
    text = str(value).replace(STUDENT_TEXT_START, "").replace(STUDENT_TEXT_END, "")
    return f"{STUDENT_TEXT_START}{text}{STUDENT_TEXT_END}"


def _without_check_frames(tb):
    """tb without the frames of the autograder package (the checks' own code)."""
    kept = []
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            kept.append(tb)
        tb = tb.tb_next
    trimmed = None
    for entry in reversed(kept):
        trimmed = _TracebackType(trimmed, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return trimmed


def _render_traceback_(self):
    """What IPython shows for a failed check (IPython calls ``_render_traceback_`` of an exception
    instead of formatting it): the traceback without the checks' own frames, so the student sees
    the test line and their own code, then the check's message; not 30 lines of grader internals.

    It never raises: IPython sends no error at all when this fails, and a test cell without an
    error would score full marks."""
    try:
        error, seen = self, set()
        while error is not None and id(error) not in seen:   # the chain: the student's own error too
            seen.add(id(error))
            error.__traceback__ = _without_check_frames(error.__traceback__)
            error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        return list(safe._ipython().InteractiveTB.structured_traceback(type(self), self, self.__traceback__))
    except BaseException:  # noqa: BLE001 - see the docstring
        return [f"{type(self).__name__}: {self}"]


class CheckFailed(AssertionError):
    """A check found a wrong answer; the message says where and why."""

    _render_traceback_ = _render_traceback_


# TamperingDetected lives in integrity.py, which cannot import this module (it is imported by it).
safe.TamperingDetected._render_traceback_ = _render_traceback_


@dataclass
class Mismatch:
    index: tuple
    expected: float
    got: float
    abs_error: float
    rel_error: float


def worst_mismatch(got, expected, atol: float, rtol: float) -> Mismatch | None:
    """The element that exceeds |got - expected| <= atol + rtol |expected| the most (NaN
    counts as the worst), or None when every element is within tolerance."""
    got = safe.np_asarray(got, dtype=float)
    expected = safe.np_asarray(expected, dtype=float)
    error = safe.np_abs(got - expected)
    allowed = atol + rtol * safe.np_abs(expected)
    bad = ~(error <= allowed)
    if not safe.np_any(bad):
        return None
    excess = safe.np_where(bad, safe.np_nan_to_num(error - allowed, nan=float("inf")), -1.0)
    index = tuple(int(i) for i in safe.np_unravel_index(int(safe.np_argmax(excess)), got.shape))
    e, g = float(expected[index]), float(got[index])
    abs_error = abs(g - e)
    return Mismatch(index, e, g, abs_error, abs_error / max(abs(e), 1e-12))


def _is_multiple(got, expected, factor: float) -> bool:
    """got == factor * expected for every element: the same ratio everywhere, with at least one
    element clearly nonzero. Only then is "a factor is missing" evidence, not a coincidence:
    elements that are zero in expected must be zero in got too (no atol slack hides them)."""
    if got.shape != expected.shape or got.size == 0:
        return False
    scale = float(safe.np_max(safe.np_abs(expected)))
    if scale < 1e-8:
        return False
    allowed = ROUNDING.atol * scale + 1e-4 * safe.np_abs(factor * expected)
    return bool(safe.np_all(safe.np_abs(got - factor * expected) <= allowed))


def likely_cause(got, expected, *, grad_output=None, local_derivative=None, batch_axis_summed_shape=None) -> str | None:
    """A guess at the mistake behind a wrong gradient or value, or None."""
    got = safe.np_asarray(got, dtype=float)
    expected = safe.np_asarray(expected, dtype=float)
    if got.shape != expected.shape:
        if got.ndim > expected.ndim or (got.ndim == expected.ndim and all(
                e in (1, g) for g, e in zip(got.shape, expected.shape))):
            return ("the gradient has the shape of the broadcast result, not of the input: an input that "
                    "numpy broadcast was used several times, so sum its gradient over the broadcast axes "
                    "(for a bias added to every row of a batch: over axis 0)")
        if got.ndim == expected.ndim and got.shape[::-1] == expected.shape:
            return "the gradient is transposed"
        return None
    if not safe.np_all(safe.np_isfinite(got)):
        return "the result contains NaN or inf: look for a division by zero, log of 0 or exp overflow"
    if safe.np_all(got == 0) and safe.np_any(expected != 0):
        return "the result is all zeros: is something not computed, or not multiplied in?"
    if got.ndim >= 2 and got.shape[-1] == got.shape[-2] and _is_multiple(safe.np_swapaxes(got, -1, -2), expected, 1.0):
        return "the gradient is transposed"
    if _is_multiple(got, expected, -1.0):
        return "the sign is flipped"
    for factor, words in ((2.0, "twice"), (0.5, "half")):
        if _is_multiple(got, expected, factor):
            return f"the result is {words} the expected value: a factor is {'counted twice' if factor == 2 else 'missing'}"
    if expected.ndim >= 1 and expected.shape[0] > 1:
        n = expected.shape[0]
        if _is_multiple(got, expected, float(n)):
            return f"the result is {n}x too large: divide by the batch size (the loss is a mean, not a sum)"
        if _is_multiple(got, expected, 1.0 / n):
            return f"the result is {n}x too small: the batch size was divided out twice"
    if local_derivative is not None and _is_multiple(got, safe.np_asarray(local_derivative, dtype=float), 1.0):
        return "it is the local derivative only: multiply it by the upstream gradient (grad_output), the chain rule"
    return None


def describe_shape(shapes) -> str:
    return ", ".join(str(tuple(s)) for s in shapes)


def mismatch_message(what: str, mismatch: Mismatch, cause: str | None) -> str:
    index = f" at index {list(mismatch.index)}" if mismatch.index else ""
    relative = f", relative error {mismatch.rel_error:.3g}" if abs(mismatch.expected) > 1e-12 else ""
    text = (f"{what}{index}: expected {mismatch.expected:.6g}, got {mismatch.got:.6g} "
            f"(absolute error {mismatch.abs_error:.3g}{relative}).")
    if cause:
        text += f"\n  Likely cause: {cause}."
    return text
