"""The graph and the reverse-mode driver: structure, order, accumulation, depth, errors."""

import gc
import weakref

import numpy as np
import pytest

import mini_autograd as ag


def test_graph_is_bipartite_and_operations_know_their_nodes():
    x, y = ag.Variable(2.0, name="x"), ag.Variable(3.0, name="y")
    z = x * y + x
    add = z.producer
    assert isinstance(add, ag.Operation) and type(add).__name__ == "Add"
    assert add.output is z
    mul_out = add.inputs[0]
    assert isinstance(mul_out, ag.Variable) and type(mul_out.producer).__name__ == "Multiply"
    assert mul_out.producer.inputs == (x, y)
    for operation in ag.topological_order(z):
        assert all(isinstance(v, ag.Variable) for v in operation.inputs)
        assert isinstance(operation.output, ag.Variable)
    assert x.is_leaf and not z.is_leaf


def test_topological_order_puts_every_operation_after_its_inputs():
    x = ag.Variable([1.0, 2.0])
    a = ag.exp(x)
    b = ag.sin(a) * a
    c = (b + a).sum() * ag.cos(x).sum()
    order = ag.topological_order(c)
    position = {id(op): i for i, op in enumerate(order)}
    assert len(position) == len(order)  # each operation once
    for op in order:
        for v in op.inputs:
            if v.producer is not None:
                assert position[id(v.producer)] < position[id(op)]


def _labels_of_order(seed):
    rng = np.random.default_rng(seed)
    leaves = [ag.Variable(rng.normal(size=3)) for _ in range(3)]
    nodes = list(leaves)
    for step in range(40):
        a, b = nodes[(step * 7) % len(nodes)], nodes[(step * 3 + 1) % len(nodes)]
        nodes.append([lambda: a + b, lambda: a * b, lambda: ag.tanh(a) - b][step % 3]())
    out = sum(nodes[-5:], start=nodes[-6]).sum()
    return [op.label() for op in ag.topological_order(out)], out


def test_topological_order_is_the_same_on_every_run():
    first, _ = _labels_of_order(0)
    for _ in range(5):
        again, _ = _labels_of_order(0)
        assert again == first


def test_backward_visits_operations_in_reverse_topological_order():
    visited = []

    class Recording(ag.Operation):
        def __init__(self, tag):
            self.tag = tag

        def forward(self, x):
            return x * 1.0

        def backward(self, grad):
            visited.append(self.tag)
            return (grad,)

    x = ag.Variable(1.0)
    a = Recording("a")(x)
    b = Recording("b")(a)
    c = Recording("c")(a)
    d = b + c
    d.backward()
    assert visited.index("a") > visited.index("b") and visited.index("a") > visited.index("c")
    assert x.grad == 2.0


def test_gradients_accumulate_on_reuse_and_across_backward_calls():
    x = ag.Variable([1.0, -2.0])
    y = (x * x + 3 * x).sum()  # x used three times
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * x.value + 3)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * (2 * x.value + 3))
    x.grad = None
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * x.value + 3)


def test_intermediate_variables_get_gradients_too():
    x = ag.Variable(3.0)
    h = x * x
    y = ag.sin(h)
    y.backward()
    assert h.grad == pytest.approx(np.cos(9.0))
    assert y.grad == pytest.approx(1.0)


