"""The universal approximation playground: the pure curve functions against the formula and the
notes' numbers, and the widget driven programmatically (slider.value = ..., dropdown.value = ...)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import mini_autograd as ag  # noqa: E402
from course.widgets.universal_approximation import (  # noqa: E402
    PRESETS,
    UniversalApproximationWidget,
    network_output,
    sigmoid,
    unit_outputs,
    universal_approximation_widget,
)


def direct(x, w, b, v):
    """sum_h v_h / (1 + exp(-(w_h x + b_h))), written out."""
    return sum(vh / (1 + np.exp(-(wh * x + bh))) for wh, bh, vh in zip(w, b, v))


def test_sigmoid_matches_the_engine_and_is_finite_at_extremes():
    z = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(sigmoid(z), ag.sigmoid(z).value, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(sigmoid(np.array([-1000.0, 1000.0])), [0.0, 1.0])


def test_network_output_is_the_sum_of_the_units():
    rng = np.random.default_rng(0)
    x = np.linspace(-1, 2, 37)
    w, b, v = rng.normal(0, 5, 5), rng.normal(0, 5, 5), rng.normal(size=5)
    np.testing.assert_allclose(network_output(x, w, b, v), direct(x, w, b, v), rtol=1e-12)
    contributions = unit_outputs(x, w, b, v)
    assert contributions.shape == (37, 5)
    np.testing.assert_allclose(contributions[:, 2], v[2] / (1 + np.exp(-(w[2] * x + b[2]))), rtol=1e-12)
    assert network_output(x.reshape(37, 1), w, b, v).shape == (37, 1)
    with pytest.raises(ValueError, match="one entry per hidden unit"):
        network_output(x, w, b[:3], v)


def test_the_notes_construction_a_step_a_bump_and_a_staircase():
    # w = 100, b = -20: nearly a step at x = 0.2
    assert network_output(0.15, [100], [-20], [1]) < 0.01
    assert network_output(0.25, [100], [-20], [1]) > 0.99
    assert network_output(0.2, [100], [-20], [1]) == pytest.approx(0.5)
    # two units 100/-20 and 100/-40 with output weights 1 and -1: a bump of height 1 on [0.2, 0.4]
    inside, outside = np.array([0.25, 0.3, 0.35]), np.array([0.0, 0.1, 0.45, 0.6, 1.0])
    assert np.all(np.abs(network_output(inside, [100, 100], [-20, -40], [1, -1]) - 1) < 0.01)
    assert np.all(np.abs(network_output(outside, [100, 100], [-20, -40], [1, -1])) < 0.01)
    # b = -60, -80 with v = 2, -2: height 2 on [0.6, 0.8]; all four units: the staircase
    w, b, v = zip(*PRESETS["both bumps: four units"])
    x = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    np.testing.assert_allclose(network_output(x, w, b, v), [0, 1, 0, 2, 0], atol=0.02)


def test_the_widget_starts_on_its_preset_and_plots_the_network():
    widget = UniversalApproximationWidget()
    w, b, v = widget.parameters()
    np.testing.assert_array_equal(w, [100, 100, 100, 100])
    np.testing.assert_array_equal(b, [-20, -40, -60, -80])
    np.testing.assert_array_equal(v, [1, -1, 2, -2])
    np.testing.assert_allclose(widget.line.get_xdata(), widget.x)
    np.testing.assert_allclose(widget.line.get_ydata(), network_output(widget.x, w, b, v))
    assert widget.plot.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "0.2" in widget.readout.value and "0.8" in widget.readout.value  # the step positions -b/w
    assert isinstance(universal_approximation_widget(), UniversalApproximationWidget)


def test_moving_a_slider_redraws_the_curve():
    widget = UniversalApproximationWidget(units=2, preset="a bump on [0.2, 0.4]: b = -20, -40 and v = 1, -1")
    before_y, before_png = np.array(widget.line.get_ydata()), widget.plot.value
    assert before_y[np.searchsorted(widget.x, 0.3)] == pytest.approx(1.0, abs=0.01)

    widget.sliders[1]["b"].value = -60.0  # the bump now reaches to x = 0.6
    after_y = np.array(widget.line.get_ydata())
    assert not np.allclose(after_y, before_y)
    np.testing.assert_allclose(after_y, network_output(widget.x, [100, 100], [-20, -60], [1, -1]))
    assert after_y[np.searchsorted(widget.x, 0.5)] == pytest.approx(1.0, abs=0.01)
    assert widget.plot.value != before_png
    assert widget.preset.value == "(custom)"

    widget.sliders[0]["v"].value = 2.0  # the first unit's output weight
    np.testing.assert_allclose(widget.line.get_ydata(), network_output(widget.x, [100, 100], [-20, -60], [2, -1]))
    np.testing.assert_allclose(widget.unit_lines[0].get_ydata(), 2 * sigmoid(100 * widget.x - 20))

    widget.sliders[0]["w"].value = 5.0  # a soft step
    np.testing.assert_allclose(widget.unit_lines[0].get_ydata(), 2 * sigmoid(5 * widget.x - 20))


def test_choosing_an_example_moves_the_sliders():
    widget = UniversalApproximationWidget(preset=None)
    np.testing.assert_array_equal(widget.line.get_ydata(), np.zeros_like(widget.x))  # every v is 0
    widget.preset.value = "one unit: w = 10, b = -7"
    w, b, v = widget.parameters()
    np.testing.assert_array_equal(w, [10, 0, 0, 0])
    np.testing.assert_array_equal(b, [-7, 0, 0, 0])
    np.testing.assert_array_equal(v, [1, 0, 0, 0])
    np.testing.assert_allclose(widget.line.get_ydata(), sigmoid(10 * widget.x - 7))
    assert widget.preset.value == "one unit: w = 10, b = -7"
    widget.preset.value = "a step at x = 0.2: w = 100, b = -20"
    np.testing.assert_allclose(widget.line.get_ydata(), sigmoid(100 * widget.x - 20))


def test_show_units_target_and_bad_arguments():
    widget = UniversalApproximationWidget(target=lambda x: np.sin(2 * np.pi * x))
    assert all(line.get_visible() for line in widget.unit_lines)
    widget.show_units.value = False
    assert not any(line.get_visible() for line in widget.unit_lines)
    np.testing.assert_allclose(widget.target_line.get_ydata(), np.sin(2 * np.pi * widget.x))
    widget.set_parameters([1, 2], [3, 4], [0.5, -0.5])
    np.testing.assert_allclose(widget.curve()[1], direct(widget.x, [1, 2], [3, 4], [0.5, -0.5]))
    with pytest.raises(ValueError, match="4"):
        widget.set_parameters(np.ones(5), np.ones(5), np.ones(5))
    with pytest.raises(KeyError, match="unknown preset"):
        UniversalApproximationWidget(preset="no such example")
    with pytest.raises(ValueError, match="at least one unit"):
        UniversalApproximationWidget(units=0)
