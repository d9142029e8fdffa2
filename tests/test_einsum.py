"""einsum and tensordot: values against numpy, gradients against finite differences,
forward mode against reverse mode, and error messages for bad subscripts."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mini_autograd as ag


def reverse_jacobians(f, *arrays):
    """One Jacobian per input (out.shape + input.shape), from one-hot backward seeds."""
    inputs = [ag.Variable(a) for a in arrays]
    out = f(*inputs)
    out_shape = np.shape(out.value)
    jacobians = [np.zeros(out_shape + np.shape(a)) for a in arrays]
    for index in np.ndindex(out_shape):
        seed = np.zeros(out_shape)
        seed[index] = 1.0
        grads = ag.compute_gradients(out, seed)
        for k, variable in enumerate(inputs):
            if grads.get(variable) is not None:
                jacobians[k][index] = grads[variable]
    return jacobians


def operands_for(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.5, 1.5, size=shape) for shape in shapes]


def numpy_einsum(subscripts, *arrays):
    """np.einsum; numpy's default (C) path refuses an ellipsis left out of the output, while its
    optimize=True path accepts it and sums the ellipsis axes, which is what ag.einsum does."""
    try:
        return np.einsum(subscripts, *arrays)
    except ValueError as error:
        if "no '...' ellipsis provided" not in str(error):
            raise
        return np.einsum(subscripts, *arrays, optimize=True)


def check_einsum(subscripts, shapes, seed=0):
    """Value equals np.einsum; gradcheck passes for every operand; forward mode equals reverse."""
    arrays = operands_for(shapes, seed)
    f = lambda *xs: ag.einsum(subscripts, *xs)
    out = f(*[ag.Variable(a) for a in arrays])
    expected = numpy_einsum(subscripts, *arrays)
    assert np.shape(out.value) == np.shape(expected), f"{subscripts}: shape {np.shape(out.value)} vs numpy {np.shape(expected)}"
    np.testing.assert_allclose(out.value, expected, rtol=1e-12, atol=1e-12)

    ag.gradcheck(f, *arrays)  # full Jacobian for every operand (raises on failure)

    reverse = reverse_jacobians(f, *arrays)
    for k in range(len(arrays)):
        def only_k(x, k=k):
            args = [ag.constant(a) for a in arrays]
            args[k] = x
            return f(*args)

        forward = ag.jacobian(only_k, arrays[k], mode="forward")
        np.testing.assert_allclose(forward, reverse[k], atol=1e-10, rtol=1e-8, err_msg=f"{subscripts}: forward vs reverse, operand {k}")

    # All tangents at once: jvp is the sum of the partial Jacobians applied to the tangents.
    rng = np.random.default_rng(seed + 1)
    tangents = [rng.standard_normal(np.shape(a)) for a in arrays]
    _, tangent = ag.jvp(f, arrays, tangents)
    expected_tangent = sum(np.tensordot(J, t, axes=np.ndim(t)) for J, t in zip(reverse, tangents))
    np.testing.assert_allclose(tangent, expected_tangent, atol=1e-10, rtol=1e-8, err_msg=f"{subscripts}: jvp")


EINSUM_CASES = [
    # explicit and implicit output
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ij", [(2, 3)]),
    ("ji", [(2, 3)]),  # implicit output is alphabetical: a transpose
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ba,ab", [(2, 3), (3, 2)]),
    ("ba,ab->ba", [(2, 3), (3, 2)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("i,i", [(4,)]*2),
    ("i,i->", [(4,)]*2),
    ("i,i->i", [(4,)]*2),
    ("i,j->ij", [(3,), (4,)]),  # outer product
    ("i,j", [(3,), (4,)]),
    ("ij,kl->ijkl", [(2, 2), (3, 1)]),
    ("Ab,bC->AC", [(2, 3), (3, 2)]),  # uppercase letters
    ("Ab,bC", [(2, 3), (3, 2)]),  # implicit: uppercase sorts before lowercase, as in numpy
    ("aA,Aa->", [(2, 3), (3, 2)]),
    ("zZ,Zy", [(2, 3), (3, 2)]),
    (",ij->ij", [(), (2, 3)]),  # a 0-d operand
    (",", [(), ()]),
    ("->", [()]),
    # ellipsis
    ("...ij,...jk->...ik", [(2, 2, 3), (2, 3, 4)]),
    ("...ij,...jk", [(2, 2, 3), (2, 3, 4)]),
    ("...ij,...jk->...ik", [(1, 2, 3), (4, 3, 2)]),  # ellipsis dims of size 1 vs n broadcast
    ("...ij,...jk->...ik", [(2, 3), (5, 3, 2)]),  # ellipsis of different lengths
    ("...ij,jk->...ik", [(2, 1, 2, 3), (3, 2)]),
    ("...ij,...jk->ik", [(2, 2, 3), (2, 3, 4)]),  # ellipsis left out of the output: summed
    ("...i->i", [(2, 3, 4)]),
    ("...i->...", [(2, 3, 4)]),
    ("i...->...i", [(2, 3, 4)]),
    ("i...", [(2, 3, 4)]),
    ("...", [(2, 3)]),
    ("...,...->...", [(2, 1), (3,)]),
    ("i...j,j...->...i", [(2, 3, 4), (4, 3)]),
    ("a...a->...a", [(3, 2, 3)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("...ij->", [(2, 2, 3)]),
    # several operands
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ij,jk,kl", [(2, 3), (3, 4), (4, 2)]),
    ("i,j,k->ijk", [(2,), (3,), (2,)]),
    ("ij,jk,kl,lm->im", [(2, 3), (3, 2), (2, 3), (3, 2)]),
    ("ab,bc,cd,d->a", [(2, 3), (3, 2), (2, 4), (4,)]),
    ("i,i,i->", [(3,)]*3),
    ("a,a,a,a->a", [(3,)]*4),
    # repeated indices inside one operand
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("bii->bi", [(2, 3, 3)]),
    ("bii->b", [(2, 3, 3)]),
    ("bii", [(2, 3, 3)]),
    ("iij->ij", [(3, 3, 2)]),
    ("iji->j", [(3, 2, 3)]),
    ("iji->ij", [(3, 2, 3)]),
    ("iii->i", [(2, 2, 2)]),
    ("iii->", [(2, 2, 2)]),
    ("ijij->ij", [(2, 3, 2, 3)]),
    ("ijji->", [(2, 3, 3, 2)]),
    ("ii,i->i", [(3, 3), (3,)]),
    ("ii,jj->ij", [(3, 3), (2, 2)]),
    ("ii,ij->j", [(3, 3), (3, 2)]),
    # explicit label size-1 broadcasting
    ("ij,jk->ik", [(2, 1), (3, 4)]),
    ("ij,jk->ik", [(2, 3), (1, 4)]),
    ("ij,ij->ij", [(2, 1), (1, 3)]),
    ("ij,ij->i", [(1, 3), (2, 3)]),
    ("ij,jk,k->ij", [(2, 1), (3, 4), (1,)]),
    ("i,i->i", [(1,), (4,)]),
    ("ii,i->i", [(3, 3), (1,)]),
    # the seeds' examples
    ("abc,bad->ab", [(2, 3, 2), (3, 2, 4)]),
    ("ik,ikj->ij", [(2, 3), (2, 3, 4)]),
    ("abcd,daa,be->ade", [(2, 3, 2, 3), (3, 2, 2), (3, 2)]),
    ("abcd,daa,be", [(2, 3, 2, 3), (3, 2, 2), (3, 2)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("bhqd,bhkd->bhqk", [(1, 2, 3, 2), (1, 2, 2, 2)]),
    ("  ij , jk -> ik ", [(2, 3), (3, 2)]),  # spaces are ignored, as numpy does
]


@pytest.mark.parametrize("subscripts,shapes", EINSUM_CASES, ids=[f"{s.strip()}|{'|'.join(map(str, sh))}" for s, sh in EINSUM_CASES])
def test_einsum_value_gradients_and_forward_mode(subscripts, shapes):
    check_einsum(subscripts, shapes)


@pytest.mark.parametrize(
    "omitted,kept,shapes,ellipsis_axes",
    [
        ("...ij,...jk->ik", "...ij,...jk->...ik", [(2, 2, 3), (2, 3, 4)], (0,)),
        ("...i->i", "...i->...i", [(2, 3, 4)], (0, 1)),
        ("...ij->", "...ij->...", [(2, 2, 3)], (0,)),
        ("...ij,jk->ik", "...ij,jk->...ik", [(2, 1, 2, 3), (3, 2)], (0, 1)),
    ],
)
def test_ellipsis_left_out_of_the_output_is_summed(omitted, kept, shapes, ellipsis_axes):
    """Independent of numpy's optimize path: omitting '...' equals keeping it and summing it."""
    arrays = operands_for(shapes, 2)
    expected = np.einsum(kept, *arrays).sum(axis=ellipsis_axes)
    np.testing.assert_allclose(ag.einsum(omitted, *[ag.Variable(a) for a in arrays]).value, expected, rtol=1e-12)