def test_non_scalar_output_needs_a_gradient_and_says_so():
    x = ag.Variable(np.ones((2, 3)))
    y = x * 2
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*y.sum\(\).backward\(\)|pass the gradient"):
        y.backward()
    y.backward(np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(x.grad, 2 * np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match=r"grad has shape \(3,\) but the output has shape \(2, 3\)"):
        y.backward(np.ones(3))


def test_chain_of_100000_nodes_backpropagates_without_recursion():
    x = ag.Variable(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0)
    assert len(ag.topological_order(y)) == 200_000
    del y  # freeing a deep graph must not overflow the C stack either
    gc.collect()


def test_graph_has_no_reference_cycles():
    """A graph is freed by reference counting alone once its output is dropped."""
    gc.collect()
    gc.disable()
    try:
        x = ag.Variable(np.ones(3))
        y = ag.tanh(x * 2 + 1).sum()
        y.backward()
        probe = weakref.ref(y)
        op_probe = weakref.ref(y.producer)
        del y
        assert probe() is None and op_probe() is None
    finally:
        gc.enable()


def test_no_grad_records_nothing():
    x = ag.Variable([1.0, 2.0])
    with ag.no_grad():
        y = (x * 3).sum()
        assert not ag.is_recording()
    assert ag.is_recording()
    assert y.producer is None and not y.requires_grad


def test_constants_get_no_gradient_and_leaves_can_opt_out():
    w = ag.Variable([1.0, 2.0])
    frozen = ag.Variable([3.0, 4.0], requires_grad=False)
    (w * frozen).sum().backward()
    np.testing.assert_allclose(w.grad, [3.0, 4.0])
    assert frozen.grad is None


def test_variable_copies_its_input_and_converts_integers():
    data = np.array([1, 2, 3])
    v = ag.Variable(data)
    assert v.dtype == np.float64
    f = np.array([1.0, 2.0], dtype=np.float32)
    v32 = ag.Variable(f)
    f[0] = 100.0
    assert v32.dtype == np.float32 and v32.value[0] == 1.0
    assert ag.Variable(2).value.dtype == np.float64
    with pytest.raises(TypeError, match="numbers"):
        ag.Variable("abc")


def test_student_style_operation_subclass():
    class Cube(ag.Operation):
        """z = x^3, dz/dx = 3x^2."""

        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, grad):
            return (grad * 3 * self.x**2,)

    x = ag.Variable([1.0, 2.0])
    Cube()(x).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 12.0])


def test_operation_instances_are_single_use():
    op = ag.ops.Exp()
    op(ag.Variable(1.0))
    with pytest.raises(RuntimeError, match="new instance"):
        op(ag.Variable(2.0))


def test_backward_with_wrong_gradient_shape_explains_broadcasting():
    class ForgetsToUnbroadcast(ag.Operation):
        def forward(self, a, b):
            return a + b

        def backward(self, grad):
            return grad, grad

    x, bias = ag.Variable(np.ones((4, 3))), ag.Variable(np.zeros(3))
    with pytest.raises(ValueError, match=r"shape \(4, 3\) for input 1.*shape \(3,\).*summed over the broadcast axes"):
        ForgetsToUnbroadcast()(x, bias).sum().backward()


def test_backward_with_wrong_number_of_gradients():
    class TooFew(ag.Operation):
        def forward(self, a, b):
            return a * b

        def backward(self, grad):
            return (grad,)

    with pytest.raises(ValueError, match="returned 1 gradient.*2 input"):
        TooFew()(ag.Variable(1.0), ag.Variable(2.0)).backward()


def test_unimplemented_operation_names_itself():
    class Todo(ag.Operation):
        pass

    with pytest.raises(NotImplementedError, match="Todo.forward"):
        Todo()(ag.Variable(1.0))


@pytest.mark.parametrize(
    "build, pattern",
    [
        (lambda: ag.Variable(np.ones((2, 3))) + ag.Variable(np.ones((4,))), r"Add.*\(2, 3\).*\(4,\)"),
        (lambda: ag.Variable(np.ones((2, 3))) * ag.Variable(np.ones((3, 2))), r"Multiply.*\(2, 3\).*\(3, 2\)"),
        (lambda: ag.Variable(np.ones((2, 3))) @ ag.Variable(np.ones((4, 5))), r"MatMul: shapes \(2, 3\) and \(4, 5\)"),
        (lambda: ag.Variable(np.ones((2, 3))).reshape(4, 2), r"Reshape.*\(2, 3\).*\(4, 2\)"),
        (lambda: ag.mse_loss(ag.Variable(np.ones((5, 1))), np.ones(5)), r"MSELoss.*\(5, 1\).*\(5,\)"),
        (lambda: ag.cross_entropy(ag.Variable(np.ones((4, 3))), np.array([0, 1, 2, 3])), r"0\.\.2"),
        (lambda: ag.Variable(np.ones((2, 3))).sum(axis=2), r"axis 2 is out of range"),
        (lambda: ag.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((4, 5))), r"einsum\('ij,jk->ik'\).*\(2, 3\).*\(4, 5\).*'j'"),
    ],
    ids=["add", "multiply", "matmul", "reshape", "mse", "labels", "axis", "einsum"],
)
def test_shape_errors_name_the_operation_and_the_shapes(build, pattern):
    with pytest.raises((ValueError, IndexError), match=pattern):
        build()


