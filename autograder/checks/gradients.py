"""The checks that notebook test cells call, written on ``core``.

Every check:
1. verifies that numpy, builtins, mini_autograd and the checks are untouched (integrity), on
   entry and after every call into student code (``call_student``, i.e. ``core.Exercise.call``);
2. runs the student's code on inputs it makes itself (seeded, several shapes);
3. compares with a reference or with finite differences in float64;
4. raises CheckFailed with a message that names the exercise, the input shapes, the element,
   expected vs got, the relative error and a likely cause; or returns quietly.
"""

from __future__ import annotations

import mini_autograd as ag

from . import integrity as safe
from .core import (GRADIENTS, ROUNDING, VALUES, Exercise, Mistake, as_array, check_not_mutated, check_shape,
                   explained_by, fail, random_inputs)
from .messages import describe_shape, likely_cause, mismatch_message, worst_mismatch
from .numeric import as_float64, numeric_directional, numeric_vjp

FULL_JACOBIAN_LIMIT = 400  # output size x input size up to which every Jacobian entry is checked
NUMERIC_VJP_LIMIT = 3000  # input size up to which the whole gradient is compared element by element

_Variable = ag.Variable
_Operation = ag.Operation
_compute_gradients = ag.compute_gradients
_topological_order = ag.topological_order
_REVERSE_MODE_DRIVERS = [ag.compute_gradients, ag.backward, ag.Variable.backward]


def call_student(exercise: str, what: str, function, *arguments):
    """Student code, called the one way (``core.Exercise.call``): errors become feedback,
    integrity is verified after the call."""
    return Exercise(exercise).call(what, function, *arguments)


def check_values(got, expected, exercise: str, what: str = "the result", atol: float = VALUES.atol,
                 rtol: float = VALUES.rtol):
    """Compare an answer with the expected array element by element."""
    safe.verify(exercise)
    expected = as_float64(expected)
    got = as_array(exercise, what, got)
    check_shape(exercise, what, got, expected.shape)
    mismatch = worst_mismatch(got, expected, atol, rtol)
    if mismatch is not None:
        fail(exercise, mismatch_message(what, mismatch, likely_cause(got, expected)))


def check_between(value, low: float, high: float, exercise: str, hint: str = ""):
    """``value`` must be a number in [low, high] (converted with float(), so an object that
    pretends to compare true does not pass)."""
    safe.verify(exercise)
    try:
        number = float(value)
    except (TypeError, ValueError):
        fail(exercise, f"expected a number, got {type(value).__name__}.")
    if not (low <= number <= high):
        fail(exercise, f"{number:g} is not between {low:g} and {high:g}." + (f" {hint}" if hint else ""))


def check_unchanged(array, original, exercise: str, what: str = "the input"):
    """``array`` (the caller's own array, after student code ran on it) must equal ``original``
    (a copy saved before) exactly: a change in place, even one step size small, is reported."""
    safe.verify(exercise)
    got = as_array(exercise, what, array)
    original = as_float64(original)
    check_shape(exercise, what, got, original.shape)
    if not safe.np_array_equal(got, original):
        mismatch = worst_mismatch(got, original, 0.0, 0.0)
        fail(exercise, mismatch_message(f"{what} (it must not change)", mismatch,
                                         "the function changed its input in place (x += ..., x[i] = ...) and did not "
                                         "put it back exactly; compute on a copy, x + step, instead"))


class reference_functions:
    """``with reference_functions(globals(), forward_pass=reference):`` binds the notebook's
    names to reference versions while the block runs and restores them after, so that an
    exercise that calls the student's answer to an earlier exercise is judged on its own."""

    _MISSING = object()

    def __init__(self, namespace: dict, **references):
        self.namespace, self.references, self.saved = namespace, references, {}

    def __enter__(self):
        for name, reference in self.references.items():
            self.saved[name] = self.namespace.get(name, self._MISSING)
            self.namespace[name] = reference
        return self

    def __exit__(self, *exc):
        for name, previous in self.saved.items():
            if previous is self._MISSING:
                self.namespace.pop(name, None)
            else:
                self.namespace[name] = previous
        return False


