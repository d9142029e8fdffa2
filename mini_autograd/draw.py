"""Drawing computation graphs with Graphviz.

Variable nodes are drawn as ellipses (name, shape, and optionally value and gradient) and
Operation nodes as boxes, so the picture is the bipartite graph of the lecture notes.
Building the drawing needs only the ``graphviz`` Python package; rendering it (SVG in
Jupyter, ``.render()``) needs Graphviz's ``dot`` program.
"""

from __future__ import annotations

import graphviz
import numpy as np

from .graph import Operation, Variable
from .reverse import topological_order

HIGHLIGHT_COLOR = "#ffd54f"
INSTALL_HINT = (
    "Graphviz's 'dot' program is needed to render graphs but was not found on PATH. Install it with "
    "'apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS) or "
    "'conda install graphviz'. The DOT source is still available as .source."
)


def _format_array(value, precision: int, max_elements: int) -> str:
    array = np.asarray(value)
    if array.size == 1:
        return f"{array.item():.{precision}g}"
    if array.size <= max_elements:
        return np.array2string(array, precision=precision, separator=", ", suppress_small=True).replace("\n", "")
    return f"mean {array.mean():.{precision}g}, min {array.min():.{precision}g}, max {array.max():.{precision}g}"


def _escape(text: str) -> str:
    """Make backslashes literal; the graphviz package quotes the rest."""
    return text.replace("\\", "\\\\")


def draw(
    output: Variable,
    show_values: bool = True,
    show_grads: bool = True,
    highlight=(),
    rankdir: str = "LR",
    precision: int = 3,
    max_elements: int = 6,
):
    """A ``graphviz.Digraph`` of the graph that computes ``output``.

    highlight: Variables and/or Operations to fill in colour (e.g. the node a check blames).
    Values and gradients are shown in full for small arrays and summarised for large ones.
    """
    if not isinstance(output, Variable):
        raise TypeError(f"draw() takes the output Variable of a computation, got {type(output).__name__}")
    highlighted = {id(node) for node in highlight}
    graph = ComputationGraph()
    graph.attr(rankdir=rankdir)
    graph.attr("node", fontname="Helvetica", fontsize="11")
    graph.attr("edge", fontname="Helvetica", fontsize="9")

    names: dict[int, str] = {}

    def node_id(node) -> str:
        if id(node) not in names:
            names[id(node)] = f"{'v' if isinstance(node, Variable) else 'op'}{len(names)}"
        return names[id(node)]

    def add_variable(variable: Variable) -> None:
        if id(variable) in names:
            return
        role = "" if not variable.is_leaf else ("input" if variable.requires_grad else "constant")
        lines = [variable.name or role, f"shape {tuple(variable.shape)}"]
        if show_values:
            lines.append(f"value {_format_array(variable.value, precision, max_elements)}")
        if show_grads and variable.grad is not None:
            lines.append(f"grad {_format_array(variable.grad, precision, max_elements)}")
        style = {"shape": "ellipse"}
        if not variable.requires_grad:
            style["color"] = "gray50"
        if id(variable) in highlighted:
            style.update(style="filled", fillcolor=HIGHLIGHT_COLOR, penwidth="2")
        graph.node(node_id(variable), "\\n".join(_escape(line) for line in lines if line), **style)

    def add_operation(operation: Operation) -> None:
        style = {"shape": "box", "style": "rounded,filled", "fillcolor": "#e3f2fd"}
        if id(operation) in highlighted:
            style.update(fillcolor=HIGHLIGHT_COLOR, penwidth="2")
        graph.node(node_id(operation), _escape(operation.label()), **style)

    order = topological_order(output)
    for operation in order:
        for variable in operation.inputs:
            add_variable(variable)
        add_operation(operation)
        made = operation.output
        if made is not None:
            add_variable(made)
    add_variable(output)
    for operation in order:
        for position, variable in enumerate(operation.inputs):
            label = str(position) if len(operation.inputs) > 1 else None
            graph.edge(node_id(variable), node_id(operation), **({"label": label} if label else {}))
        if operation.output is not None:
            graph.edge(node_id(operation), node_id(operation.output))
    return graph


class ComputationGraph(graphviz.Digraph):
    """A graphviz.Digraph whose rendering explains how to install Graphviz when dot is missing."""

    def pipe(self, *args, **kwargs):
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise RuntimeError(INSTALL_HINT) from None

    def render(self, *args, **kwargs):
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise RuntimeError(INSTALL_HINT) from None