def test_detect_anomaly_names_the_operation_that_made_nan():
    x = ag.Variable([1.0, 0.0])
    with ag.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"Log.*inf.*forward"):
            with np.errstate(divide="ignore"):
                ag.log(x)
    y = ag.Variable([0.0, 4.0])
    with ag.detect_anomaly():
        z = ag.sqrt(y).sum()  # finite forward, infinite derivative at 0
        with pytest.raises(FloatingPointError, match=r"(?s)Sqrt.*inf.*gradient.*backward.*test_graph.py"):
            with np.errstate(divide="ignore"):
                z.backward()


def test_ndarray_on_the_left_gives_a_variable():
    x = ag.Variable([1.0, 2.0])
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, ag.Variable)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 4.0])


def test_float32_stays_float32():
    x = ag.Variable(np.ones((2, 3), dtype=np.float32))
    w = ag.Variable(np.ones((3, 4), dtype=np.float32))
    y = ag.cross_entropy(ag.relu(x @ w * 0.5 + 1) / 3.0, np.array([1, 2]))
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_summing_gradients_in_place_leaves_the_other_gradients_alone():
    # x reaches y through three Adds whose backward hands x the very array of their output's
    # gradient: the first contribution is stored as it is, the later ones must not be added
    # into that shared array (compute_gradients adds in place only into a sum it made itself).
    x = ag.Variable(np.ones(3))
    a, b, c = x + 0.0, x + 0.0, x + 0.0
    y = (a * 2.0 + b * 3.0 + c * 4.0).sum()
    grads = ag.compute_gradients(y)
    np.testing.assert_allclose(grads[x], 9.0)
    for node, expected in ((a, 2.0), (b, 3.0), (c, 4.0)):
        np.testing.assert_allclose(grads[node], expected)
    y.backward()
    np.testing.assert_allclose(x.grad, 9.0)
    np.testing.assert_allclose(a.grad, 2.0)
    np.testing.assert_allclose(c.grad, 4.0)


def test_cross_entropy_with_logits_not_in_c_order():
    rng = np.random.default_rng(3)
    logits = np.asfortranarray(rng.normal(size=(5, 4)))
    labels = np.array([0, 3, 1, 1, 2])
    z = ag.Variable(logits)
    assert not z.value.flags.c_contiguous
    ag.cross_entropy(z, labels).backward()
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(5), labels] -= 1
    np.testing.assert_allclose(z.grad, p / 5)


def test_cross_entropy_of_rows_with_infinite_logits_matches_the_careful_shift():
    from mini_autograd.ops.nn_functions import _stable_log_softmax

    inf = np.inf
    logits = np.array([[1.0, -inf, 3.0], [-inf, -inf, -inf], [2.0, inf, 0.0], [0.5, 1.5, -0.5]])
    with np.errstate(all="ignore"):
        careful = _stable_log_softmax(logits, -1)
        for targets in (np.array([0, 1, 2, 1]), np.full(logits.shape, 1 / 3)):
            z = ag.Variable(logits)
            loss = ag.cross_entropy(z, targets)
            np.testing.assert_array_equal(loss.producer.log_p, careful)
            picked = careful[np.arange(4), targets] if targets.ndim == 1 else (targets * careful).sum(axis=1)
            np.testing.assert_array_equal(loss.value, -picked.sum() / 4)
        finite = ag.cross_entropy(ag.Variable(logits[[0, 3]]), np.array([2, 1]))
        np.testing.assert_allclose(finite.value, -(careful[0, 2] + careful[3, 1]) / 2)


# --- the garbage-collector pacing of large graphs (graph._GcPacer) ----------------------


def test_a_large_graph_raises_the_young_generation_threshold_and_freeing_it_restores_it():
    from mini_autograd.graph import _GcPacer, _pacer

    before = gc.get_threshold()
    x = ag.Variable(0.5)
    y = x
    for _ in range(3 * _GcPacer.LARGE):
        y = ag.sin(y)
    assert gc.isenabled()
    raised = gc.get_threshold()
    assert raised[0] >= 2 * _GcPacer.LARGE and raised[1:] == before[1:]
    y.backward()
    assert np.isfinite(x.grad)
    del y
    assert _pacer.live < _GcPacer.LARGE
    assert gc.get_threshold() == before


