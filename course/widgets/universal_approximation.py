"""The universal approximation construction of the lecture notes, as a playground.

A network with one hidden layer of sigmoid units and a scalar input and output computes

    f(x) = sum_h v_h sigmoid(w_h x + b_h).

One unit is a soft step at x = -b/w, as steep as w is large (the notes: w = 5, b = 0; w = 5,
b = 3; w = 10, b = -7; and w = 100, b = -20, nearly a step at x = 0.2). Two steep units with
output weights +v and -v make a bump of height v between their steps (w1 = w2 = 100,
b1 = -20, b2 = -40, v = 1, -1: a bump on [0.2, 0.4]; b = -60, -80 with v = 2, -2: a bump of
height 2 on [0.6, 0.8]). Enough bumps approximate any continuous function on [0, 1].

    from course.widgets.universal_approximation import UniversalApproximationWidget
    UniversalApproximationWidget()                   # sliders for w, b and v of four units
    UniversalApproximationWidget(units=6, target=np.sin)

``network_output`` and ``unit_outputs`` compute the curves without any widget;
:class:`UniversalApproximationWidget` shows them and redraws whenever a slider changes.
"""

from __future__ import annotations

import html
import io

import ipywidgets as widgets
import numpy as np

from .sharp import image_for, sharp_figure

__all__ = ["UniversalApproximationWidget", "universal_approximation_widget", "network_output", "unit_outputs",
           "sigmoid", "PRESETS"]

# name -> the units (w, b, v) of the construction in the notes; other units get w = b = v = 0.
PRESETS = {
    "one unit: w = 5, b = 0": [(5.0, 0.0, 1.0)],
    "one unit: w = 5, b = 3": [(5.0, 3.0, 1.0)],
    "one unit: w = 10, b = -7": [(10.0, -7.0, 1.0)],
    "a step at x = 0.2: w = 100, b = -20": [(100.0, -20.0, 1.0)],
    "a bump on [0.2, 0.4]: b = -20, -40 and v = 1, -1": [(100.0, -20.0, 1.0), (100.0, -40.0, -1.0)],
    "a bump of height 2 on [0.6, 0.8]: b = -60, -80 and v = 2, -2": [(100.0, -60.0, 2.0), (100.0, -80.0, -2.0)],
    "both bumps: four units": [(100.0, -20.0, 1.0), (100.0, -40.0, -1.0), (100.0, -60.0, 2.0), (100.0, -80.0, -2.0)],
}
W_RANGE = (-200.0, 200.0)
B_RANGE = (-200.0, 200.0)
V_RANGE = (-3.0, 3.0)
UNIT_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive"]


