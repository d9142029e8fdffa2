"""Submissions for 03_einsum: typical mistakes, correct variants, tampering (format: banks/__init__.py)."""

ASSIGNMENT = "03_einsum"

ALL_TESTS = ["ex1a-tests", "ex1b-tests", "ex2a-tests", "ex2b-tests", "ex3a-tests", "ex3b-tests", "ex4-tests",
             "ex5-tests", "ex6a-tests", "ex6b-tests", "ex7-tests"]


def _from(grade_id):
    """The test cells from grade_id on (the ones that run after a tampering in an earlier cell)."""
    return ALL_TESTS[ALL_TESTS.index(grade_id):]


MUTANTS = [
    dict(name="matvec: W not transposed in dx", cell="ex1a-solution",
         old="dx = W.T @ grad", new="dx = W @ grad", breaks=["ex1a-tests"]),
    dict(name="matvec: outer product the wrong way round (dW = x grad^T)", cell="ex1a-solution",
         old="dW = np.outer(grad, x)", new="dW = np.outer(x, grad)", breaks=["ex1a-tests"]),
    dict(name="matmul: B instead of B.T", cell="ex1b-solution",
         old="dA = grad @ B.T", new="dA = grad @ B", breaks=["ex1b-tests"]),
    dict(name="matmul: dB transposed", cell="ex1b-solution",
         old="dB = A.T @ grad", new="dB = grad.T @ A", breaks=["ex1b-tests"]),
    dict(name="unbroadcast forgets the axes of size 1", cell="ex2a-solution",
         old="    return grad.sum(axis=stretched, keepdims=True)", new="    return grad", breaks=["ex2a-tests"]),
    dict(name="unbroadcast averages instead of summing", cell="ex2a-solution",
         old="grad = grad.sum(axis=tuple(range(leading)))", new="grad = grad.mean(axis=tuple(range(leading)))",
         breaks=["ex2a-tests"]),
    dict(name="bias gradient not summed over the batch", cell="ex2b-solution",
         old="db = grad.sum(axis=0)", new="db = grad", breaks=["ex2b-tests"]),
    dict(name="bias gradient is the mean over the batch", cell="ex2b-solution",
         old="db = grad.sum(axis=0)", new="db = grad.mean(axis=0)", breaks=["ex2b-tests"]),
    dict(name="einsum backward: output letters in sorted order, not the operand's", cell="ex3-solution",
         old='spec = ",".join([output] + others + missing) + "->" + unique',
         new='spec = ",".join([output] + others + missing) + "->" + "".join(sorted(unique))',
         breaks=["ex3a-tests", "ex3b-tests"]),
    dict(name="einsum backward: letters summed away are not copied back", cell="ex3-solution",
         old='''    missing = [c for c in unique if c not in available]''',
         new='''    missing = []''', breaks=["ex3a-tests", "ex3b-tests"]),
    dict(name="einsum backward: repeated letters ignored (part a only)", cell="ex3-solution",
         old='''    if unique == term:
        return partial''', new='''    return partial''', breaks=["ex3b-tests"]),
    dict(name="einsum backward: repeated letter fills the whole operand, not its diagonal", cell="ex3-solution",
         old='''    result = np.zeros(np.shape(x))
    np.einsum(term + "->" + unique, result)[...] = partial
    return result''',
         new='''    expanded = partial.reshape(partial.shape + (1,) * (len(term) - len(unique)))
    return np.broadcast_to(expanded, np.shape(x)).copy()''', breaks=["ex3b-tests"]),
    dict(name="batched matmul: dM summed over the batch", cell="ex4-solution",
         old='dM = np.einsum("ik,ij->ikj", X, grad)', new='dM = np.einsum("ik,ij->kj", X, grad)', breaks=["ex4-tests"]),
    dict(name="batched matmul: dM summed over the batch, then copied to every example", cell="ex4-solution",
         old='dM = np.einsum("ik,ij->ikj", X, grad)',
         new='dM = np.broadcast_to(np.einsum("ik,ij->kj", X, grad), M.shape)', breaks=["ex4-tests"]),
    dict(name="tensordot: dB with its axes in the wrong order", cell="ex5-solution",
         old="dB = np.tensordot(A, grad, axes=(list(range(p)), list(range(p))))",
         new="dB = np.tensordot(grad, A, axes=(list(range(p)), list(range(p))))", breaks=["ex5-tests"]),
    dict(name="tensordot: dA contracts the contracted axes of B instead of its free ones", cell="ex5-solution",
         old="dA = np.tensordot(grad, B, axes=(list(range(p, p + q)), list(range(axes, B.ndim))))",
         new="dA = np.tensordot(grad, B, axes=(list(range(p, p + q)), list(range(q))))", breaks=["ex5-tests"]),
    dict(name="softmax Jacobian: diagonal only (missing -s_i s_j)", cell="ex6a-solution",
         old="return np.diag(s) - np.outer(s, s)", new="return np.diag(s * (1 - s))", breaks=["ex6a-tests"]),
    dict(name="softmax Jacobian: -s_i s_j on the diagonal too (missing delta_ij)", cell="ex6a-solution",
         old="return np.diag(s) - np.outer(s, s)", new="return -np.outer(s, s)", breaks=["ex6a-tests"]),
    dict(name="softmax Jacobian: no max subtracted (overflows at large logits)", cell="ex6a-solution",
         old="e = np.exp(x - np.max(x))", new="e = np.exp(x)", breaks=["ex6a-tests"]),
    dict(name="softmax VJP forgets the subtraction term", cell="ex6b-solution",
         old="return s * (grad - np.sum(grad * s, axis=-1, keepdims=True))", new="return s * grad",
         breaks=["ex6b-tests"]),
    dict(name="softmax VJP uses the diagonal of the Jacobian only", cell="ex6b-solution",
         old="return s * (grad - np.sum(grad * s, axis=-1, keepdims=True))", new="return s * (1 - s) * grad",
         breaks=["ex6b-tests"]),
    dict(name="softmax VJP sums over the whole batch, not per row", cell="ex6b-solution",
         old="np.sum(grad * s, axis=-1, keepdims=True)", new="np.sum(grad * s)", breaks=["ex6b-tests"]),
    dict(name="per-example gradients summed over the batch", cell="ex7-solution",
         old='np.einsum("bi,bj->bij", X, grad_out)', new='np.einsum("bi,bj->ij", X, grad_out)', breaks=["ex7-tests"]),
    dict(name="per-example gradients transposed (grad_out x^T)", cell="ex7-solution",
         old='np.einsum("bi,bj->bij", X, grad_out)', new='np.einsum("bi,bj->bji", X, grad_out)', breaks=["ex7-tests"]),
]

