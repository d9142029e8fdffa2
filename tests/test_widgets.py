"""The lecture widgets: each is created, driven programmatically (slider.value = ..., button.click())
and checked against the engine and the formulas, with no browser and no kernel."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import re  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import mini_autograd as ag  # noqa: E402
from course.widgets import (  # noqa: E402
    BackwardPass,
    BackwardStepper,
    StepSizeExplorer,
    StepSizeModel,
    Trainer,
    TrainingDashboard,
)
from course.widgets.step_size import FUNCTIONS  # noqa: E402

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (CI installs it)")
HIGHLIGHT = "#ffd54f"


def lecture_example(x0=1.0):
    """f(x) = sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2)) with the notes' intermediate variables."""
    x = ag.Variable(x0, name="x")
    a = x**2
    a.name = "a"
    b = ag.exp(a)
    b.name = "b"
    c = a + b
    c.name = "c"
    d = ag.sqrt(c)
    d.name = "d"
    e = ag.cos(c)
    e.name = "e"
    f = d + e
    f.name = "f"
    return dict(x=x, a=a, b=b, c=c, d=d, e=e, f=f)


def highlighted_svg_labels(svg):
    """The text of every node drawn with the highlight colour in a Graphviz SVG."""
    labels = []
    for block in re.findall(r'<g id="node\d+" class="node">(.*?)</g>', svg, flags=re.S):
        if f'fill="{HIGHLIGHT}"' in block:
            labels.append(" ".join(re.findall(r"<text[^>]*>(.*?)</text>", block)))
    return labels


# --- the backward stepper: logic ------------------------------------------------------------

def test_stepper_visits_operations_in_reverse_topological_order_and_highlights_each():
    v = lecture_example()
    bp = BackwardPass(v["f"])
    order = ag.topological_order(v["f"])
    assert bp.num_steps == len(order) == 6
    assert bp.highlighted(0) is v["f"]  # step 0: the seed on the output
    for k in range(1, 7):
        assert bp.highlighted(k) is order[-k]
        assert bp.step(k).operation is order[-k]
    assert [bp.highlighted(k).label() for k in range(1, 7)] == ["Add", "Cos", "Sqrt", "Add", "Exp", "Power"]
    with pytest.raises(IndexError):
        bp.step(7)


def test_stepper_partial_gradients_midway_and_compute_gradients_at_the_end():
    v = lecture_example(1.0)
    bp = BackwardPass(v["f"])
    c = 1 + np.e
    df_dc = 1 / (2 * np.sqrt(c)) - np.sin(c)

    assert set(bp.gradients_by_name(0)) == {"f"} and bp.gradients(0)[v["f"]] == 1
    g1 = bp.gradients_by_name(1)  # the last Add: df/dd = df/de = 1
    assert set(g1) == {"f", "d", "e"} and g1["d"] == 1 and g1["e"] == 1
    g2 = bp.gradients_by_name(2)  # Cos has sent its part to c; Sqrt has not yet
    assert g2["c"] == pytest.approx(-np.sin(c), rel=1e-12)
    g3 = bp.gradients_by_name(3)  # now both uses of c are in: the sum
    assert g3["c"] == pytest.approx(df_dc, rel=1e-12)
    g4 = bp.gradients_by_name(4)  # Add (c = a + b): a has only its direct share so far
    assert g4["a"] == pytest.approx(df_dc, rel=1e-12) and g4["b"] == pytest.approx(df_dc, rel=1e-12)
    assert "x" not in g4
    g5 = bp.gradients_by_name(5)  # Exp adds the path through b
    assert g5["a"] == pytest.approx(df_dc * (1 + np.e), rel=1e-12)
    g6 = bp.gradients_by_name(6)
    assert g6["x"] == pytest.approx(2 * df_dc * (1 + np.e), rel=1e-12)

    final = bp.gradients(bp.num_steps)
    reference = ag.compute_gradients(v["f"])
    assert set(final) == set(reference)
    for variable, gradient in reference.items():
        np.testing.assert_allclose(final[variable], gradient, rtol=1e-14)
    # the step's contributions are what each operation sent
    step3 = bp.step(3)
    (target, sent), = step3.contributions
    assert target is v["c"] and sent == pytest.approx(1 / (2 * np.sqrt(c)))
    assert "added to" in bp.describe(3) and "Sqrt" in bp.describe(3)