def check_function(student_fn, reference_fn, input_shapes_list, exercise: str, *, domain=(-2.0, 2.0),
                   seeds=(0, 1), atol: float = VALUES.atol, rtol: float = VALUES.rtol, avoid_zero: float = 0.0,
                   known_mistakes=()):
    """student_fn(*arrays) must equal reference_fn(*arrays) on random inputs of the given shapes,
    without changing its inputs.

    known_mistakes: Mistake(description, wrong_fn) each; when a wrong answer equals wrong_fn(*arrays),
    the feedback names that description as the likely cause (they become ``core.Mistake``s with
    the wrong function's result on the same inputs as candidate)."""
    safe.verify(exercise)
    for shapes in input_shapes_list:
        for seed in seeds:
            inputs = random_inputs(shapes, seed, domain, avoid_zero)
            copies = [safe.np_copy(x) for x in inputs]
            expected = as_float64(reference_fn(*[safe.np_copy(x) for x in inputs]))
            got = call_student(exercise, "your function", student_fn, *inputs)
            check_not_mutated(exercise, inputs, copies, "your function")
            what = f"the result for inputs of shapes {describe_shape(shapes)}"
            check_shape(exercise, what, got, expected.shape)
            mismatch = worst_mismatch(got, expected, atol, rtol)
            if mismatch is not None:
                cause = explained_by(got, expected, _mistakes_of(known_mistakes, *copies)) or likely_cause(got, expected)
                fail(exercise, mismatch_message(what, mismatch, cause))
    safe.verify(exercise)  # again: the student code that just ran may have tampered


def _mistakes_of(known_mistakes, *arguments):
    """The known mistakes of a function check, evaluated: each is a Mistake whose candidate is the
    wrong formula (a function of the check's inputs), and becomes a Mistake whose candidate is what
    that formula gives on (copies of) arguments. A wrong formula that does not fit them is skipped."""
    mistakes = []
    for mistake in known_mistakes or ():
        if not safe.builtin_isinstance(mistake, Mistake):   # the course's own error: its test cell is wrong
            raise TypeError(f"known_mistakes takes Mistake(description, wrong formula) objects, got {mistake!r}")
        try:
            mistakes.append(Mistake(mistake.description, mistake.candidate(*[safe.np_copy(a) for a in arguments])))
        except Exception:  # noqa: BLE001 - a wrong formula may not even fit these shapes
            continue
    return mistakes


def _vjp_mistakes(known_mistakes, inputs, grad_output, k):
    """The known mistakes of a VJP, evaluated: each Mistake(description, wrong_vjp) becomes a
    Mistake whose candidate is the gradient for input k that wrong_vjp gives."""
    mistakes = []
    for mistake in _mistakes_of(known_mistakes, *inputs, grad_output):
        try:
            mistakes.append(Mistake(mistake.description, mistake.candidate[k]))
        except Exception:  # noqa: BLE001 - a wrong formula may not even return one gradient per input
            continue
    return mistakes


def _vjp_mismatch(exercise, label, got, expected, shapes, k, local, known):
    what = f"{label}: the gradient for input {k} (inputs of shapes {describe_shape(shapes)})"
    check_shape(exercise, what, got, expected.shape)
    mismatch = worst_mismatch(got, expected, GRADIENTS.atol, GRADIENTS.rtol)
    if mismatch is not None:
        cause = explained_by(got, expected, known()) or likely_cause(got, expected, local_derivative=local)
        fail(exercise, mismatch_message(what, mismatch, cause))


