"""ag.draw: the DOT source has the bipartite graph's nodes and edges; rendering works with dot
and explains how to install Graphviz without it."""

import re
import shutil

import graphviz
import numpy as np
import pytest

import mini_autograd as ag


def _nodes_and_edges(source):
    nodes = {name: quoted or bare for name, quoted, bare in
             re.findall(r'^\t(\w+) \[label=(?:"((?:[^"\\]|\\.)*)"|(\w+))', source, flags=re.M)}
    edges = re.findall(r"^\t(\w+) -> (\w+)", source, flags=re.M)
    return nodes, edges


def test_dot_source_has_variable_and_operation_nodes_and_their_edges():
    x, y = ag.Variable(2.0, name="x"), ag.Variable(3.0, name="y")
    z = x * (x + y)
    z.name = "z"
    z.backward()
    graph = ag.draw(z)
    assert isinstance(graph, graphviz.Digraph)
    nodes, edges = _nodes_and_edges(graph.source)
    labels = sorted(label.split("\\n")[0] for label in nodes.values())
    assert labels == ["Add", "Multiply", "shape ()", "x", "y", "z"]  # x + y has no name
    by_label = {label.split("\\n")[0]: name for name, label in nodes.items()}
    expected = {
        (by_label["x"], by_label["Add"]), (by_label["y"], by_label["Add"]), (by_label["Add"], by_label["shape ()"]),
        (by_label["x"], by_label["Multiply"]), (by_label["shape ()"], by_label["Multiply"]), (by_label["Multiply"], by_label["z"]),
    }
    assert set(edges) == expected and len(edges) == 6
    # the graph is bipartite: every edge joins a variable and an operation
    for a, b in edges:
        assert a.startswith("v") != b.startswith("v")
    assert "grad 7" in nodes[by_label["x"]]  # d/dx x(x + y) = 2x + y
    assert "grad 2" in nodes[by_label["y"]]  # d/dy x(x + y) = x

def test_values_and_grads_can_be_hidden_and_nodes_highlighted():
    x = ag.Variable(np.arange(12.0).reshape(3, 4), name="x")
    s = ag.tanh(x).sum()
    s.backward()
    source = ag.draw(s, show_values=False, show_grads=False, highlight=[s.producer]).source
    assert "value" not in source and "grad" not in source
    assert re.search(r'label=Sum .*fillcolor="#ffd54f"', source)
    summary = ag.draw(s).source
    assert "shape (3, 4)" in summary and "mean" in summary  # large arrays are summarised


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (CI installs it)")
def test_renders_svg_with_dot(tmp_path):
    x = ag.Variable([1.0, 2.0], name="x")
    graph = ag.draw(ag.sigmoid(x).sum())
    svg = graph.pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "Sigmoid" in svg
    assert graph._repr_mimebundle_()["image/svg+xml"].count("<g id=\"node") == 5  # x, Sigmoid, its output, Sum, the sum
    path = graph.render(tmp_path / "g", format="png", cleanup=True)
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_without_dot_the_source_still_builds_and_rendering_says_how_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    graph = ag.draw(ag.exp(ag.Variable(1.0)))
    assert "Exp" in graph.source
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        graph.pipe(format="svg")


def test_draw_rejects_non_variables():
    with pytest.raises(TypeError, match="output Variable"):
        ag.draw(np.ones(3))