def test_einsum_same_operand_twice():
    x = operands_for([(3, 3)], 5)[0]
    f = lambda v: ag.einsum("ij,jk->ik", v, v)
    np.testing.assert_allclose(f(ag.Variable(x)).value, x @ x, rtol=1e-12)
    ag.gradcheck(f, x)
    np.testing.assert_allclose(ag.jacobian(f, x, mode="forward"), ag.jacobian(f, x, mode="reverse"), atol=1e-12)


def test_einsum_with_constant_operands_only_grads_the_variable():
    a, b = operands_for([(2, 3), (3, 4)], 6)
    x = ag.Variable(a)
    out = ag.einsum("ij,jk->ik", x, b)  # an ndarray operand becomes a constant
    out.sum().backward()
    np.testing.assert_allclose(x.grad, np.ones((2, 4)) @ b.T, rtol=1e-12)


def test_einsum_float32_stays_float32():
    a, b = (x.astype(np.float32) for x in operands_for([(2, 3), (3, 3)], 7))
    va, vb = ag.Variable(a), ag.Variable(b)
    out = ag.einsum("ij,jj->ij", va, vb)
    assert out.dtype == np.float32
    out.sum().backward()
    assert va.grad.dtype == np.float32 and vb.grad.dtype == np.float32


# --- random subscripts ------------------------------------------------------------------


