"""The worked examples of the lecture notes (shared/seeds), reproduced through the public API."""

import numpy as np
import pytest

import mini_autograd as ag


@pytest.mark.parametrize("x0", [-1.5, -0.3, 0.5, 1.0, 1.2])
def test_sqrt_cos_example_with_intermediate_variables(x0):
    """f(x) = sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2)) via a = x^2, b = exp(a), c = a + b,
    d = sqrt(c), e = cos(c), f = d + e, and the backward pass the notes carry out by hand."""
    x = ag.Variable(x0, name="x")
    a = x**2
    b = ag.exp(a)
    c = a + b
    d = ag.sqrt(c)
    e = ag.cos(c)
    f = d + e
    f.backward()

    cv = x0**2 + np.exp(x0**2)
    assert f.value == pytest.approx(np.sqrt(cv) + np.cos(cv), rel=1e-14)
    df_dc = 1 / (2 * np.sqrt(cv)) - np.sin(cv)
    assert c.grad == pytest.approx(df_dc, rel=1e-12)
    assert b.grad == pytest.approx(df_dc, rel=1e-12)  # dc/db = 1
    assert a.grad == pytest.approx(df_dc * np.exp(x0**2) + df_dc, rel=1e-12)
    closed_form = 2 * x0 * (1 / (2 * np.sqrt(cv)) - np.sin(cv)) * (1 + np.exp(x0**2))
    assert x.grad == pytest.approx(closed_form, rel=1e-12)
    # forward mode gives the same derivative
    _, tangent = ag.jvp(lambda v: ag.sqrt(v**2 + ag.exp(v**2)) + ag.cos(v**2 + ag.exp(v**2)), (x0,), (1.0,))
    assert tangent == pytest.approx(closed_form, rel=1e-12)


def test_nested_functions_g_f_h_example_gives_40():
    """g(K) = K^2, f(X, Y) = XY, h(Z, W) = Z + W: D_W g(f(X, h(Z, W))) at (2, 2, 3) is 40."""
    X, Z, W = ag.Variable(2.0), ag.Variable(2.0), ag.Variable(3.0)
    K = X * (Z + W)
    out = K**2
    out.backward()
    assert W.grad == pytest.approx(40.0)
    assert Z.grad == pytest.approx(40.0)
    assert X.grad == pytest.approx(2 * 2.0 * (2.0 + 3.0) ** 2)  # 2X(Z+W)^2 = 100


def test_reused_input_derivatives_are_summed():
    """g(X) = f(X, 2X) gives D g = D_X f + 2 D_Y f; with f(X, Y) = X Y that is 4X."""
    X = ag.Variable(1.5)
    g = X * (2 * X)
    g.backward()
    assert X.grad == pytest.approx(4 * 1.5)


def test_x_times_x_plus_y_squared():
    """f(x, y) = x (x + y)^2: x is used twice, so its two gradient paths are added."""
    x, y = ag.Variable(2.0), ag.Variable(1.0)
    f = x * (x + y) ** 2
    f.backward()
    assert f.value == pytest.approx(18.0)
    assert x.grad == pytest.approx((2 + 1) ** 2 + 2 * 2 * (2 + 1))  # 21
    assert y.grad == pytest.approx(2 * 2 * (2 + 1))  # 12


def test_vector_input_x1_cubed_x2():
    """Z = x1^3 x2 at x = (2, 3): D_X Z = (3 x1^2 x2, x1^3) = (36, 8)."""
    x = ag.Variable([2.0, 3.0])
    Z = x[0] ** 3 * x[1]
    Z.backward()
    np.testing.assert_allclose(x.grad, [36.0, 8.0])


def test_q_equals_x_plus_y_times_z():
    """f(x, y, z) = (x + y) z with q = x + y: df/dx = df/dy = z, df/dz = q."""
    x, y, z = ag.Variable(-2.0), ag.Variable(5.0), ag.Variable(-4.0)
    f = (x + y) * z
    f.backward()
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)
    assert f.value == -12.0