def test_stepper_accumulates_a_reused_input():
    """f = x (x + y)^2 at (2, 1): x gets (x + y)^2 = 9 from Multiply, then 2x(x + y) = 12 from Add."""
    x, y = ag.Variable(2.0, name="x"), ag.Variable(1.0, name="y")
    f = x * (x + y) ** 2
    bp = BackwardPass(f)
    assert [bp.highlighted(k).label() for k in (1, 2, 3)] == ["Multiply", "Power", "Add"]
    assert bp.gradients(1)[x] == pytest.approx(9.0)
    assert y not in bp.gradients(2)
    assert bp.gradients(3)[x] == pytest.approx(21.0) and bp.gradients(3)[y] == pytest.approx(12.0)
    assert bp.is_complete(x, 3) and not bp.is_complete(x, 2)


def test_stepper_with_a_seed_for_a_non_scalar_output_is_a_vjp():
    rng = np.random.default_rng(0)
    W = ag.Variable(rng.normal(size=(3, 4)), name="W")
    x = ag.Variable(rng.normal(size=4), name="x")
    y = ag.tanh(W @ x)
    seed = rng.normal(size=3)
    bp = BackwardPass(y, grad=seed)
    reference = ag.compute_gradients(y, seed)
    for variable in (W, x):
        np.testing.assert_allclose(bp.gradients(bp.num_steps)[variable], reference[variable], rtol=1e-13)
    np.testing.assert_allclose(bp.gradients(bp.num_steps)[W], np.outer(seed * (1 - y.value**2), x.value))
    with pytest.raises(ValueError, match="shape"):
        BackwardPass(y)  # a non-scalar output needs a seed


# --- the backward stepper: widget ----------------------------------------------------------

def test_stepper_buttons_and_slider_move_through_the_steps():
    v = lecture_example()
    stepper = BackwardStepper(v["f"])
    assert stepper.step == 0 and stepper.prev_button.disabled and not stepper.next_button.disabled
    stepper.next_button.click()
    stepper.next_button.click()
    assert stepper.slider.value == 2
    assert "Cos" in stepper.description.value and "Step 2 of 6" in stepper.description.value
    stepper.prev_button.click()
    assert stepper.step == 1
    stepper.slider.value = 6
    assert stepper.next_button.disabled and not stepper.prev_button.disabled
    stepper.next_button.click()  # nothing beyond the last step
    assert stepper.step == 6
    # the table lists the gradients so far
    stepper.slider.value = 2
    table = stepper.table.value
    assert re.search(r"<td>c</td><td><code>0\.5453</code></td><td>partial</td>", table), table  # -sin(1 + e)
    assert "<td>x</td>" not in table
    stepper.slider.value = 6
    assert re.search(r"<td>x</td><td><code>5\.983</code></td><td>final</td>", stepper.table.value)


def test_stepper_drawing_highlights_the_current_node_and_shows_partial_gradients_only():
    v = lecture_example()
    stepper = BackwardStepper(v["f"])
    source = stepper.digraph(2).source
    assert re.search(rf'label=Cos [^\n]*fillcolor="{HIGHLIGHT}"', source)
    assert len(re.findall(HIGHLIGHT, source)) == 1
    assert re.search(r'label="c\\nshape \(\)\\nvalue 3\.72\\ngrad 0\.545"', source)  # -sin(c) only so far
    assert "grad" not in re.search(r'label="a\\n[^"]*"', source).group(0)  # a has no gradient yet
    source0 = stepper.digraph(0).source
    assert re.search(rf'label="f\\n[^"]*grad 1" [^\n]*fillcolor="{HIGHLIGHT}"', source0)
    # drawing lends .grad and .name to the graph and gives them back
    assert all(var.grad is None for var in v.values())
    x = ag.Variable(1.0)
    y = ag.sin(x) * 2.0
    BackwardStepper(y).digraph(2)
    assert x.name is None and y.name is None and x.grad is None


@needs_dot
def test_stepper_svg_shows_the_highlighted_operation():
    v = lecture_example()
    stepper = BackwardStepper(v["f"])
    assert stepper.graph.value.startswith("<svg")
    assert highlighted_svg_labels(stepper.graph.value) == ["f shape () value 1.09 grad 1"]
    expected = {1: "Add", 2: "Cos", 3: "Sqrt", 4: "Add", 5: "Exp", 6: "Power"}
    for k, label in expected.items():
        stepper.next_button.click()
        assert highlighted_svg_labels(stepper.graph.value) == [label], k
    assert "grad 5.98" in stepper.graph.value  # df/dx at x = 1 after the last step