@st.composite
def einsum_problems(draw):
    """(subscripts, shapes): 1-3 operands with random letters (repeats allowed), optional
    '...' with broadcasting, implicit or explicit output, sizes 1-3; occasionally an axis of
    size 1 that broadcasts against its letter, or one whose size clashes."""
    pool = draw(st.lists(st.sampled_from("abcdeXY"), min_size=1, max_size=4, unique=True))
    size = {c: draw(st.integers(1, 3)) for c in pool}
    n_operands = draw(st.integers(1, 3))
    use_ellipsis = draw(st.booleans())
    ellipsis_shape = draw(st.lists(st.integers(1, 3), max_size=2)) if use_ellipsis else []
    terms, shapes = [], []
    for _ in range(n_operands):
        letters = draw(st.lists(st.sampled_from(pool), max_size=3))  # may repeat a letter
        shape = [size[c] for c in letters]
        term = "".join(letters)
        if use_ellipsis and draw(st.booleans()):
            # a suffix of the ellipsis dims, each either its full size or 1 (broadcast)
            n = draw(st.integers(0, len(ellipsis_shape)))
            dims = [d if draw(st.booleans()) else 1 for d in ellipsis_shape[len(ellipsis_shape) - n :]]
            at = draw(st.integers(0, len(letters)))
            term = term[:at] + "..." + term[at:]
            shape = shape[:at] + dims + shape[at:]
        # Now and then an axis of size 1 (numpy broadcasts it) or of a clashing size (an error).
        shape = [draw(st.sampled_from([1, 1, 2, 3])) if draw(st.integers(0, 9)) == 0 else d for d in shape]
        terms.append(term)
        shapes.append(tuple(shape))
    subscripts = ",".join(terms)
    if draw(st.booleans()):
        used = sorted(set("".join(terms).replace(".", "")))
        out = draw(st.permutations(used)) if used else []
        out = "".join(out[: draw(st.integers(0, len(out)))])
        if any("..." in t for t in terms) and draw(st.booleans()):
            at = draw(st.integers(0, len(out)))
            out = out[:at] + "..." + out[at:]
        subscripts += "->" + out
    return subscripts, shapes


@settings(max_examples=60, deadline=None)
@given(problem=einsum_problems(), seed=st.integers(0, 2**16))
def test_property_random_subscripts(problem, seed):
    subscripts, shapes = problem
    arrays = operands_for(shapes, seed)
    try:
        expected = numpy_einsum(subscripts, *arrays)
    except ValueError:
        # numpy rejects it (sizes that do not broadcast); so must we, naming subscripts and shapes
        with pytest.raises(ValueError, match=re.escape(repr(subscripts))) as info:
            ag.einsum(subscripts, *[ag.Variable(a) for a in arrays])
        assert all(str(shape) in str(info.value) for shape in shapes), str(info.value)
        return
    f = lambda *xs: ag.einsum(subscripts, *xs)
    out = f(*[ag.Variable(a) for a in arrays])
    assert np.shape(out.value) == np.shape(expected)
    np.testing.assert_allclose(out.value, expected, rtol=1e-10, atol=1e-12)
    ag.gradcheck(f, *arrays)
    reverse = reverse_jacobians(f, *arrays)
    rng = np.random.default_rng(seed)
    tangents = [rng.standard_normal(np.shape(a)) for a in arrays]
    _, tangent = ag.jvp(f, arrays, tangents)
    np.testing.assert_allclose(tangent, sum(np.tensordot(J, t, axes=np.ndim(t)) for J, t in zip(reverse, tangents)), atol=1e-10, rtol=1e-8)