def sigmoid(z):
    """1 / (1 + exp(-z)) without overflow for any z (as 0.5 (1 + tanh(z / 2)))."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def _parameters(w, b, v):
    w, b, v = (np.atleast_1d(np.asarray(p, dtype=float)) for p in (w, b, v))
    if not (w.ndim == b.ndim == v.ndim == 1 and w.shape == b.shape == v.shape):
        raise ValueError(f"w, b and v need one entry per hidden unit; got shapes {w.shape}, {b.shape}, {v.shape}")
    return w, b, v


def unit_outputs(x, w, b, v):
    """The contribution v_h sigmoid(w_h x + b_h) of every unit: shape (len(x), number of units)."""
    w, b, v = _parameters(w, b, v)
    x = np.asarray(x, dtype=float).reshape(-1, 1)
    return v * sigmoid(x * w + b)


def network_output(x, w, b, v):
    """f(x) = sum_h v_h sigmoid(w_h x + b_h) for every element of x; the shape of x."""
    x = np.asarray(x, dtype=float)
    return unit_outputs(x, w, b, v).sum(axis=1).reshape(x.shape)


class UniversalApproximationWidget(widgets.VBox):
    """Sliders for the weight w, bias b and output weight v of each sigmoid unit, a dropdown of
    the notes' examples and a plot of the network's output f(x) (and, optionally, of every unit's
    contribution and of a target function).

    Pieces (attributes): ``sliders`` (one dict {"w", "b", "v"} of FloatSliders per unit), ``preset``
    (Dropdown), ``show_units`` (Checkbox), ``plot`` (Image, PNG), ``readout`` (HTML), and the
    matplotlib objects ``figure``, ``ax``, ``line`` (the network) and ``unit_lines``.
    ``x`` holds the plotted inputs; ``parameters()`` returns the current (w, b, v).
    """

    def __init__(self, units: int = 4, preset: str | None = "both bumps: four units", x_range=(0.0, 1.0),
                 target=None, points: int = 501, **kwargs):
        if units < 1:
            raise ValueError(f"the widget needs at least one unit, got units={units}")
        if preset is not None and preset not in PRESETS:
            raise KeyError(f"unknown preset {preset!r}; choose one of {list(PRESETS)}")
        self.x = np.linspace(float(x_range[0]), float(x_range[1]), int(points))
        self.target = target
        self._hold = False
        self.sliders = []
        rows = []
        for h in range(units):
            unit = {
                "w": self._slider(f"w{h + 1}", W_RANGE, 1.0),
                "b": self._slider(f"b{h + 1}", B_RANGE, 1.0),
                "v": self._slider(f"v{h + 1}", V_RANGE, 0.1),
            }
            self.sliders.append(unit)
            rows.append(widgets.HBox([unit["w"], unit["b"], unit["v"]]))
        self.preset = widgets.Dropdown(options=["(custom)", *PRESETS], value="(custom)", description="example",
                                       layout=widgets.Layout(width="520px"))
        self.show_units = widgets.Checkbox(value=True, description="show each unit")
        self.readout = widgets.HTML()

        self.figure = sharp_figure(6.4, 3.8)
        self.plot = image_for(self.figure)
        self.ax = self.figure.add_subplot()
        self.unit_lines = [self.ax.plot(self.x, np.zeros_like(self.x), ":", lw=1.2,
                                        color=UNIT_COLORS[h % len(UNIT_COLORS)], label=f"unit {h + 1}")[0]
                           for h in range(units)]
        self.target_line = None
        if target is not None:
            (self.target_line,) = self.ax.plot(self.x, np.asarray(target(self.x), dtype=float) * np.ones_like(self.x),
                                               color="gray", lw=3, alpha=0.4, label="target")
        (self.line,) = self.ax.plot(self.x, np.zeros_like(self.x), color="black", lw=2, label="f(x)")
        self.ax.set_xlabel("x")
        self.ax.set_xlim(self.x[0], self.x[-1])
        self.ax.grid(True, alpha=0.3)
        self.ax.legend(loc="upper left", fontsize=8)

        for unit in self.sliders:
            for slider in unit.values():
                slider.observe(self._on_slider, names="value")
        self.preset.observe(self._on_preset, names="value")
        self.show_units.observe(lambda _change: self.redraw(), names="value")
        super().__init__([self.preset, *rows, self.show_units, self.plot, self.readout], **kwargs)
        if preset is not None:
            self.apply_preset(preset)
        else:
            self.redraw()

    @staticmethod
    def _slider(description, bounds, step):
        return widgets.FloatSlider(value=0.0, min=bounds[0], max=bounds[1], step=step, description=description,
                                   continuous_update=False, readout_format=".1f",
                                   layout=widgets.Layout(width="300px"))

    def __repr__(self) -> str:
        w, b, v = self.parameters()
        return (f"UniversalApproximationWidget(w={w.tolist()}, b={b.tolist()}, v={v.tolist()}; "
                f"run in Jupyter to interact)")

    # --- the state ----------------------------------------------------------------------------
    def parameters(self):
        """The current (w, b, v), each an array with one entry per unit."""
        return tuple(np.array([unit[name].value for unit in self.sliders]) for name in ("w", "b", "v"))

    def set_parameters(self, w, b, v) -> None:
        """Move the sliders (units beyond the given ones get 0) and redraw once."""
        w, b, v = _parameters(w, b, v)
        if len(w) > len(self.sliders):
            raise ValueError(f"{len(w)} units given, but the widget has {len(self.sliders)}")
        self._hold = True
        try:
            for h, unit in enumerate(self.sliders):
                for name, values in (("w", w), ("b", b), ("v", v)):
                    unit[name].value = float(values[h]) if h < len(values) else 0.0
        finally:
            self._hold = False
        self.redraw()

    def apply_preset(self, name: str) -> None:
        """Set the sliders to one of the notes' examples (a key of PRESETS)."""
        if name not in PRESETS:
            raise KeyError(f"unknown preset {name!r}; choose one of {list(PRESETS)}")
        units = PRESETS[name][:len(self.sliders)]
        self.set_parameters(*zip(*units))
        self._hold = True
        try:
            self.preset.value = name
        finally:
            self._hold = False

    def curve(self):
        """(x, f(x)) for the current sliders."""
        return self.x, network_output(self.x, *self.parameters())

    # --- events -------------------------------------------------------------------------------
    def _on_slider(self, _change) -> None:
        if self._hold:
            return
        self._hold = True
        try:
            self.preset.value = "(custom)"  # the sliders no longer show an example
        finally:
            self._hold = False
        self.redraw()

    def _on_preset(self, change) -> None:
        if self._hold or change["new"] == "(custom)":
            return
        self.apply_preset(change["new"])

    # --- drawing ------------------------------------------------------------------------------
    def redraw(self) -> None:
        w, b, v = self.parameters()
        contributions = unit_outputs(self.x, w, b, v)
        output = contributions.sum(axis=1)
        self.line.set_ydata(output)
        for h, line in enumerate(self.unit_lines):
            line.set_ydata(contributions[:, h])
            line.set_visible(bool(self.show_units.value) and v[h] != 0)
        shown = [output] + ([contributions] if self.show_units.value else [])
        if self.target_line is not None:
            shown.append(self.target_line.get_ydata())
        low = min(float(np.min(s)) for s in shown)
        high = max(float(np.max(s)) for s in shown)
        pad = 0.1 * max(high - low, 1.0)
        self.ax.set_ylim(low - pad, high + pad)
        self.ax.set_title("f(x) = " + " + ".join(f"{vh:g} σ({wh:g} x + {bh:g})" for wh, bh, vh in zip(w, b, v) if vh)
                          if np.any(v) else "f(x) = 0 (every output weight v is 0)", fontsize=8)
        self.readout.value = self._readout_html(w, b, v)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        self.plot.value = buffer.getvalue()

    @staticmethod
    def _readout_html(w, b, v) -> str:
        rows = []
        for h, (wh, bh, vh) in enumerate(zip(w, b, v)):
            step = f"{-bh / wh:.3g}" if wh else "none (w = 0: a constant)"
            rows.append(f"<tr><td>unit {h + 1}</td><td>{wh:g}</td><td>{bh:g}</td><td>{vh:g}</td><td>{step}</td></tr>")
        return ("<table><tr><th></th><th>w</th><th>b</th><th>v</th><th>step at x = -b/w</th></tr>"
                + "".join(rows) + "</table><p>" + html.escape("A unit with weight w and bias b steps at x = -b/w; "
                                                              "the larger |w|, the sharper the step.") + "</p>")


def universal_approximation_widget(units: int = 4, preset: str | None = "both bumps: four units", **kwargs):
    """A UniversalApproximationWidget (see there): ``universal_approximation_widget()`` in a cell."""
    return UniversalApproximationWidget(units=units, preset=preset, **kwargs)
