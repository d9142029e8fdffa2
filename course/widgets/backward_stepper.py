"""Step through a backward pass one Operation at a time.

    import mini_autograd as ag
    from course.widgets import BackwardStepper

    x = ag.Variable(1.0, name="x")
    ...
    BackwardStepper(f)            # a widget: Prev / Next buttons, a step slider, the graph, a table

Two layers:

* :class:`BackwardPass` is the logic, with no widgets: it runs the backward pass itself, calling
  each Operation's ``backward`` in reverse topological order exactly as
  ``mini_autograd.compute_gradients`` does, and keeps a snapshot after every Operation. Step 0 is
  the seed (d out / d out = 1); step k is "the k-th Operation (counted from the output) has sent
  its gradients to its inputs". ``gradients(k)`` are the partial sums at that point: a Variable
  used by several Operations has received only the contributions of those already visited.
  After the last step they equal ``compute_gradients(output)``.
* :class:`BackwardStepper` is the display: an ipywidgets box that draws the graph with ``ag.draw``
  (the current Operation highlighted, every Variable showing its gradient *so far*) as SVG in an
  ``HTML`` widget, with a description of the step and a table of the partial gradients.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import graphviz
import ipywidgets as widgets
import numpy as np

import mini_autograd as ag
from mini_autograd import Operation, Variable


@dataclass(frozen=True)
class Step:
    """What happens at one step of the backward pass.

    index: 0 for the seed, k >= 1 after the k-th Operation (counted from the output).
    operation: the Operation processed at this step (None at step 0).
    highlighted: the node to highlight: the Operation, or the output Variable at step 0.
    grad_output: the gradient the Operation received for its output (the seed at step 0).
    contributions: (input Variable, the gradient this Operation sent to it), in input order,
        for every input that needs a gradient.
    grads: {Variable: d output / d Variable accumulated so far}, after this step.
    """

    index: int
    operation: Operation | None
    highlighted: Variable | Operation
    grad_output: np.ndarray | None
    contributions: tuple = ()
    grads: dict = field(default_factory=dict)


def _seed(output: Variable, grad) -> np.ndarray:
    value = np.asarray(output.value)
    if grad is None:
        if value.size != 1:
            raise ValueError(
                f"the output has shape {value.shape}; pass grad=... (an array of that shape) to step through "
                "the backward pass of a non-scalar output")
        return np.ones_like(value)
    grad = np.asarray(grad.value if isinstance(grad, Variable) else grad, dtype=value.dtype)
    if grad.shape != value.shape:
        raise ValueError(f"grad has shape {grad.shape} but the output has shape {value.shape}")
    return grad


def _as_tuple(operation: Operation, input_grads) -> tuple:
    if isinstance(input_grads, tuple):
        return input_grads
    if isinstance(input_grads, list):
        return tuple(input_grads)
    if len(operation.inputs) == 1:
        return (input_grads,)
    raise TypeError(f"{operation.label()}.backward must return one gradient per input, got {type(input_grads).__name__}")


class BackwardPass:
    """The backward pass of ``output``, one Operation at a time (no widgets; see the module doc).

    ``grad`` is the seed: d(output)/d(output) = 1 for a scalar output, or the vector of a
    vector-Jacobian product for a non-scalar one.
    """

    def __init__(self, output: Variable, grad=None):
        if not isinstance(output, Variable):
            raise TypeError(f"BackwardPass takes the output Variable of a computation, got {type(output).__name__}")
        self.output = output
        # The order in which the backward pass visits the Operations: reverse topological order.
        self.operations: list[Operation] = list(reversed(ag.topological_order(output)))
        self.variables: list[Variable] = self._variables_in_forward_order()
        self._names = self._display_names()

        seed = _seed(output, grad)
        grads: dict[Variable, np.ndarray] = {output: seed}
        self.steps: list[Step] = [Step(0, None, output, seed, ((output, seed),), dict(grads))]
        for index, operation in enumerate(self.operations, start=1):
            grad_output = grads.get(operation.output)
            contributions = []
            if grad_output is not None:
                input_grads = _as_tuple(operation, operation.backward(grad_output))
                if len(input_grads) != len(operation.inputs):
                    raise ValueError(f"{operation.label()}.backward returned {len(input_grads)} gradient(s) for "
                                     f"{len(operation.inputs)} input(s)")
                for variable, input_grad in zip(operation.inputs, input_grads):
                    if input_grad is None or not variable.requires_grad:
                        continue
                    input_grad = np.asarray(input_grad, dtype=variable.value.dtype)
                    if input_grad.shape != np.shape(variable.value):
                        raise ValueError(f"{operation.label()}.backward returned a gradient of shape {input_grad.shape} "
                                         f"for an input of shape {np.shape(variable.value)}")
                    previous = grads.get(variable)
                    # reuse: a Variable used by several Operations gets the sum of their contributions
                    grads[variable] = input_grad if previous is None else previous + input_grad
                    contributions.append((variable, input_grad))
            self.steps.append(Step(index, operation, operation, grad_output, tuple(contributions), dict(grads)))

    # --- the graph -----------------------------------------------------------------
    def _variables_in_forward_order(self) -> list[Variable]:
        seen, found = set(), []
        for operation in reversed(self.operations):
            for variable in (*operation.inputs, operation.output):
                if variable is not None and id(variable) not in seen:
                    seen.add(id(variable))
                    found.append(variable)
        if id(self.output) not in seen:
            found.append(self.output)
        return found

    def _display_names(self) -> dict[int, str]:
        names, used = {}, {v.name for v in self.variables if v.name}
        counters = {"t": 0, "input": 0}
        for variable in self.variables:
            if variable.name:
                names[id(variable)] = variable.name
                continue
            if variable.is_leaf and not variable.requires_grad:
                names[id(variable)] = f"constant {_short(variable.value)}"
                continue
            prefix = "input" if variable.is_leaf else "t"
            while True:
                counters[prefix] += 1
                candidate = f"{prefix}{counters[prefix]}"
                if candidate not in used:
                    break
            used.add(candidate)
            names[id(variable)] = candidate
        return names

    def name(self, variable: Variable) -> str:
        """How a Variable is called in the table (its name, or t1, t2, ... for unnamed intermediates)."""
        return self._names.get(id(variable)) or variable.name or "?"

    # --- the steps -----------------------------------------------------------------
    @property
    def num_steps(self) -> int:
        """The last step's index: one step per Operation (step 0 is the seed)."""
        return len(self.steps) - 1

    def __len__(self) -> int:
        return len(self.steps)

    def step(self, k: int) -> Step:
        if not 0 <= k <= self.num_steps:
            raise IndexError(f"step {k} is out of range: this backward pass has steps 0 to {self.num_steps}")
        return self.steps[k]

    def highlighted(self, k: int):
        """The node to highlight at step k: the Operation processed (the output Variable at step 0)."""
        return self.step(k).highlighted

    def gradients(self, k: int) -> dict:
        """{Variable: gradient accumulated so far} after step k (the final gradients at the last step)."""
        return dict(self.step(k).grads)

    def gradients_by_name(self, k: int) -> dict:
        """Like gradients(k), keyed by display name."""
        return {self.name(v): g for v, g in self.step(k).grads.items()}

    def is_complete(self, variable: Variable, k: int) -> bool:
        """True when every Operation that uses ``variable`` has been visited by step k."""
        users = [i for i, op in enumerate(self.operations, start=1) if any(v is variable for v in op.inputs)]
        return all(i <= k for i in users)

    def describe(self, k: int) -> str:
        """One or two sentences on what step k does (plain text)."""
        step = self.step(k)
        out = self.name(self.output)
        if step.operation is None:
            return (f"Step 0 of {self.num_steps}: seed the output: d{out}/d{out} = {_short(step.grad_output)}. "
                    f"Press Next to visit the Operations in reverse topological order.")
        op = step.operation
        received = self.name(op.output) if op.output is not None else "its output"
        parts = []
        for variable, contribution in step.contributions:
            total = step.grads[variable]
            before = self.step(k - 1).grads.get(variable)
            line = f"{_short(contribution)} to {self.name(variable)}"
            if before is not None:
                line += f" (added to the {_short(before)} already there: now {_short(total)})"
            parts.append(line)
        sent = "; ".join(parts) if parts else "nothing (no input needs a gradient)"
        return (f"Step {k} of {self.num_steps}: {op.label()} receives d{out}/d{received} = "
                f"{_short(step.grad_output)} and sends {sent}.")