VARIANTS = [
    dict(name="matvec with broadcasting", cell="ex1a-solution", source='''
def matvec_backward(W, x, grad):
    return grad[:, None] * x[None, :], np.sum(W * grad[:, None], axis=0)
'''),
    dict(name="matmul backward written with einsum", cell="ex1b-solution", source='''
def matmul_backward(A, B, grad):
    dA = np.einsum("nm,km->nk", grad, B)
    dB = np.einsum("nk,nm->km", A, grad)
    return dA, dB
'''),
    dict(name="unbroadcast one axis at a time", cell="ex2a-solution", source='''
def unbroadcast(grad, shape):
    grad = np.array(grad, dtype=float)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad.reshape(shape)
'''),
    dict(name="bias gradient via ones @ grad", cell="ex2b-solution",
         old="db = grad.sum(axis=0)", new="db = np.ones(X.shape[0]) @ grad"),
    dict(name="einsum backward with broadcast_to and diagonal indices", cell="ex3-solution", source='''
def einsum_backward(subscripts, operands, grad, k):
    inputs, output = subscripts.replace(" ", "").split("->")
    terms = inputs.split(",")
    term = terms[k]
    shape = np.shape(operands[k])
    letters = []
    for c in term:
        if c not in letters:
            letters.append(c)
    others = [t for i, t in enumerate(terms) if i != k]
    known = [c for c in letters if c in output or any(c in t for t in others)]
    spec = ",".join([output] + others) + "->" + "".join(known)
    values = np.einsum(spec, grad, *[o for i, o in enumerate(operands) if i != k])
    # axes summed away in the forward pass: copy along them
    values = values.reshape([shape[term.index(c)] if c in known else 1 for c in letters])
    values = np.broadcast_to(values, [shape[term.index(c)] for c in letters])
    if len(letters) == len(term):
        return np.array(values)
    result = np.zeros(shape)
    for index in np.ndindex(*values.shape):
        position = tuple(index[letters.index(c)] for c in term)
        result[position] = values[index]
    return result
'''),
    dict(name="batched matvec with matmul and broadcasting", cell="ex4-solution", source='''
def batched_matvec_backward(X, M, grad):
    dX = (M @ grad[:, :, None])[:, :, 0]
    dM = X[:, :, None] * grad[:, None, :]
    return dX, dM
'''),
    dict(name="tensordot backward via moveaxis and reshape to matrices", cell="ex5-solution", source='''
def tensordot_backward(A, B, grad, axes):
    free_a = A.shape[:A.ndim - axes]
    contracted = A.shape[A.ndim - axes:]
    free_b = B.shape[axes:]
    n, k, m = int(np.prod(free_a)), int(np.prod(contracted)), int(np.prod(free_b))
    A2, B2, G2 = A.reshape(n, k), B.reshape(k, m), grad.reshape(n, m)
    return (G2 @ B2.T).reshape(A.shape), (A2.T @ G2).reshape(B.shape)
'''),
    dict(name="tensordot backward via generated einsum subscripts", cell="ex5-solution", source='''
import string


def tensordot_backward(A, B, grad, axes):
    letters = string.ascii_letters
    a_free = letters[:A.ndim - axes]
    c = letters[A.ndim - axes:A.ndim]
    b_free = letters[A.ndim:A.ndim + B.ndim - axes]
    a_term, b_term, z_term = a_free + c, c + b_free, a_free + b_free
    dA = np.einsum(f"{z_term},{b_term}->{a_term}", grad, B)
    dB = np.einsum(f"{a_term},{z_term}->{b_term}", A, grad)
    return dA, dB
'''),
    dict(name="softmax shifted by its log-sum-exp instead of its max", cell="ex6a-solution", source='''
def softmax_jacobian(x):
    m = np.max(x)
    log_s = x - (m + np.log(np.sum(np.exp(x - m))))
    s = np.exp(log_s)
    J = -s[:, None] * s[None, :]
    J[np.arange(len(s)), np.arange(len(s))] += s
    return J
'''),
    dict(name="softmax VJP via the explicit Jacobian (fine for small inputs)", cell="ex6b-solution", source='''
def softmax_vjp(s, grad):
    eye = np.eye(s.shape[-1])
    J = s[..., :, None] * (eye - s[..., None, :])  # J[..., i, j] = ds_i / dx_j
    return np.einsum("...ij,...i->...j", J, grad)
'''),
    dict(name="per-example gradients by broadcasting", cell="ex7-solution", source='''
def per_example_gradients(X, grad_out):
    return X[:, :, np.newaxis] * grad_out[:, np.newaxis, :]
'''),
]