# --- tensordot ---------------------------------------------------------------------------

TENSORDOT_CASES = [
    ((2, 3), (4, 5), 0),
    ((3,), (2,), 0),
    ((2, 3), (3, 4), 1),
    ((2, 3, 4), (4, 2), 1),
    ((2, 3, 4), (3, 4, 2), 2),
    ((3, 4), (3, 4), 2),
    ((2, 3, 4), (2, 3, 4), 3),
    ((2, 3, 4), (4, 3, 2), ([1, 2], [1, 0])),
    ((2, 3, 4), (3, 2), ([0, 1], [1, 0])),
    ((2, 3, 4), (4, 2), ([-1], [0])),
    ((2, 3, 4), (3, 2), ([-3, -2], [-1, -2])),
    ((3, 4), (4, 3), (1, 0)),
    ((3, 4), (4, 3), ([0, 1], [1, 0])),
    ((3, 4), (2,), ([], [])),
]


@pytest.mark.parametrize("sa,sb,axes", TENSORDOT_CASES, ids=[f"{sa}x{sb}-axes={axes}" for sa, sb, axes in TENSORDOT_CASES])
def test_tensordot(sa, sb, axes):
    a, b = operands_for([sa, sb], 3)
    f = lambda x, y: ag.tensordot(x, y, axes)
    out = f(ag.Variable(a), ag.Variable(b))
    expected = np.tensordot(a, b, axes)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.value, expected, rtol=1e-12, atol=1e-12)
    ag.gradcheck(f, a, b)
    reverse = reverse_jacobians(f, a, b)
    np.testing.assert_allclose(ag.jacobian(lambda x: f(x, ag.constant(b)), a, mode="forward"), reverse[0], atol=1e-10)
    np.testing.assert_allclose(ag.jacobian(lambda y: f(ag.constant(a), y), b, mode="forward"), reverse[1], atol=1e-10)


def test_tensordot_default_axes_is_2():
    a, b = operands_for([(2, 3, 4), (3, 4, 2)], 4)
    np.testing.assert_allclose(ag.tensordot(ag.Variable(a), b).value, np.tensordot(a, b), rtol=1e-12)


@pytest.mark.parametrize("sa,sb,axes", [((2, 3), (4, 5), 1), ((2, 3), (3,), 2), ((2, 3), (3, 2), ([0], [0, 1])), ((2, 3), (3, 2), -1)])
def test_tensordot_bad_axes_raise_with_shapes(sa, sb, axes):
    a, b = operands_for([sa, sb], 0)
    with pytest.raises(ValueError) as info:
        ag.tensordot(ag.Variable(a), ag.Variable(b), axes)
    message = str(info.value)
    assert str(sa) in message or str(len(sa)) in message, message


# --- errors ---------------------------------------------------------------------------------

BAD_SUBSCRIPTS = [
    ("too-few-operands", "ij,jk->ik", [(2, 3)]),
    ("too-many-operands", "ij->i", [(2, 3), (3, 4)]),
    ("too-many-indices", "ijk,jk->ik", [(2, 3), (3, 4)]),
    ("too-few-indices", "i,jk->ik", [(2, 3), (3, 4)]),
    ("indices-for-0d", "i->i", [()]),
    ("ellipsis-too-many-indices", "...ijk->i", [(2, 3)]),
    ("mismatched-sizes", "ij,jk->ik", [(2, 3), (4, 5)]),
    ("mismatched-sizes-repeat", "ii->i", [(2, 3)]),
    ("mismatched-sizes-3-operands", "ij,jk,kl->il", [(2, 3), (3, 4), (5, 2)]),
    ("output-letter-not-in-inputs", "ij,jk->iz", [(2, 3), (3, 4)]),
    ("repeated-output-letter", "ij->ii", [(2, 2)]),
    ("invalid-character-digit", "i1,jk->ik", [(2, 3), (3, 4)]),
    ("invalid-character-symbol", "ij,j#->i", [(2, 3), (3, 4)]),
    ("invalid-arrow", "ij->i->j", [(2, 3)]),
    ("dangling-dot", "i.j->i", [(2, 3)]),
    ("ellipsis-size-mismatch", "...i,...i->...i", [(2, 3), (4, 3)]),
]