def _short(value, precision: int = 4) -> str:
    array = np.asarray(value)
    if array.size == 1:
        return f"{array.item():.{precision}g}"
    if array.size <= 6:
        return np.array2string(array, precision=precision, separator=", ", suppress_small=True).replace("\n", "")
    return f"array{array.shape} (mean {array.mean():.{precision}g})"


class BackwardStepper(widgets.VBox):
    """A widget to step through the backward pass of ``output`` (see the module doc).

    ``stepper.slider.value = k`` (or the Prev / Next buttons) shows step k. The pieces are
    attributes, for tests and for arranging them differently: ``backward_pass`` (the logic),
    ``slider``, ``prev_button``, ``next_button``, ``graph`` (HTML with the SVG), ``description``
    and ``table`` (HTML).
    """

    def __init__(self, output: Variable, grad=None, rankdir: str = "LR", show_values: bool = True, **kwargs):
        self.backward_pass = BackwardPass(output, grad)
        self.rankdir, self.show_values = rankdir, show_values
        self._svg_cache: dict[int, str] = {}
        n = self.backward_pass.num_steps
        self.slider = widgets.IntSlider(value=0, min=0, max=n, step=1, description="step",
                                        continuous_update=True, layout=widgets.Layout(width="360px"))
        self.prev_button = widgets.Button(description="Prev", icon="step-backward", layout=widgets.Layout(width="90px"))
        self.next_button = widgets.Button(description="Next", icon="step-forward", layout=widgets.Layout(width="90px"))
        self.graph = widgets.HTML(layout=widgets.Layout(overflow="auto"))
        self.description = widgets.HTML()
        self.table = widgets.HTML()
        self.prev_button.on_click(lambda _button: self.go(self.slider.value - 1))
        self.next_button.on_click(lambda _button: self.go(self.slider.value + 1))
        self.slider.observe(lambda _change: self._render(), names="value")
        controls = widgets.HBox([self.prev_button, self.slider, self.next_button])
        super().__init__([controls, self.description, self.graph, self.table], **kwargs)
        self._render()

    def __repr__(self) -> str:
        return f"BackwardStepper(step {self.step} of {self.backward_pass.num_steps}; run in Jupyter to interact)"

    @property
    def step(self) -> int:
        return self.slider.value

    def go(self, k: int) -> None:
        """Show step k (clamped to the first and last step)."""
        self.slider.value = int(min(max(k, 0), self.backward_pass.num_steps))

    def digraph(self, k: int | None = None) -> graphviz.Digraph:
        """ag.draw of the graph at step k: the current node highlighted, partial gradients shown."""
        k = self.step if k is None else k
        bp = self.backward_pass
        grads = bp.step(k).grads
        saved = [(v, v.grad, v.name) for v in bp.variables]
        try:
            # ag.draw shows each Variable's .grad and .name: lend it the partial gradients and the
            # display names for the drawing only, and put everything back afterwards.
            for variable in bp.variables:
                variable.grad = grads.get(variable)
                if variable.name is None and (variable.requires_grad or not variable.is_leaf):
                    variable.name = bp.name(variable)
            return ag.draw(bp.output, show_values=self.show_values, show_grads=True,
                           highlight=[bp.highlighted(k)], rankdir=self.rankdir)
        finally:
            for variable, grad, name in saved:
                variable.grad, variable.name = grad, name

    def svg(self, k: int | None = None) -> str:
        """The drawing at step k as inline SVG (or the DOT source when Graphviz's dot is missing)."""
        k = self.step if k is None else k
        if k not in self._svg_cache:
            graph = self.digraph(k)
            try:
                svg = graph.pipe(format="svg").decode()
                svg = svg[svg.find("<svg"):]  # drop the XML prologue so it can sit inside HTML
                # scale to the widget's width (the viewBox keeps the proportions), so that the
                # highlighted node never scrolls out of view
                svg = re.sub(r'^<svg width="[^"]*" height="[^"]*"', '<svg style="max-width:100%;height:auto"', svg, count=1)
            except RuntimeError as error:  # dot is not installed: show the hint and the source
                svg = f"<p>{html.escape(str(error))}</p><pre>{html.escape(graph.source)}</pre>"
            self._svg_cache[k] = svg
        return self._svg_cache[k]

    def table_html(self, k: int | None = None) -> str:
        k = self.step if k is None else k
        bp = self.backward_pass
        step = bp.step(k)
        sent_to = {id(v) for v, _ in step.contributions}
        rows = []
        for variable in bp.variables:
            if variable not in step.grads:
                continue
            name = html.escape(bp.name(variable))
            state = "final" if bp.is_complete(variable, k) else "partial"
            style = ' style="background:#fff3c4"' if id(variable) in sent_to else ""
            rows.append(f"<tr{style}><td>{name}</td><td><code>{html.escape(_short(step.grads[variable]))}</code></td>"
                        f"<td>{state}</td></tr>")
        out = html.escape(bp.name(bp.output))
        return ("<table><tr><th>variable</th><th>d" + out + " / d variable so far</th><th></th></tr>"
                + "".join(rows) + "</table>")

    def _render(self) -> None:
        k = self.step
        n = self.backward_pass.num_steps
        self.prev_button.disabled = k <= 0
        self.next_button.disabled = k >= n
        self.description.value = f"<b>{html.escape(self.backward_pass.describe(k))}</b>"
        self.graph.value = self.svg(k)
        self.table.value = self.table_html(k)
