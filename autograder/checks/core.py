"""The core every check is written on.

A check looks like this::

    with exercise("Exercise 3") as ex:           # integrity verified on entry
        got = ex.call("your function", f, x)      # student code: errors become feedback,
                                                  # integrity verified again after the call
        ex.compare(got, expected, "the result",   # the worst element, explained
                   mistakes=[Mistake("the sign is flipped", -expected)])
                                                  # integrity verified again on exit

- ``Exercise.call`` is the one way to run student code;
- ``Exercise.compare`` is the one way to compare arrays (``messages.worst_mismatch``);
- ``Mistake(description, candidate)`` is the one format of a known mistake: ``candidate`` is
  the value the mistake would produce, and when the student's answer equals it, the feedback
  names ``description`` as the likely cause;
- the tolerances are ``tolerances.VALUES`` / ``ROUNDING`` / ``GRADIENTS`` / ``MISTAKE``.

Everything here uses the references ``integrity`` took before student code ran (``safe.*``),
never the student's namespace.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import integrity as safe
from .numeric import as_float64
from .messages import CheckFailed, likely_cause, mismatch_message, student_text, worst_mismatch
from .tolerances import EXACT, GRADIENTS, MISTAKE, ROUNDING, VALUES, Tolerance, close  # noqa: F401 - re-exported

__all__ = ["Exercise", "Mistake", "exercise", "fail", "as_array", "check_shape", "explained_by", "random_inputs",
           "check_not_mutated",
           "VALUES", "ROUNDING", "EXACT", "GRADIENTS", "MISTAKE", "Tolerance", "close", "CheckFailed"]


@dataclass(frozen=True)
class Mistake:
    """A known mistake: what it is, and the value it would produce."""

    description: str
    candidate: object


def fail(exercise_name: str, text: str):
    """Raise CheckFailed with the exercise's name in front of the message."""
    raise CheckFailed(f"{exercise_name}: {text}")


def as_array(exercise_name: str, what: str, got):
    """A number, list or array as a float ndarray; anything else fails with a clear message."""
    if got is None:
        fail(exercise_name, f"{what} is None: did you forget to return the result?")
    try:
        return safe.np_asarray(got, dtype=float)
    except (TypeError, ValueError):
        fail(exercise_name, f"{what} should be a number or an array, got {type(got).__name__}.")


def check_shape(exercise_name: str, what: str, got, expected_shape):
    """got must be an array of expected_shape; the message guesses why not (broadcast, transposed)."""
    if not safe.builtin_isinstance(got, safe.ndarray):
        got = as_array(exercise_name, what, got)
    if tuple(got.shape) != tuple(expected_shape):
        cause = likely_cause(got, safe.np_zeros(expected_shape))
        fail(exercise_name, f"{what} has shape {tuple(got.shape)} but should have shape {tuple(expected_shape)}."
             + (f"\n  Likely cause: {cause}." if cause else ""))


def explained_by(got, expected, mistakes) -> str | None:
    """The description of the first mistake whose candidate equals ``got`` (and differs from
    ``expected``, so that a mistake that happens to give the right value here is not named)."""
    for mistake in mistakes:
        if close(mistake.candidate, got, MISTAKE) and not close(mistake.candidate, expected, MISTAKE):
            return mistake.description
    return None


class Exercise:
    """What a check knows while it judges one exercise: its name, and how to talk to student code."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.verify()
        return self

    def __exit__(self, error_type, error, traceback):
        if error_type is None:
            self.verify()
        return False

    def verify(self):
        """Raise TamperingDetected if numpy, builtins, mini_autograd or the checks were changed."""
        safe.verify(self.name)

    def fail(self, text: str):
        fail(self.name, text)

    def call(self, what: str, function, *arguments):
        """function(*arguments), student code. NotImplementedError (the untouched stub) and any
        other error become a CheckFailed naming ``what`` and quoting the error; a CheckFailed or
        TamperingDetected raised inside passes through. Integrity is verified after the call,
        whether it returned or raised, and tampering wins over any other outcome."""
        if not callable(function):
            self.fail(f"{what} should be a function, got {type(function).__name__}.")
        try:
            result = function(*arguments)
        except NotImplementedError:
            self.verify()
            self.fail(f"{what} is not implemented yet (it raised NotImplementedError).")
        except AssertionError:
            self.verify()
            raise
        except Exception as error:  # noqa: BLE001 - any error of student code becomes feedback
            self.verify()
            self.fail(f"{what} raised {type(error).__name__}: {student_text(error)}")
        self.verify()
        return result

    def compare(self, got, expected, what: str, *, mistakes=(), tolerance: Tolerance = VALUES, **evidence):
        """got must equal expected within ``tolerance``. Otherwise fail, naming the worst element
        and a likely cause: the first matching ``Mistake``, else ``messages.likely_cause``
        (``evidence`` is passed on to it, e.g. ``local_derivative=``)."""
        expected = safe.np_asarray(expected, dtype=safe.np_float64)
        got = as_array(self.name, what, got)
        check_shape(self.name, what, got, expected.shape)
        mismatch = worst_mismatch(got, expected, tolerance.atol, tolerance.rtol)
        if mismatch is None:
            return
        cause = explained_by(got, expected, mistakes) or likely_cause(got, expected, **evidence)
        self.fail(mismatch_message(what, mismatch, cause))


def exercise(name: str) -> Exercise:
    """``with exercise("Exercise 3") as ex:``, the context of one check (see the module docstring)."""
    return Exercise(name)


def random_inputs(shapes, seed: int, domain=(-2.0, 2.0), avoid_zero: float = 0.0):
    """float64 arrays of the given shapes, uniform in ``domain`` from ``seed``; with ``avoid_zero``,
    no entry is closer to 0 than that (for divisions and logarithms)."""
    rng = safe.np_random_default_rng(seed)
    low, high = domain
    arrays = []
    for shape in shapes:
        x = rng.uniform(low, high, size=shape)
        if avoid_zero:
            x = safe.np_where(safe.np_abs(x) < avoid_zero, avoid_zero + safe.np_abs(x), x)
        arrays.append(as_float64(x))
    return arrays


def check_not_mutated(exercise_name: str, inputs, copies, who: str) -> None:
    """Fail when student code (``who``) changed one of its inputs in place: ``copies`` were taken before the call."""
    for position, (x, original) in enumerate(zip(inputs, copies)):
        if not safe.np_array_equal(x, original):
            fail(exercise_name, f"{who} changed its input {position} in place; compute new arrays instead "
                                f"(for example x = x + 1, not x += 1).")
