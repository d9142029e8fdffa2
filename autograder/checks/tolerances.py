"""The tolerance policy of every check, in one place.

An answer is accepted when every element satisfies |got - expected| <= atol + rtol |expected|.
Which pair applies depends on what the answer is compared with:

- ``VALUES``: a reference computed in float64 from the same inputs (results, forward passes).
  A correct answer differs only by rounding, but may compute in another order or formula.
- ``ROUNDING``: a reference that does the same float64 arithmetic step by step (reverse-mode
  gradients of the same graph, dual numbers, SGD parameters): only rounding differences are allowed.
- ``EXACT``: the same formula in float64 where an approximation must fail: a finite-difference
  derivative (relative error about 1e-10) is not the forward-mode derivative.
- ``GRADIENTS``: finite differences (``numeric.EPS`` = 1e-6, central): their error is about
  EPS^2 |f'''| plus rounding ~1e-16 |f| / EPS, so about 1e-10; 1e-5 / 1e-4 leaves room for
  larger third derivatives while a wrong formula is still off by far more.
- ``MISTAKE``: how close a wrong answer must be to what a known mistake produces for the
  feedback to name that mistake (an exact replay of the wrong formula).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import integrity as safe  # the references taken before student code


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float


VALUES = Tolerance(atol=1e-6, rtol=1e-5)
ROUNDING = Tolerance(atol=1e-9, rtol=1e-7)
EXACT = Tolerance(atol=1e-9, rtol=1e-9)
GRADIENTS = Tolerance(atol=1e-5, rtol=1e-4)
MISTAKE = Tolerance(atol=1e-9, rtol=1e-6)


def close(a, b, tolerance: Tolerance) -> bool:
    """a and b have the same shape and agree within tolerance (False if either is not numeric)."""
    try:
        a = safe.np_asarray(a, dtype=safe.np_float64)
        b = safe.np_asarray(b, dtype=safe.np_float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(safe.np_allclose(a, b, rtol=tolerance.rtol, atol=tolerance.atol))