def test_sigmoid_neuron_example():
    """sigma(w0 x0 + w1 x1 + w2) built from 1/x, 1+x, exp(-x) and a weighted sum: the gradient
    is sigma (1 - sigma) times (x0, x1, 1)."""
    w = ag.Variable([2.0, -3.0, -3.0])
    x = np.array([-1.0, -2.0])
    s = w[0] * x[0] + w[1] * x[1] + w[2]
    out = 1 / (1 + ag.exp(-s))
    out.backward()
    sigma = 1 / (1 + np.exp(-(2 * -1 + -3 * -2 - 3)))
    np.testing.assert_allclose(w.grad, sigma * (1 - sigma) * np.array([-1.0, -2.0, 1.0]), rtol=1e-12)
    assert sigma * (1 - sigma) == pytest.approx(0.19661193324148185)


def test_symbolic_example_exp_xz_at_2_3():
    """y = e^{xz} + xz / ln x + sin(ln x) / (xz) at x = 2, z = 3 (three approaches agree)."""
    def y(x, z):
        return ag.exp(x * z) + x * z / ag.log(x) + ag.sin(ag.log(x)) / (x * z)

    x, z = ag.Variable(2.0), ag.Variable(3.0)
    y(x, z).backward()
    lx = np.log(2.0)
    dy_dx = 3 * np.exp(6) + (3 * lx - 3) / lx**2 + (np.cos(lx) * 3 - np.sin(lx) * 3) / 36
    dy_dz = 2 * np.exp(6) + 2 / lx - np.sin(lx) / (2 * 9)
    assert x.grad == pytest.approx(dy_dx, rel=1e-12)
    assert z.grad == pytest.approx(dy_dz, rel=1e-12)
    numeric = ag.numerical_gradient(y, np.array(2.0), np.array(3.0))
    np.testing.assert_allclose(numeric, (dy_dx, dy_dz), rtol=1e-7)


def test_derivative_matrices_of_vector_functions():
    """D[f](x)_ij = df_j/dx_i, the transpose of our Jacobian J_ji (output axes first)."""
    x1, x2, x3 = 1.5, -2.0, 0.5

    def f(x):
        return ag.stack([x[0] ** 2, x[0] * x[1] * x[2]])

    D = ag.jacobian(f, np.array([x1, x2, x3])).T
    np.testing.assert_allclose(D, [[2 * x1, x2 * x3], [0, x1 * x3], [0, x1 * x2]])

    def g(x):
        return ag.stack([x[1] ** 2, x[0] + x[1], x[0] * x[1]])

    for mode in ("reverse", "forward"):
        D = ag.jacobian(g, np.array([x1, x2]), mode=mode).T
        np.testing.assert_allclose(D, [[0, 1, x2], [2 * x2, 1, x1]])


def test_chain_rule_sqrt_of_x_to_the_fourth():
    """g(f(x)) with f(x) = x^4, g(y) = sqrt(y): the derivative is 2x."""
    for x0 in (0.5, 2.0, 3.0):
        x = ag.Variable(x0)
        ag.sqrt(x**4).backward()
        assert x.grad == pytest.approx(2 * x0)


def test_blog_chain_and_vector_examples():
    """The PyTorch examples of the notes: the chain L = 3 (2x) at x = 5 gives 6; the
    vector function y = (x0 + 2 x1, x1 + 2 x2) summed gives (1, 3, 2)."""
    x = ag.Variable([5.0])
    (3 * (2 * x)).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0])

    x = ag.Variable([1.0, 2.0, 3.0])
    y = ag.stack([x[0] + 2 * x[1], x[1] + 2 * x[2]])
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0, 3.0, 2.0])


