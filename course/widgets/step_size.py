"""How the step h of a finite difference changes its error.

    from course.widgets import StepSizeExplorer
    StepSizeExplorer()          # a slider for log10(h), a dropdown of functions, a log-log plot

For every h the forward, backward and central differences are compared with the exact
derivative. Large h: truncation error, O(h) for the one-sided differences and O(h^2) for the
central one (slopes 1 and 2 on the log-log plot). Small h: round-off error, about
eps |f(x)| / h (slope -1), because f(x + h) and f(x) agree in most of their digits.

:class:`StepSizeModel` holds the numbers (no widgets); :class:`StepSizeExplorer` shows them.
"""

from __future__ import annotations

import html
import io

import ipywidgets as widgets
import numpy as np

from mini_autograd import finite_differences as fd

from .sharp import image_for, sharp_figure

SCHEMES = {
    "forward": fd.forward_difference,
    "backward": fd.backward_difference,
    "central": fd.central_difference,
}
COLORS = {"forward": "tab:blue", "backward": "tab:orange", "central": "tab:green"}
ERROR_FLOOR = 1e-17  # exact zeros cannot go on a log axis


def _lecture_f(x):
    c = x**2 + np.exp(x**2)
    return np.sqrt(c) + np.cos(c)


def _lecture_df(x):
    c = x**2 + np.exp(x**2)
    return 2 * x * (1 / (2 * np.sqrt(c)) - np.sin(c)) * (1 + np.exp(x**2))


# name -> (f, exact derivative, point x)
FUNCTIONS = {
    "sin(x) at x = 1": (np.sin, np.cos, 1.0),
    "exp(x) at x = 1": (np.exp, np.exp, 1.0),
    "sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2)) at x = 1": (_lecture_f, _lecture_df, 1.0),
    "tanh(x) at x = 0.5": (np.tanh, lambda x: 1 - np.tanh(x) ** 2, 0.5),
    "x^3 - 2x at x = 1.5": (lambda x: x**3 - 2 * x, lambda x: 3 * x**2 - 2, 1.5),
    "1 / x at x = 0.2": (lambda x: 1 / x, lambda x: -1 / x**2, 0.2),
}


class StepSizeModel:
    """Finite-difference estimates and their errors for one function at one point.

    ``function`` is a key of FUNCTIONS, or give ``f``, ``df`` (the exact derivative) and ``x``.
    """

    def __init__(self, function: str | None = "sin(x) at x = 1", f=None, df=None, x=None,
                 hs=None):
        if f is None:
            if function not in FUNCTIONS:
                raise KeyError(f"unknown function {function!r}; choose one of {list(FUNCTIONS)}")
            f, df, x = FUNCTIONS[function]
        elif df is None or x is None:
            raise ValueError("with f= give the exact derivative df= and the point x= too")
        self.function, self.f, self.df, self.x = function, f, df, float(x)
        self.hs = np.logspace(-16, 0, 161) if hs is None else np.asarray(hs, dtype=float)

    @property
    def exact(self) -> float:
        return float(self.df(self.x))

    def estimates(self, h: float) -> dict[str, float]:
        """The three finite-difference estimates of f'(x) with step h."""
        return {scheme: float(difference(self.f, self.x, h)) for scheme, difference in SCHEMES.items()}

    def errors_at(self, h: float) -> dict[str, float]:
        """|estimate - f'(x)| for each scheme at step h."""
        exact = self.exact
        return {scheme: abs(value - exact) for scheme, value in self.estimates(h).items()}

    def errors(self) -> dict[str, np.ndarray]:
        """The error of each scheme at every step in ``self.hs``."""
        per_h = [self.errors_at(h) for h in self.hs]
        return {scheme: np.array([e[scheme] for e in per_h]) for scheme in SCHEMES}

    def best_steps(self) -> dict[str, float]:
        """The step in ``self.hs`` with the smallest error, per scheme."""
        return {scheme: float(self.hs[np.argmin(err)]) for scheme, err in self.errors().items()}