def test_cycles_made_while_a_large_graph_is_alive_are_still_collected():
    from mini_autograd.graph import _GcPacer

    class Cyclic:
        pass

    x = ag.Variable(0.5)
    y = x
    for _ in range(2 * _GcPacer.LARGE):
        y = ag.sin(y)
    garbage = Cyclic()
    garbage.me = garbage
    probe = weakref.ref(garbage)
    del garbage
    y = y * 2.0
    survivors = [[] for _ in range(10 * _GcPacer.LARGE)]  # allocations enough for young-generation passes
    assert probe() is None
    del x, y, survivors


def test_a_threshold_the_user_sets_while_a_large_graph_is_alive_is_kept():
    from mini_autograd.graph import _GcPacer

    before = gc.get_threshold()
    try:
        x = ag.Variable(0.5)
        y = x
        for _ in range(2 * _GcPacer.LARGE):
            y = ag.sin(y)
        gc.set_threshold(1234, 5, 6)
        for _ in range(3 * _GcPacer.LARGE):
            y = ag.sin(y)
        del x, y
        assert gc.get_threshold() == (1234, 5, 6)
    finally:
        gc.set_threshold(*before)


# --- intermediates a user keeps stay correct (no in-place shortcuts on shared arrays) ----


def test_kept_intermediates_keep_their_values_and_get_correct_gradients():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(6, 5)).astype(np.float32)
    labels = rng.integers(0, 3, 6)
    model = ag.nn.MLP([5, 4, 3], rng=1, dtype=np.float32)
    W1, b1, W2, b2 = model.parameters()
    pre = model[0](X)                # kept by the user: the pre-activation
    hidden = model[1](pre)           # kept: the ReLU output
    logits = model[2](hidden)        # kept: the logits
    kept = [np.array(v.value, copy=True) for v in (pre, hidden, logits)]
    reuse = (hidden * hidden).sum()  # the kept hidden layer is used a second time
    loss = ag.cross_entropy(logits, labels) + 0.1 * reuse
    loss.backward()
    for v, value in zip((pre, hidden, logits), kept):
        np.testing.assert_array_equal(v.value, value)  # backward changed no forward value
    kept_grads = {id(v): np.array(v.grad, copy=True) for v in (pre, hidden, logits, W1, b1, W2, b2)}

    # the same gradients in float64 numpy by hand
    x64 = X.astype(np.float64)
    h_pre = x64 @ W1.value.astype(np.float64) + b1.value
    h = np.maximum(h_pre, 0)
    z = h @ W2.value.astype(np.float64) + b2.value
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(6), labels] -= 1
    dz = p / 6
    dh = dz @ W2.value.T.astype(np.float64) + 0.2 * h
    dpre = dh * (h_pre > 0)
    for got, want in [(logits.grad, dz), (hidden.grad, dh), (pre.grad, dpre), (W2.grad, h.T @ dz),
                      (b2.grad, dz.sum(0)), (W1.grad, x64.T @ dpre), (b1.grad, dpre.sum(0))]:
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-6)

    # a second backward through the kept graph accumulates exactly the same contribution again
    loss.backward()
    for v in (pre, hidden, logits, W1, b1, W2, b2):
        np.testing.assert_allclose(v.grad, 2 * kept_grads[id(v)], rtol=1e-5)
    for v, value in zip((pre, hidden, logits), kept):
        np.testing.assert_array_equal(v.value, value)

    # an optimiser step changes the parameters, never the kept values or their gradients
    twice = {id(v): np.array(v.grad, copy=True) for v in (pre, hidden, logits)}
    ag.optim.SGD(model.parameters(), lr=0.1).step()
    for v, value in zip((pre, hidden, logits), kept):
        np.testing.assert_array_equal(v.value, value)
    for v in (pre, hidden, logits):
        np.testing.assert_array_equal(v.grad, twice[id(v)])