def test_stepper_without_dot_shows_the_install_hint_and_the_source(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    stepper = BackwardStepper(lecture_example()["f"])
    assert "apt-get install graphviz" in stepper.graph.value and "digraph" in stepper.graph.value


# --- the step-size explorer ------------------------------------------------------------------

@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_step_size_errors_match_the_difference_formulas(name):
    f, df, x = FUNCTIONS[name]
    hs = np.logspace(-12, -1, 12)
    model = StepSizeModel(name, hs=hs)
    errors = model.errors()
    np.testing.assert_array_equal(errors["forward"], [abs((f(x + h) - f(x)) / h - df(x)) for h in hs])
    np.testing.assert_array_equal(errors["backward"], [abs((f(x) - f(x - h)) / h - df(x)) for h in hs])
    np.testing.assert_array_equal(errors["central"], [abs((f(x + h) - f(x - h)) / (2 * h) - df(x)) for h in hs])


def test_step_size_exact_derivative_of_the_lecture_function_agrees_with_autodiff():
    model = StepSizeModel("sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2)) at x = 1")
    x = ag.Variable(1.0)
    (ag.sqrt(x**2 + ag.exp(x**2)) + ag.cos(x**2 + ag.exp(x**2))).backward()
    assert model.exact == pytest.approx(float(x.grad), rel=1e-14)


def test_step_size_curves_have_the_expected_slopes_and_best_steps():
    model = StepSizeModel("exp(x) at x = 1")
    errors, hs = model.errors(), model.hs
    truncation = (hs >= 1e-3) & (hs <= 1e-1)
    slope = {s: np.polyfit(np.log10(hs[truncation]), np.log10(errors[s][truncation]), 1)[0] for s in errors}
    assert slope["forward"] == pytest.approx(1, abs=0.1) and slope["backward"] == pytest.approx(1, abs=0.1)
    assert slope["central"] == pytest.approx(2, abs=0.1)
    best = model.best_steps()
    assert 1e-10 <= best["forward"] <= 1e-6 and 1e-7 <= best["central"] <= 1e-3


def test_step_size_widget_follows_the_slider_and_the_dropdown():
    explorer = StepSizeExplorer()
    f, df, x = FUNCTIONS["sin(x) at x = 1"]
    png_before = bytes(explorer.plot.value)
    assert png_before.startswith(b"\x89PNG")

    explorer.log10_h.value = -4.0
    h = 1e-4
    assert explorer.h == pytest.approx(h)
    expected = {"forward": (f(x + h) - f(x)) / h, "backward": (f(x) - f(x - h)) / h,
                "central": (f(x + h) - f(x - h)) / (2 * h)}
    for scheme, value in expected.items():
        assert explorer.current_estimates[scheme] == pytest.approx(value, rel=1e-15)
        mx, my = explorer.markers[scheme].get_data()
        assert mx[0] == pytest.approx(h) and my[0] == pytest.approx(abs(value - df(x)), rel=1e-12)
        assert f"{value:.15g}" in explorer.readout.value
    assert explorer.h_line.get_xdata()[0] == pytest.approx(h)
    assert bytes(explorer.plot.value) != png_before

    explorer.function.value = "exp(x) at x = 1"
    f, df, x = FUNCTIONS["exp(x) at x = 1"]
    hs, ys = explorer.lines["central"].get_data()
    exact_errors = np.abs((f(x + hs) - f(x - hs)) / (2 * hs) - df(x))
    np.testing.assert_allclose(ys, np.maximum(exact_errors, 1e-17), rtol=1e-12)
    assert f"{np.e:.15g}" in explorer.readout.value  # the exact derivative
    assert explorer.current_estimates["forward"] == pytest.approx((np.exp(1 + h) - np.e) / h, rel=1e-15)


# --- the training dashboard ------------------------------------------------------------------

def test_trainer_loss_decreases_without_any_widget():
    trainer = Trainer("moons", hidden=(16,), lr=0.2, momentum=0.9, seed=1)
    before = trainer.loss()
    losses = trainer.run(150)
    assert len(losses) == trainer.steps == 150
    assert trainer.loss() < 0.5 * before and trainer.accuracy() > 0.85


def test_dashboard_run_trains_and_redraws():
    dashboard = TrainingDashboard("spirals", hidden=(32, 32), lr=0.1)
    png_before = bytes(dashboard.plot.value)
    losses = dashboard.run(150)
    assert len(losses) == len(dashboard.losses) == 150
    assert np.mean(losses[-10:]) < 0.5 * losses[0]
    steps, plotted = dashboard.loss_line.get_data()
    np.testing.assert_array_equal(plotted, dashboard.losses)
    np.testing.assert_array_equal(steps, np.arange(1, 151))
    assert "step 150" in dashboard.status.value
    png_after = bytes(dashboard.plot.value)
    assert png_after != png_before and png_after.startswith(b"\x89PNG")


def test_learning_rate_slider_reaches_the_optimizer_and_the_update():
    dashboard = TrainingDashboard("moons", hidden=(8,), lr=0.1, momentum=0.9)
    dashboard.momentum_slider.value = 0.0
    dashboard.lr_slider.value = 0.02
    assert dashboard.optimizer.lr == pytest.approx(0.02) and dashboard.optimizer.momentum == 0.0
    before = [p.value.copy() for p in dashboard.model.parameters()]
    dashboard.run(1, refresh=False)
    assert dashboard.trainer.lrs[-1] == pytest.approx(0.02)
    for old, p in zip(before, dashboard.model.parameters()):
        np.testing.assert_allclose(p.value, old - 0.02 * p.grad, rtol=1e-12, atol=1e-15)
    # a larger rate makes a larger step
    dashboard.lr_slider.value = 0.5
    before = [p.value.copy() for p in dashboard.model.parameters()]
    dashboard.run(1, refresh=False)
    for old, p in zip(before, dashboard.model.parameters()):
        np.testing.assert_allclose(p.value, old - 0.5 * p.grad, rtol=1e-12, atol=1e-15)
    assert dashboard.optimizer.lr == pytest.approx(0.5)


def _wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_start_and_stop_buttons_train_in_the_background():
    dashboard = TrainingDashboard("moons", hidden=(8,), update_every=5, max_steps=10_000)
    dashboard.start_button.click()
    try:
        assert _wait_for(lambda: dashboard.trainer.steps >= 10)
        assert dashboard.running and dashboard.start_button.disabled and not dashboard.stop_button.disabled
        dashboard.lr_slider.value = 0.003  # changes the rate while the thread trains
        assert _wait_for(lambda: 0.003 in dashboard.trainer.lrs)
    finally:
        dashboard.stop_button.click()
    assert not dashboard.running and not dashboard.start_button.disabled and dashboard.stop_button.disabled
    steps = dashboard.trainer.steps
    time.sleep(0.2)
    assert dashboard.trainer.steps == steps  # really stopped
    assert len(dashboard.loss_line.get_data()[1]) == steps  # the figure shows every step
    assert dashboard.trainer.lrs[-1] == pytest.approx(0.003)


def test_background_training_stops_by_itself_at_max_steps():
    dashboard = TrainingDashboard("moons", hidden=(8,), update_every=10, max_steps=30)
    dashboard.start()
    assert _wait_for(lambda: not dashboard.running)
    assert dashboard.trainer.steps == 30 and not dashboard.start_button.disabled
    assert "step 30" in dashboard.status.value and "reached max_steps" in dashboard.status.value
    dashboard.start_button.click()  # nothing left to do until Reset
    assert _wait_for(lambda: not dashboard.running) and dashboard.trainer.steps == 30


def test_reset_and_dataset_dropdown_start_from_a_fresh_model():
    dashboard = TrainingDashboard("spirals", hidden=(16,), lr=0.1, seed=3)
    fresh = [p.value.copy() for p in dashboard.model.parameters()]
    dashboard.run(20, refresh=False)
    assert any(not np.array_equal(a, p.value) for a, p in zip(fresh, dashboard.model.parameters()))
    dashboard.lr_slider.value = 0.05
    dashboard.reset_button.click()
    assert dashboard.trainer.steps == 0 and dashboard.losses == []
    for a, p in zip(fresh, dashboard.model.parameters()):
        np.testing.assert_array_equal(a, p.value)
    assert dashboard.optimizer.lr == pytest.approx(0.05)  # the slider's rate survives a reset
    assert len(dashboard.loss_line.get_data()[1]) == 0

    dashboard.dataset_dropdown.value = "moons"
    assert dashboard.trainer.X.shape == (200, 2) and dashboard.model[-1].out_features == 2
    losses = dashboard.run(60, refresh=False)
    assert np.mean(losses[-5:]) < losses[0]


def _png_width(data: bytes) -> int:
    assert data.startswith(b"\x89PNG")
    return int.from_bytes(data[16:20], "big")   # the IHDR chunk's width


def test_widget_plots_are_drawn_at_twice_the_size_they_are_shown_at():
    """Shown at their own pixel size, PNGs are upscaled (blurred) on screens with a device pixel ratio
    of 2; each plot widget is given its size in CSS pixels and a PNG with twice as many pixels."""
    from course.widgets.universal_approximation import UniversalApproximationWidget

    for widget in (StepSizeExplorer(), UniversalApproximationWidget(), TrainingDashboard("spirals")):
        shown = int(widget.plot.layout.width.removesuffix("px"))
        assert _png_width(bytes(widget.plot.value)) == 2 * shown, type(widget).__name__


def test_the_stepper_graph_scales_to_the_widget_instead_of_scrolling():
    stepper = BackwardStepper(lecture_example()["f"])
    svg = stepper.graph.value
    opening = svg[: svg.index(">")]
    assert opening.startswith("<svg") and "max-width:100%" in opening and 'width="' not in opening.split("viewBox")[0]
    assert "viewBox=" in opening