@pytest.mark.parametrize("name,subscripts,shapes", BAD_SUBSCRIPTS, ids=[b[0] for b in BAD_SUBSCRIPTS])
def test_bad_subscripts_raise_naming_subscripts_and_shapes(name, subscripts, shapes):
    arrays = operands_for(shapes)
    with pytest.raises(ValueError):  # numpy rejects each of these too
        np.einsum(subscripts, *arrays)
    with pytest.raises((ValueError, TypeError)) as info:
        ag.einsum(subscripts, *[ag.Variable(a) for a in arrays])
    message = str(info.value)
    assert subscripts in message, f"message does not name the subscripts: {message}"
    for shape in shapes:
        assert str(shape) in message, f"message does not name shape {shape}: {message}"


def test_non_string_subscripts_raise_type_error():
    with pytest.raises(TypeError, match="subscripts"):
        ag.einsum(["ij"], ag.Variable(np.ones((2, 2))))


def test_tensordot_of_6d_operands():
    a, b = operands_for([(1, 2, 1, 2, 1, 2), (2, 1, 2, 1, 2, 1)], 9)
    np.testing.assert_allclose(ag.tensordot(ag.Variable(a), b, 3).value, np.tensordot(a, b, 3), rtol=1e-12)
    ag.gradcheck(lambda x, y: ag.tensordot(x, y, 3), a, b)


# --- the engine's rule is the notebook's rule ---------------------------------------------


def notebook_einsum_backward(subscripts, operands, grad, k):
    """Assignment 3's einsum backward, as students write it: the same einsum with the output's
    gradient in the place of operand k and its subscripts as the output; vectors of ones copy
    along letters summed away in the forward pass; a repeated letter writes into a diagonal."""
    terms, output = subscripts.split("->")[0].split(","), subscripts.split("->")[1]
    other_terms, other_operands = terms[:k] + terms[k + 1:], operands[:k] + operands[k + 1:]
    term, x = terms[k], operands[k]
    unique = "".join(dict.fromkeys(term))
    ones = {c: np.ones(n) for c, n in zip(term, np.shape(x)) if c not in output + "".join(other_terms)}
    spec = ",".join([output, *other_terms, *ones]) + "->" + unique
    partial = np.einsum(spec, grad, *other_operands, *ones.values())
    if unique == term:
        return partial
    result = np.zeros(np.shape(x))
    np.einsum(term + "->" + unique, result)[...] = partial
    return result


@st.composite
def explicit_letter_problems(draw):
    """Explicit subscripts of letters only (repeats within a term allowed), one size per letter."""
    pool = draw(st.lists(st.sampled_from("abcdij"), min_size=1, max_size=4, unique=True))
    size = {c: draw(st.integers(1, 3)) for c in pool}
    terms = [draw(st.lists(st.sampled_from(pool), max_size=4)) for _ in range(draw(st.integers(1, 3)))]
    used = sorted(set(c for t in terms for c in t))
    out = draw(st.permutations(used)) if used else []
    out = out[: draw(st.integers(0, len(out)))]
    subscripts = ",".join("".join(t) for t in terms) + "->" + "".join(out)
    return subscripts, [tuple(size[c] for c in t) for t in terms]


@settings(max_examples=80, deadline=None)
@given(problem=explicit_letter_problems(), seed=st.integers(0, 2**16))
def test_engine_gradients_equal_the_notebook_rule(problem, seed):
    subscripts, shapes = problem
    arrays = operands_for(shapes, seed)
    variables = [ag.Variable(a) for a in arrays]
    out = ag.einsum(subscripts, *variables)
    grad = np.random.default_rng(seed + 1).standard_normal(np.shape(out.value))
    grads = ag.compute_gradients(out, grad)
    for k, (v, a) in enumerate(zip(variables, arrays)):
        expected = notebook_einsum_backward(subscripts, arrays, grad, k)
        got = grads.get(v, np.zeros_like(a))
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=f"{subscripts} {shapes}, operand {k}")


def test_diagonal_gradient_leaves_the_output_gradient_alone():
    """'ii->i': the gradient is written into a fresh zero array, never into the caller's grad."""
    x = ag.Variable(np.arange(9.0).reshape(3, 3))
    seed = np.array([1.0, 2.0, 3.0])
    ag.einsum("ii->i", x).backward(seed)
    np.testing.assert_array_equal(x.grad, np.diag(seed))
    np.testing.assert_array_equal(seed, [1.0, 2.0, 3.0])