TAMPERING = [
    dict(name="rebinds np.allclose and np.testing.assert_allclose", cell="ex1a-solution",
         old="def matvec_backward(W, x, grad):",
         new="""np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None

def matvec_backward(W, x, grad):""",
         breaks=_from("ex1a-tests")),
    dict(name="replaces check_vjp in the notebook namespace", cell="ex3-solution",
         old="def einsum_backward(subscripts, operands, grad, k):",
         new="""check_vjp = lambda *args, **kwargs: None

def einsum_backward(subscripts, operands, grad, k):""",
         breaks=_from("ex3a-tests")),
    dict(name="monkeypatches ag.einsum and the Einsum backward pass", cell="ex4-solution",
         old="def batched_matvec_backward(X, M, grad):",
         new="""ag.einsum = lambda subscripts, *operands: ag.Variable(np.zeros(1))
ag.ops.Einsum.backward = lambda self, grad: tuple(np.zeros(np.shape(o)) for o in self.operands)

def batched_matvec_backward(X, M, grad):""",
         breaks=_from("ex4-tests")),
    dict(name="silences the feedback's comparison", cell="ex5-solution",
         old="def tensordot_backward(A, B, grad, axes):",
         new="""import autograder.checks.gradients
import autograder.checks.messages
autograder.checks.messages.worst_mismatch = lambda *args, **kwargs: None
autograder.checks.gradients.worst_mismatch = lambda *args, **kwargs: None

def tensordot_backward(A, B, grad, axes):""",
         breaks=_from("ex5-tests")),  # caught once the snapshot covers autograder.checks.gradients
    dict(name="replaces ag.softmax so that the expected values are zeros", cell="ex6a-solution",
         old="def softmax_jacobian(x):",
         new="""ag.softmax = lambda x, axis=-1: ag.Variable(np.zeros(np.shape(x)))

def softmax_jacobian(x):""",
         breaks=_from("ex6a-tests")),
    dict(name="prints fake success and returns zeros", cell="ex7-solution", source='''
print("Exercise 7: all tests passed (10/10)")

def per_example_gradients(X, grad_out):
    return np.zeros((len(X), X.shape[1], grad_out.shape[1]))
''', breaks=["ex7-tests"]),
]