def check_vjp(student_vjp, forward, input_shapes_list, exercise: str, *, domain=(-2.0, 2.0), seeds=(0, 1),
              avoid_zero: float = 0.0, label: str = "backward", known_mistakes=()):
    """student_vjp(*inputs, grad_output) must return one gradient per input: the vector-Jacobian
    product of ``forward`` (a numpy function) with grad_output, checked against finite
    differences: the full Jacobian for small inputs, the whole gradient for random grad_outputs,
    random projections for large inputs.

    known_mistakes: Mistake(description, wrong_vjp) each; when a wrong answer equals what wrong_vjp
    returns, the feedback names that description as the likely cause."""
    safe.verify(exercise)
    for shapes in input_shapes_list:
        for seed in seeds:
            inputs = random_inputs(shapes, seed, domain, avoid_zero)
            output = as_float64(forward(*[safe.np_copy(x) for x in inputs]))
            rng = safe.np_random_default_rng(seed + 1000)
            grad_outputs = [as_float64(rng.standard_normal(output.shape))]
            total = output.size * sum(x.size for x in inputs)
            if total <= FULL_JACOBIAN_LIMIT:  # every entry of the Jacobian: one-hot grad_outputs
                for index in safe.np_ndindex(output.shape):
                    onehot = safe.np_zeros(output.shape)
                    onehot[index] = 1.0
                    grad_outputs.append(onehot)
            ones = safe.np_zeros(output.shape) + 1.0
            for grad_output in grad_outputs:
                copies = [safe.np_copy(x) for x in inputs]
                got = _call_vjp(exercise, label, student_vjp, inputs, grad_output, len(shapes))
                check_not_mutated(exercise, inputs, copies, label)
                for k, x in enumerate(inputs):
                    if x.size <= NUMERIC_VJP_LIMIT:
                        expected = numeric_vjp(forward, inputs, grad_output, k)
                        local = numeric_vjp(forward, inputs, ones, k) if output.shape == x.shape else None
                        known = lambda: _vjp_mistakes(known_mistakes, inputs, grad_output, k)  # noqa: E731
                        _vjp_mismatch(exercise, label, got[k], expected, shapes, k, local, known)
                    else:
                        check_shape(exercise, f"{label}: the gradient for input {k}", got[k], x.shape)
                        direction = as_float64(rng.standard_normal(x.shape))
                        numeric = float(safe.np_sum(grad_output * numeric_directional(forward, inputs, k, direction)))
                        analytic = float(safe.np_sum(as_float64(got[k]) * direction))
                        if abs(numeric - analytic) > GRADIENTS.rtol * (1 + abs(numeric)):
                            fail(exercise, f"{label}: the gradient for input {k} (shape {tuple(x.shape)}) is wrong: "
                                            f"along a random direction it gives {analytic:.6g}, finite differences give {numeric:.6g}.")
    safe.verify(exercise)  # again: the student code that just ran may have tampered


def _call_vjp(exercise, label, student_vjp, inputs, grad_output, count):
    # the originals, not copies: mutation is checked afterwards
    got = call_student(exercise, label, student_vjp, *inputs, safe.np_copy(grad_output))
    if safe.builtin_isinstance(got, list):
        got = tuple(got)
    if count == 1 and not safe.builtin_isinstance(got, tuple):
        got = (got,)
    if not safe.builtin_isinstance(got, tuple) or safe.builtin_len(got) != count:
        fail(exercise, f"{label} must return a tuple with one gradient per input ({count}), "
                        f"got {type(got).__name__}" + (f" of length {len(got)}" if hasattr(got, '__len__') else "") + ".")
    return got