class StepSizeExplorer(widgets.VBox):
    """Slider for log10(h) and a function dropdown; plots the three errors against h.

    Pieces (attributes): ``log10_h`` (FloatSlider), ``function`` (Dropdown), ``plot`` (Image, PNG),
    ``readout`` (HTML with the three estimates and the exact value), ``model`` (StepSizeModel),
    and the matplotlib objects ``figure``, ``ax``, ``lines`` and ``markers`` (one per scheme).
    """

    def __init__(self, function: str = "sin(x) at x = 1", log10_h: float = -5.0, **kwargs):
        self.log10_h = widgets.FloatSlider(value=log10_h, min=-16.0, max=0.0, step=0.25, description="log10 h",
                                           continuous_update=False, layout=widgets.Layout(width="420px"))
        self.function = widgets.Dropdown(options=list(FUNCTIONS), value=function, description="f",
                                         layout=widgets.Layout(width="520px"))
        self.readout = widgets.HTML()
        self.figure = sharp_figure(6.4, 4.0)
        self.plot = image_for(self.figure)
        self.ax = self.figure.add_subplot()
        self.lines, self.markers = {}, {}
        self.model = StepSizeModel(function)
        for scheme in SCHEMES:
            (self.lines[scheme],) = self.ax.loglog([1.0], [1.0], color=COLORS[scheme], label=scheme)
            (self.markers[scheme],) = self.ax.loglog([1.0], [1.0], "o", color=COLORS[scheme], markersize=7)
        self.h_line = self.ax.axvline(1.0, color="gray", linestyle=":")
        self.ax.set_xlabel("step size h")
        self.ax.set_ylabel("|estimate - exact derivative|")
        self.ax.legend(loc="lower left")
        self.ax.grid(True, which="major", alpha=0.3)
        self.function.observe(self._on_function, names="value")
        self.log10_h.observe(lambda _change: self._update_h(), names="value")
        super().__init__([widgets.HBox([self.function]), self.log10_h, self.plot, self.readout], **kwargs)
        self._on_function()

    def __repr__(self) -> str:
        return f"StepSizeExplorer({self.function.value!r}, h={self.h:.3g}; run in Jupyter to interact)"

    @property
    def h(self) -> float:
        return 10.0 ** self.log10_h.value

    def _on_function(self, _change=None) -> None:
        self.model = StepSizeModel(self.function.value)
        self.errors = self.model.errors()
        for scheme, err in self.errors.items():
            self.lines[scheme].set_data(self.model.hs, np.maximum(err, ERROR_FLOOR))
        self.ax.set_title(f"f = {self.function.value}", fontsize=10)
        self.ax.set_xlim(self.model.hs[0], self.model.hs[-1])
        lowest = min(max(err.min(), ERROR_FLOOR) for err in self.errors.values())
        highest = max(err.max() for err in self.errors.values())
        self.ax.set_ylim(lowest / 3, highest * 3)
        self._update_h()

    def _update_h(self) -> None:
        h = self.h
        self.current_estimates = self.model.estimates(h)
        self.current_errors = self.model.errors_at(h)
        for scheme, err in self.current_errors.items():
            self.markers[scheme].set_data([h], [max(err, ERROR_FLOOR)])
        self.h_line.set_xdata([h, h])
        self.readout.value = self._readout_html(h)
        self.plot.value = self._png()

    def _readout_html(self, h: float) -> str:
        exact = self.model.exact
        rows = "".join(
            f"<tr><td>{scheme}</td><td><code>{value:.15g}</code></td><td><code>{abs(value - exact):.3e}</code></td></tr>"
            for scheme, value in self.current_estimates.items())
        best = self.model.best_steps()
        return (f"<p>h = {h:.3g} &nbsp; exact f'(x) = <code>{exact:.15g}</code></p>"
                f"<table><tr><th>difference</th><th>estimate</th><th>error</th></tr>{rows}</table>"
                f"<p>Smallest error on this curve: forward at h &asymp; {best['forward']:.1e}, "
                f"central at h &asymp; {best['central']:.1e} ({html.escape('roughly sqrt(eps) and eps^(1/3)')}).</p>")

    def _png(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        return buffer.getvalue()