def test_blog_products_dot_outer_matrix_vector_matrix_matrix():
    x, y = ag.Variable([1.0, 2.0, 3.0]), ag.Variable([3.0, 2.0, 1.0])
    (x.T @ y).backward()
    np.testing.assert_allclose(x.grad, [3, 2, 1])
    np.testing.assert_allclose(y.grad, [1, 2, 3])

    x, y = ag.Variable([[1.0], [2.0], [3.0]]), ag.Variable([[3.0, 2.0]])
    (x @ y).sum().backward()
    np.testing.assert_allclose(x.grad, [[5], [5], [5]])
    np.testing.assert_allclose(y.grad, [[6, 6]])

    W, x = ag.Variable([[1.0, 2.0], [2.0, 1.0]]), ag.Variable([[1.0], [2.0]])
    (W @ x).sum().backward()
    np.testing.assert_allclose(x.grad, [[3], [3]])
    np.testing.assert_allclose(W.grad, [[1, 2], [1, 2]])

    X = ag.Variable([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    W = ag.Variable([[1.0, 2.0, 3.0], [2.0, 1.0, 3.0], [3.0, 1.0, 2.0]])
    (X @ W).sum().backward()
    np.testing.assert_allclose(X.grad, np.full((2, 3), 6.0))
    np.testing.assert_allclose(W.grad, np.full((3, 3), 4.0))


def test_blog_softmax_negative_log_likelihood():
    """s = (1, 2), p = softmax(s), L = -sum(log p): dL/dp = (-3.7183, -1.3679) and
    dL/ds = (-0.4621, 0.4621), also via the explicit Jacobian J_ij = p_i (delta_ij - p_j)."""
    s = ag.Variable([1.0, 2.0])
    p = ag.softmax(s)
    L = -ag.log(p).sum()
    L.backward()
    np.testing.assert_allclose(p.grad, [-3.7183, -1.3679], atol=1e-4)
    np.testing.assert_allclose(s.grad, [-0.4621, 0.4621], atol=1e-4)
    pv = p.value
    J = np.diag(pv) - np.outer(pv, pv)
    np.testing.assert_allclose(J @ p.grad, s.grad, rtol=1e-12)
    np.testing.assert_allclose(ag.jacobian(ag.softmax, np.array([1.0, 2.0])), J, rtol=1e-12)


def test_linear_layer_vjp_is_outer_product():
    """y = W x, z = v^T y: dz/dW = (dz/dy)^T x^T = v x^T, without forming dy/dW."""
    rng = np.random.default_rng(0)
    W, x, v = rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=4)
    Wv = ag.Variable(W)
    z = (Wv @ x) @ v
    z.backward()
    np.testing.assert_allclose(Wv.grad, np.outer(v, x), rtol=1e-12)


def test_elementwise_sigmoid_vjp_is_elementwise_product():
    """dz/dy = dz/dy_hat * sigma(y)(1 - sigma(y)): the diagonal Jacobian never needs building."""
    y = ag.Variable([-1.0, 0.0, 2.0])
    v = np.array([0.5, -1.0, 2.0])
    (ag.sigmoid(y) @ v).backward()
    sig = 1 / (1 + np.exp(-y.value))
    np.testing.assert_allclose(y.grad, v * sig * (1 - sig), rtol=1e-12)


def test_central_differences_beat_forward_differences():
    """Truncation error: O(h) for forward differences, O(h^2) for central ones."""
    f, exact = np.sin, np.cos(1.0)
    h = 1e-3
    forward = (f(1 + h) - f(1)) / h
    central = ag.numerical_gradient(lambda x: ag.sin(x), np.array(1.0), eps=h)
    assert abs(central - exact) < abs(forward - exact) / 100


def test_binary_cross_entropy_example_shapes():
    """z = x W1 W2 + b with BCE-with-logits against zeros (the notes' PyTorch example):
    gradients have the parameters' shapes and match finite differences."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(10, 5)), np.zeros((10, 1))
    w1, w2, b = rng.normal(size=(5, 3)), rng.normal(size=(3, 1)), rng.normal(size=(1,))
    ag.gradcheck(lambda W1, W2, B: ag.binary_cross_entropy_with_logits(x @ W1 @ W2 + B, y), w1, w2, b)