def test_a_gradient_returned_twice_is_not_summed_into_in_place():
    """An operation may return the very array it received (Add does): the engine must not add
    a later contribution into that array in place, which is another Variable's gradient."""
    x = ag.Variable(np.ones(3))
    a = x * 1.0
    b = a + a       # both inputs of the Add get the same array: b's gradient
    c = b + x       # and x gets it again, from c
    c.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(c.grad, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(b.grad, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(a.grad, [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(x.grad, [3.0, 6.0, 9.0])


# --- the order of the backward pass (latest-made Operation first) ------------------------


def test_backward_runs_each_operation_once_after_every_operation_that_uses_its_output():
    ran = []

    class Tagged(ag.Operation):
        def __init__(self, tag):
            self.tag = tag

        def forward(self, *values):
            return sum(values) * 1.0

        def backward(self, grad):
            ran.append(self.tag)
            return tuple(grad for _ in self.inputs)

    x = ag.Variable(np.ones(2))
    a = Tagged("a")(x)
    b = Tagged("b")(a)          # made before c, but c uses b: b runs after c
    late = Tagged("late")(x)    # made after a and b, on a side branch
    c = Tagged("c")(b, a, late)
    d = Tagged("d")(c, b)       # b reaches d twice: directly and through c
    d.backward(np.ones(2))
    assert sorted(ran) == ["a", "b", "c", "d", "late"]  # each once
    position = {tag: i for i, tag in enumerate(ran)}
    for user, used in [("d", "c"), ("d", "b"), ("c", "b"), ("c", "a"), ("b", "a"), ("c", "late")]:
        assert position[user] < position[used]
    # d = c + b = (b + a + late) + b, with b = a = x and late = x: d = 4x
    np.testing.assert_allclose(x.grad, [4.0, 4.0])


def test_an_operation_nothing_flows_back_through_is_not_run():
    ran = []

    class Blocks(ag.Operation):
        def forward(self, v):
            return v * 2.0

        def backward(self, grad):
            ran.append("blocks")
            return (None,)

    class Recorded(ag.Operation):
        def forward(self, v):
            return v + 1.0

        def backward(self, grad):
            ran.append("recorded")
            return (grad,)

    x = ag.Variable(np.ones(3))
    y = Blocks()(Recorded()(x))
    grads = ag.compute_gradients(y, np.ones(3))
    assert ran == ["blocks"] and x not in grads


def test_a_wrong_count_of_gradients_in_a_list_or_a_bare_array_is_explained():
    class ListOfThree(ag.Operation):
        def forward(self, a, b):
            return a * b

        def backward(self, grad):
            return [grad, grad, grad]

    with pytest.raises(ValueError, match="ListOfThree.backward returned 3 gradient.*2 input"):
        ListOfThree()(ag.Variable(1.0), ag.Variable(2.0)).backward()

    class Bare(ag.Operation):
        def forward(self, a):
            return a * 3.0

        def backward(self, grad):
            return grad * 3.0  # one input: a bare gradient is accepted

    x = ag.Variable([1.0, 2.0])
    Bare()(x).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


def test_0d_gradients_accumulate_on_reuse_including_0d_arrays():
    x = ag.Variable(1.5)
    y = x
    for _ in range(10):
        y = y + x
    y.backward()
    assert x.grad == 11.0 and isinstance(x.grad, np.ndarray)
    c = ag.constant(np.array(2.0))  # a 0-d ndarray (not a numpy scalar), used three times
    c.requires_grad = True
    z = c * 1.0 + c * 2.0 + c * 3.0
    assert ag.compute_gradients(z)[c] == 6.0


def test_operators_record_the_same_nodes_as_calling_the_operations():
    x, y = ag.Variable(np.array([1.0, 2.0])), ag.Variable(np.array([3.0, 5.0]))
    for made, kind, inputs in [(x + y, "Add", (x, y)), (x - y, "Subtract", (x, y)), (x * y, "Multiply", (x, y)),
                               (x / y, "Divide", (x, y)), (x ** y, "Power", (x, y))]:
        assert type(made.producer).__name__ == kind and made.producer.inputs == inputs
        assert made.producer.output is made and made.requires_grad
    first, second = x + y, x * 2.0
    assert second.producer._sequence > first.producer._sequence  # creation numbers grow
    c = ag.constant(np.ones(2))
    assert (c + c).producer is None and not (c + c).requires_grad  # nothing to differentiate: no node
    with ag.no_grad():
        assert (x + y).producer is None
    with pytest.raises(ValueError, match=r"Add: cannot apply to inputs of shapes \(2,\), \(3,\)"):
        x + ag.Variable(np.ones(3))


def test_detect_anomaly_names_the_line_of_an_operator():
    x, zero = ag.Variable([1.0]), ag.Variable([0.0])
    with ag.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(FloatingPointError, match=r"(?s)Divide.*inf.*forward.*test_graph.py.*x / zero"):
            x / zero