def check_operation(op_class, input_shapes_list, exercise: str, *, reference=None, domain=(-2.0, 2.0),
                    seeds=(0, 1), avoid_zero: float = 0.0, check_float32: bool = True, known_mistakes=(),
                    check_forward: bool = True, check_backward: bool = True):
    """An Operation subclass: its forward must match ``reference`` (an Operation class or a
    numpy function), its backward must be the vector-Jacobian product of the true function,
    shaped like the inputs; neither may change the arrays it is given (the inputs' values, what
    forward stored, grad_output) and forward must keep float32 as float32.

    check_forward=False judges the backward pass alone (when forward has its own test cell):
    forward then only has to run, not to give the right values or dtype; check_backward=False
    judges the forward pass alone."""
    safe.verify(exercise)
    if not (safe.builtin_isinstance(op_class, type) and issubclass(op_class, _Operation)):
        fail(exercise, f"expected a subclass of ag.Operation, got {op_class!r}.")
    name = op_class.__name__
    for method in ("forward", "backward"):
        defined_in = getattr(getattr(op_class, method, None), "__module__", "") or ""
        if defined_in.startswith("mini_autograd"):
            fail(exercise, f"{name}.{method} is mini_autograd's own implementation ({defined_in}); "
                            f"write {method} yourself in your class.")

    def reference_forward(*arrays):
        if safe.builtin_isinstance(reference, type) and issubclass(reference, _Operation):
            return reference().forward(*arrays)
        return reference(*arrays)

    for shapes in input_shapes_list:
        for seed in seeds:
            inputs = random_inputs(shapes, seed, domain, avoid_zero)
            variables = [_Variable(x) for x in inputs]
            out = call_student(exercise, f"{name}.forward", op_class(), *variables)
            # the arrays forward was given are the Variables' own values (not `inputs`)
            if check_forward:
                check_not_mutated(exercise, [v.value for v in variables], inputs, f"{name}.forward")
            if reference is not None and check_forward:
                expected = as_float64(reference_forward(*[safe.np_copy(x) for x in inputs]))
                what = f"{name}.forward for inputs of shapes {describe_shape(shapes)}"
                check_shape(exercise, what, out.value, expected.shape)
                mismatch = worst_mismatch(out.value, expected, VALUES.atol, VALUES.rtol)
                if mismatch is not None:
                    fail(exercise, mismatch_message(what, mismatch, likely_cause(out.value, expected)))

    forward = reference_forward if reference is not None else (lambda *arrays: op_class().forward(*arrays))

    def student_vjp(*arguments):
        *arrays, grad_output = arguments
        node = op_class()
        variables = [_Variable(x) for x in arrays]
        node(*variables)
        if check_forward:
            check_not_mutated(exercise, [v.value for v in variables], arrays, f"{name}.forward")
        after_forward = [safe.np_copy(v.value) for v in variables]
        grad_copy = safe.np_copy(grad_output)
        grads = node.backward(grad_output)
        check_not_mutated(exercise, [v.value for v in variables], after_forward,
                           f"{name}.backward (through what forward stored)")
        if not safe.np_array_equal(grad_output, grad_copy):
            fail(exercise, f"{name}.backward changed grad_output in place; the engine may pass the same array "
                            f"to other operations, so compute new arrays instead (grad * mask, not grad[...] = 0).")
        return grads

    if check_backward:
        check_vjp(student_vjp, forward, input_shapes_list, exercise, domain=domain, seeds=seeds,
                  avoid_zero=avoid_zero, label=f"{name}.backward", known_mistakes=known_mistakes)

    if check_float32 and check_forward:
        inputs = [x.astype(safe.np_float32) for x in random_inputs(input_shapes_list[0], 7, domain, avoid_zero)]
        out = op_class()(*[_Variable(x) for x in inputs])
        if out.value.dtype != safe.np_float32:
            fail(exercise, f"{name}.forward turned float32 inputs into {out.value.dtype}; keep the input's dtype "
                            f"(use x.dtype, or Python numbers, not float64 arrays).")
    safe.verify(exercise)  # again: the student code that just ran may have tampered


def _show_graph(output, highlight, caption: str) -> None:
    """In a notebook, draw the graph with the node the feedback is about highlighted.

    Drawing is a help, never a reason for a check to fail differently: without IPython or
    Graphviz it quietly does nothing."""
    if safe._ipython() is None:
        return
    try:
        from IPython.display import HTML, SVG, display

        svg = ag.draw(output, show_values=False, highlight=highlight).pipe(format="svg").decode()
        display(HTML(f"<b>{caption}</b>"), SVG(svg))
    except Exception:  # noqa: BLE001 - see the docstring
        return


class _CallWatch:
    """Notices calls of given functions while the student's code runs (sys.setprofile), so that
    an exercise cannot hand back the work of the mini_autograd function it asks you to write."""

    def __init__(self, functions):
        self.codes = {f.__code__: f"{f.__module__}.{f.__qualname__}" for f in functions}
        self.called = []

    def __enter__(self):
        self.previous = safe.sys_getprofile()
        safe.sys_setprofile(self._profile)
        return self

    def _profile(self, frame, event, arg):
        if event == "call" and frame.f_code in self.codes:
            self.called.append(self.codes[frame.f_code])

    def __exit__(self, *exc):
        safe.sys_setprofile(self.previous)
        return False


def _run_watched(exercise, forbidden, what, function, *args):
    with _CallWatch(forbidden) as watch:
        result = call_student(exercise, what, function, *args)
    if watch.called:
        fail(exercise, f"{what} calls {watch.called[0]}, the engine's own version of what this exercise "
                        f"asks you to write; implement it yourself.")
    return result


