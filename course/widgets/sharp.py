"""Plots that stay sharp in a widget: drawn at twice the pixels they are shown at.

A PNG shown at its own pixel size is upscaled (and blurred) on every screen whose device pixel
ratio is above 1, which is most laptops. So each widget's figure is drawn at ``SCALE`` times the
resolution it is shown at, and its Image widget is given the figure's size in CSS pixels; the
browser then shows every pixel it has. Constrained layout keeps axis labels inside the picture.
"""

from __future__ import annotations

import ipywidgets as widgets
from matplotlib.figure import Figure

SCALE = 2          # image pixels per CSS pixel
CSS_DPI = 90       # CSS pixels per figure inch


def sharp_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """A figure of width x height inches, shown at CSS_DPI and drawn at SCALE times that."""
    return Figure(figsize=(width, height), dpi=CSS_DPI * SCALE, layout=layout)


def image_for(figure: Figure) -> widgets.Image:
    """The Image widget that shows figure's PNG at its size in CSS pixels (height follows)."""
    width = round(figure.get_figwidth() * CSS_DPI)
    return widgets.Image(format="png", layout=widgets.Layout(width=f"{width}px", height="auto"))