def check_backpropagation(student_backward, exercise: str, graphs=None):
    """student_backward(output) must set .grad on every Variable the scalar ``output`` depends
    on, as reverse mode does: summing the contributions of a Variable used several times."""
    safe.verify(exercise)
    for title, build in (graphs or example_graphs()):
        leaves, output = build()
        expected = _compute_gradients(output)
        for variable in expected:
            variable.grad = None
        _run_watched(exercise, _REVERSE_MODE_DRIVERS, "your function", student_backward, output)
        for name, leaf in leaves.items():
            want = as_float64(expected.get(leaf, safe.np_zeros(leaf.shape)))
            got = leaf.grad
            what = f"on the graph {title}, the gradient of {name}"
            if got is None:
                fail(exercise, f"{what} was never set (it is None).")
            check_shape(exercise, what, got, want.shape)
            mismatch = worst_mismatch(got, want, ROUNDING.atol, ROUNDING.rtol)
            if mismatch is not None:
                cause = likely_cause(got, want)
                uses = [op for op in _topological_order(output) if any(v is leaf for v in op.inputs)]
                if cause is None and len(uses) > 1:
                    cause = (f"{name} is used by {len(uses)} operations: its gradient is the sum of their "
                             f"contributions, so add to it instead of overwriting it")
                _show_graph(output, [leaf, *uses], f"{exercise}: the graph {title}; {name} and the operations "
                                                   f"that use it are highlighted")
                fail(exercise, mismatch_message(what, mismatch, cause))
    safe.verify(exercise)  # again: the student code that just ran may have tampered


def check_topological_order(student_sort, exercise: str, graphs=None):
    """student_sort(output) must list every Operation ``output`` depends on exactly once, each
    after the Operations that produce its inputs."""
    safe.verify(exercise)
    for title, build in (graphs or example_graphs()):
        _, output = build()
        expected = _topological_order(output)
        got = list(_run_watched(exercise, [_topological_order], "your function", student_sort, output))
        ids = [id(op) for op in got]
        if sorted(ids) != sorted(id(op) for op in expected):
            missing = [op.label() for op in expected if id(op) not in ids]
            repeated = len(ids) != len(set(ids))
            fail(exercise, f"on the graph {title}, the order should contain each of the {len(expected)} operations "
                            f"exactly once; " + (f"missing: {missing}" if missing else "") + ("; some appear twice" if repeated else "")
                            + ".")
        position = {id(op): i for i, op in enumerate(got)}
        for op in got:
            for v in op.inputs:
                if v.producer is not None and position[id(v.producer)] > position[id(op)]:
                    _show_graph(output, [op, v.producer], f"{exercise}: {op.label()} was listed before "
                                                          f"{v.producer.label()}, which it depends on")
                    fail(exercise, f"on the graph {title}, {op.label()} comes before {v.producer.label()}, "
                                    f"which produces one of its inputs: visit a node's inputs first (depth-first, post-order).")
    safe.verify(exercise)  # again: the student code that just ran may have tampered


def example_graphs():
    """Graphs from the lecture notes, built with mini_autograd's reference operations."""

    def reuse():  # f(x, y) = x (x + y)^2
        x, y = _Variable(2.0), _Variable(1.0)
        return {"x": x, "y": y}, x * (x + y) ** 2

    def nested():  # g(f(X, h(Z, W))) with g(K) = K^2, f = XY, h = Z + W
        X, Z, W = _Variable(2.0), _Variable(2.0), _Variable(3.0)
        return {"X": X, "Z": Z, "W": W}, (X * (Z + W)) ** 2

    def lecture():  # sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2))
        x = _Variable(0.7)
        a = x**2
        c = a + ag.exp(a)
        return {"x": x}, ag.sqrt(c) + ag.cos(c)

    def layer():  # mean squared error of a small linear layer with bias
        rng = safe.np_random_default_rng(3)
        W, b = _Variable(rng.normal(size=(3, 2))), _Variable(rng.normal(size=2))
        X, Y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
        return {"W": W, "b": b}, ag.mse_loss(ag.tanh(X @ W + b), Y)

    def diamond():  # one value feeding two branches that meet again, twice
        x = _Variable([0.5, -1.0])
        h = ag.sin(x)
        k = h * h + ag.exp(h)
        return {"x": x}, (k * h).sum() + k.mean()

    return [("x (x + y)^2", reuse), ("g(f(X, h(Z, W)))", nested), ("sqrt(c) + cos(c)", lecture),
            ("tanh(X W + b)", layer), ("a diamond", diamond)]
