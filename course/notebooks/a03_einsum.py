"""Assignment 3: matrix calculus, einsum and tensordot backward, the softmax VJP."""

from .cells import markdown, notebook, scratch, setup, solution, tests

NAME = "03_einsum"


def introduction():
    """The assignment's overview (conventions, the recipe) and the locked setup cell."""
    return [
        markdown(r"""
        # Assignment 3: Matrix calculus, einsum and batched derivatives

        Neural networks are built from operations on whole arrays: matrix products, sums over
        a batch, contractions of tensors, softmax. In this assignment you write the **backward
        functions** of these operations in numpy, the pieces an autodiff engine is made of.

        **Conventions.** $L$ is a scalar (the loss) and for any array $X$ we write
        $\bar X = \partial L / \partial X$. We use the **denominator layout**: the gradient has
        the shape of the variable *in the denominator*, so $\bar W$ has the shape of $W$ and
        $\bar X$ the shape of $X$. A backward function receives the gradient of the output
        (called `grad`) and returns the gradients of the inputs. That is a
        **vector-Jacobian product** (VJP): the Jacobian itself, which would have
        (size of output) $\times$ (size of input) entries and is mostly zeros, is never built.

        **The recipe** that works for every exercise below:

        1. write one entry of the output as a sum over indices, e.g. $Z_{ij} = \sum_k A_{ik} B_{kj}$;
        2. differentiate $L$ with respect to one entry of an input by the chain rule,
           $\bar A_{ik} = \sum_{i', j} \bar Z_{i'j}\, \partial Z_{i'j} / \partial A_{ik} = \sum_j \bar Z_{ij} B_{kj}$;
        3. read the sum back as an array expression: $\bar A = \bar Z B^\top$;
        4. check the shapes: $\bar A$ must have the shape of $A$.

        The exercises are independent: each test calls only the function of its own exercise
        and compares it with numpy and `mini_autograd`'s reference code, so a slip in one
        exercise costs only that exercise (you may reuse your earlier functions, but then a bug
        there costs twice). The tests compare your gradients with **finite differences** (every
        entry of the Jacobian for small inputs) and tell you which input and which element
        went wrong, and the likely cause. Hidden tests use more shapes and seeds, so solve each
        problem in general. Write numpy code (`np.einsum`, `np.tensordot`, `@`); do not call
        `mini_autograd`'s backward passes, they are what you are rebuilding. 100 points in total.
        """, id="intro"),
        setup("""
        import time

        import numpy as np

        import mini_autograd as ag
        from autograder.checks import check_function, check_values, check_vjp
        from autograder.checks.exercises import a03_einsum as known
        """, id="setup"),
    ]


def exercise_1_matrix_products():
    """Exercise 1: the VJPs of matrix times vector (a) and matrix times matrix (b)."""
    return [
        markdown(r"""
        ## Exercise 1: matrix products (15 points)

        **(a) Matrix times vector, as in the lecture.** For $y = Wx$ with $W \in \mathbb{R}^{m \times n}$,
        $x \in \mathbb{R}^n$ and $\bar y \in \mathbb{R}^m$, the Jacobian $\partial y / \partial W$
        is an $m \times m \times n$ tensor, but its product with $\bar y$ is simply

        $$\bar W = \bar y\, x^\top \quad (\text{an outer product}), \qquad \bar x = W^\top \bar y.$$

        Write `matvec_backward(W, x, grad)` returning `(dW, dx)`. In the notes' example,
        $W = \begin{bmatrix} 1 & 2 \\ 2 & 1 \end{bmatrix}$, $x = (1, 2)$ and $L = \sum_i y_i$
        give $\bar x = (3, 3)$ and $\bar W = \begin{bmatrix} 1 & 2 \\ 1 & 2 \end{bmatrix}$.
        """, id="ex1a-text"),
        solution("""
        def matvec_backward(W, x, grad):
            ### BEGIN SOLUTION
            dW = np.outer(grad, x)
            dx = W.T @ grad
            return dW, dx
            ### END SOLUTION
        """, id="ex1a-solution"),
        tests("""
        check_vjp(matvec_backward, known.matvec, [[(3, 3), (3,)], [(3, 2), (2,)]], "Exercise 1a (matvec)",
                  label="matvec_backward", known_mistakes=known.MATVEC_MISTAKES)
        W = np.array([[1.0, 2.0], [2.0, 1.0]])
        dW, dx = matvec_backward(W, np.array([1.0, 2.0]), np.ones(2))  # L = sum(W x), the notes' example
        check_values(dx, [3.0, 3.0], "Exercise 1a (matvec)", "dx for L = sum(W x)")
        check_values(dW, [[1.0, 2.0], [1.0, 2.0]], "Exercise 1a (matvec)", "dW for L = sum(W x)")
        ### BEGIN HIDDEN TESTS
        check_vjp(matvec_backward, known.matvec, [[(1, 1), (1,)], [(2, 5), (5,)], [(4, 4), (4,)], [(30, 20), (20,)]],
                  "Exercise 1a (matvec)", seeds=(2, 3), label="matvec_backward", known_mistakes=known.MATVEC_MISTAKES)
        ### END HIDDEN TESTS
        """, id="ex1a-tests", points=5),

        markdown(r"""
        **(b) Matrix times matrix.** For a batch we multiply on the right, as in the notes:
        the rows of $A \in \mathbb{R}^{n \times k}$ are examples and $Z = AB$ with
        $B \in \mathbb{R}^{k \times m}$. Derive $\bar A$ and $\bar B$ with the recipe and write
        `matmul_backward(A, B, grad)` returning `(dA, dB)`. In the notes' example,
        $A = \begin{bmatrix} 1 & 2 & 3 \\ 3 & 2 & 1 \end{bmatrix}$,
        $B = \begin{bmatrix} 1 & 2 & 3 \\ 2 & 1 & 3 \\ 3 & 1 & 2 \end{bmatrix}$ and
        $L = \sum_{ij} Z_{ij}$ give $\bar A$ full of 6s and $\bar B$ full of 4s.
        """, id="ex1b-text"),
        solution("""
        def matmul_backward(A, B, grad):
            ### BEGIN SOLUTION
            dA = grad @ B.T
            dB = A.T @ grad
            return dA, dB
            ### END SOLUTION
        """, id="ex1b-solution"),
        tests("""
        check_vjp(matmul_backward, np.matmul, [[(3, 3), (3, 3)], [(2, 4), (4, 3)]], "Exercise 1b (matmul)",
                  label="matmul_backward", known_mistakes=known.MATMUL_MISTAKES)
        A = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
        B = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 3.0], [3.0, 1.0, 2.0]])
        dA, dB = matmul_backward(A, B, np.ones((2, 3)))  # L = sum(A B), the notes' example
        check_values(dA, np.full((2, 3), 6.0), "Exercise 1b (matmul)", "dA for L = sum(A B)")
        check_values(dB, np.full((3, 3), 4.0), "Exercise 1b (matmul)", "dB for L = sum(A B)")
        ### BEGIN HIDDEN TESTS
        check_vjp(matmul_backward, np.matmul, [[(1, 1), (1, 1)], [(5, 1), (1, 4)], [(1, 6), (6, 1)], [(4, 4), (4, 4)],
                                               [(20, 30), (30, 10)]],
                  "Exercise 1b (matmul)", seeds=(2, 3), label="matmul_backward", known_mistakes=known.MATMUL_MISTAKES)
        ### END HIDDEN TESTS
        """, id="ex1b-tests", points=10),
    ]


def exercise_2_broadcasting():
    """Exercise 2: unbroadcast, the VJP of broadcasting (a), and the linear layer's backward (b)."""
    return [
        markdown(r"""
        ## Exercise 2: broadcasting and the bias gradient (15 points)

        numpy **broadcasts**: in `X @ W + b` with `X` of shape `(B, n)` and `b` of shape `(m,)`,
        the same `b` is added to every row. Broadcasting copies a value; in the backward pass
        the copies' gradients are **added up** (the chain rule sums over every use of a
        variable). The same holds for new leading axes and for axes of size 1:
        `np.broadcast_to(x, (2, 3, 5))` of an `x` of shape `(3, 1)` uses each entry of `x`
        $2 \times 5$ times.

        **(a)** Write `unbroadcast(grad, shape)`: sum `grad` (the gradient of the broadcast
        result) down to the gradient of the original array of shape `shape`: sum over the
        leading axes that broadcasting added, then over the axes where `shape` has a 1 (keeping
        them, with `keepdims=True`). It is the VJP of `np.broadcast_to`.

        **(b)** Write `linear_backward(X, W, b, grad)` for the layer $Y = XW + b$
        (`X`: `(B, n)`, `W`: `(n, m)`, `b`: `(m,)`), returning `(dX, dW, db)`. The bias is used
        once per example, so its gradient is a **sum** over the batch (not a mean).
        """, id="ex2-text"),
        solution("""
        def unbroadcast(grad, shape):
            ### BEGIN SOLUTION
            grad = np.asarray(grad)
            leading = grad.ndim - len(shape)
            grad = grad.sum(axis=tuple(range(leading)))
            stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
            return grad.sum(axis=stretched, keepdims=True)
            ### END SOLUTION
        """, id="ex2a-solution"),
        tests("""
        for source, target in (((3,), (4, 3)), ((3, 1), (2, 3, 5))):
            check_vjp(known.unbroadcast_vjp(unbroadcast), known.broadcast_to(target), [[source]],
                      "Exercise 2a (unbroadcast)", label=f"unbroadcast from {target} to {source}")
        ### BEGIN HIDDEN TESTS
        for source, target in (((), (2, 3)), ((1,), (4,)), ((1, 1), (3, 4)), ((4,), (4,)), ((2, 1, 3), (5, 2, 4, 3)),
                               ((1, 3, 1), (2, 1, 3, 4))):
            check_vjp(known.unbroadcast_vjp(unbroadcast), known.broadcast_to(target), [[source]],
                      "Exercise 2a (unbroadcast)", seeds=(2, 3), label=f"unbroadcast from {target} to {source}")
        ### END HIDDEN TESTS
        """, id="ex2a-tests", points=5),
        solution("""
        def linear_backward(X, W, b, grad):
            ### BEGIN SOLUTION
            dX = grad @ W.T
            dW = X.T @ grad
            db = grad.sum(axis=0)
            return dX, dW, db
            ### END SOLUTION
        """, id="ex2b-solution"),
        tests("""
        check_vjp(linear_backward, known.linear, [[(3, 3), (3, 3), (3,)], [(4, 3), (3, 2), (2,)]],
                  "Exercise 2b (linear layer)", label="linear_backward", known_mistakes=known.LINEAR_MISTAKES)
        ### BEGIN HIDDEN TESTS
        check_vjp(linear_backward, known.linear,
                  [[(1, 3), (3, 2), (2,)], [(5, 5), (5, 5), (5,)], [(7, 1), (1, 3), (3,)], [(16, 8), (8, 4), (4,)]],
                  "Exercise 2b (linear layer)", seeds=(2, 3), label="linear_backward",
                  known_mistakes=known.LINEAR_MISTAKES)
        ### END HIDDEN TESTS
        """, id="ex2b-tests", points=10),
    ]


def exercise_3_einsum():
    """Exercise 3: the einsum backward rule (a), with repeated letters (b)."""
    return [
        markdown(r"""
        ## Exercise 3: the einsum backward rule (20 points)

        `np.einsum('abc,bad->ab', X, Y)` (from the notes) computes
        $Z_{ab} = \sum_{c,d} X_{abc} Y_{bad}$: letters missing from the output are summed over.
        Every einsum is a sum of products and so is **linear in each operand**. Differentiate
        one entry of $X$:

        $$\bar X_{abc} = \sum_d \bar Z_{ab}\, Y_{bad}.$$

        That is again an einsum: **the same einsum, with $\bar Z$ in the place of $X$ and $X$'s
        subscripts as the output**, `'ab,bad->abc'`. One detail: numpy refuses that string,
        because the letter `c` appears in no input. `c` was summed away in the forward pass,
        so the gradient does not depend on it: it is *copied* along the `c` axis. A vector of
        ones with subscript `c` does the copying: `np.einsum('ab,bad,c->abc', Zbar, Y, np.ones(C))`.

        **(a) (15 points)** Write `einsum_backward(subscripts, operands, grad, k)`: the gradient
        of operand number `k` (`operands` is a list of arrays, `grad` has the shape of the
        output). The subscripts are explicit (they contain `->`), use letters only (no `...`)
        and may contain spaces, as in the notes' `'abc, bad -> ab'`; remove them first. Every
        letter stands for one size (no broadcasting). An operand may be a 0-d array with an
        empty term, as in `',ij->ij'`. In part (a) no letter repeats **within** a term.

        **(b) (5 points)** Now allow a letter to repeat within a term, as in the trace
        `'ii->'` or the diagonal `'ii->i'`. Such a term reads only the diagonal entries
        $X_{ii}$, so the gradient of every other entry is zero: compute the gradient with each
        letter once (`'i'`), then write it into the diagonal of a zero array shaped like the
        operand. `np.einsum('ii->i', out)` returns a view of the diagonal of `out` that you
        can assign into (`view[...] = values`).
        """, id="ex3-text"),
        solution("""
        def einsum_backward(subscripts, operands, grad, k):
            ### BEGIN SOLUTION
            inputs, output = subscripts.replace(" ", "").split("->")
            terms = inputs.split(",")
            term, x = terms[k], operands[k]
            others = [t for i, t in enumerate(terms) if i != k]
            other_operands = [o for i, o in enumerate(operands) if i != k]
            sizes = dict(zip(term, np.shape(x)))
            unique = "".join(dict.fromkeys(term))  # each letter once, in order
            # letters of term k used nowhere else were summed away: vectors of ones copy the gradient along them
            available = set(output).union(*others)
            missing = [c for c in unique if c not in available]
            ones = [np.ones(sizes[c]) for c in missing]
            spec = ",".join([output] + others + missing) + "->" + unique
            partial = np.einsum(spec, grad, *other_operands, *ones)
            if unique == term:
                return partial
            # a repeated letter reads a diagonal: only the diagonal entries get a gradient
            result = np.zeros(np.shape(x))
            np.einsum(term + "->" + unique, result)[...] = partial
            return result
            ### END SOLUTION
        """, id="ex3-solution"),
        tests("""
        for subscripts, shapes in (("ij,jk->ik", [(2, 3), (3, 4)]), ("abc, bad -> ab", [(2, 3, 4), (3, 2, 5)]),
                                   ("ik,ikj->ij", [(3, 2), (3, 2, 4)])):
            check_vjp(known.einsum_vjp(einsum_backward, subscripts), known.einsum(subscripts), [shapes],
                      "Exercise 3a (einsum)", label=f"einsum_backward({subscripts!r})")
        ### BEGIN HIDDEN TESTS
        for subscripts, shapes in (("ij->ji", [(2, 3)]), ("ij->", [(3, 4)]), ("ijk->kij", [(2, 3, 4)]), ("i,i->", [(5,), (5,)]),
                                   ("i,j->ij", [(3,), (4,)]), ("ij,ij->ij", [(2, 3), (2, 3)]), ("ij->j", [(4, 3)]),
                                   ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]), ("abcd,da,be->ad", [(2, 3, 2, 4), (4, 2), (3, 2)]),
                                   (",ij->ij", [(), (2, 3)]), ("ij,jk,kl->li", [(2, 3), (3, 2), (2, 4)]), ("abc->cb", [(3, 2, 4)])):
            check_vjp(known.einsum_vjp(einsum_backward, subscripts), known.einsum(subscripts), [shapes],
                      "Exercise 3a (einsum)", seeds=(2, 3), label=f"einsum_backward({subscripts!r})")
        ### END HIDDEN TESTS
        """, id="ex3a-tests", points=15),
        tests("""
        check_vjp(known.einsum_vjp(einsum_backward, "ii->"), known.einsum("ii->"), [[(3, 3)]],
                  "Exercise 3b (repeated letters)", label="einsum_backward('ii->'), the trace")
        ### BEGIN HIDDEN TESTS
        for subscripts, shapes in (("ii->i", [(4, 4)]), ("bii->bi", [(2, 3, 3)]), ("ij,jj->i", [(2, 3), (3, 3)]),
                                   ("iij,jk->ik", [(2, 2, 3), (3, 4)]), ("abcd,daa,be->ad", [(2, 3, 2, 2), (2, 2, 2), (3, 3)]),
                                   ("jii->ij", [(3, 2, 2)])):
            check_vjp(known.einsum_vjp(einsum_backward, subscripts), known.einsum(subscripts), [shapes],
                      "Exercise 3b (repeated letters)", seeds=(2, 3), label=f"einsum_backward({subscripts!r})")
        ### END HIDDEN TESTS
        """, id="ex3b-tests", points=5),
    ]


def exercise_4_batched_matmul():
    """Exercise 4: batched matrix times vector, with einsum."""
    return [
        markdown(r"""
        ## Exercise 4: batched matrix multiply (10 points)

        A batch of vectors $X \in \mathbb{R}^{B \times n}$ and a batch of matrices
        $M \in \mathbb{R}^{B \times n \times m}$: row $i$ of the result is $X[i]\, M[i]$, in
        einsum `'ik,ikj->ij'` (from the notes): $Y_{ij} = \sum_k X_{ik} M_{ikj}$.

        Write `batched_matvec_backward(X, M, grad)` returning `(dX, dM)` with `np.einsum`.
        Mind the difference with Exercise 2: here every example has **its own** matrix
        $M[i]$, so $\bar M[i]$ only sees example $i$; nothing is summed over the batch.
        """, id="ex4-text"),
        solution("""
        def batched_matvec_backward(X, M, grad):
            ### BEGIN SOLUTION
            dX = np.einsum("ij,ikj->ik", grad, M)
            dM = np.einsum("ik,ij->ikj", X, grad)
            return dX, dM
            ### END SOLUTION
        """, id="ex4-solution"),
        tests("""
        check_vjp(batched_matvec_backward, known.batched_matvec, [[(2, 3), (2, 3, 3)], [(3, 2), (3, 2, 4)]],
                  "Exercise 4 (batched matmul)", label="batched_matvec_backward",
                  known_mistakes=known.BATCHED_MATVEC_MISTAKES)
        ### BEGIN HIDDEN TESTS
        check_vjp(batched_matvec_backward, known.batched_matvec,
                  [[(1, 3), (1, 3, 3)], [(4, 3), (4, 3, 3)], [(5, 2), (5, 2, 1)], [(10, 6), (10, 6, 5)]],
                  "Exercise 4 (batched matmul)", seeds=(2, 3), label="batched_matvec_backward",
                  known_mistakes=known.BATCHED_MATVEC_MISTAKES)
        ### END HIDDEN TESTS
        """, id="ex4-tests", points=10),
    ]


def exercise_5_tensordot():
    """Exercise 5: the backward pass of tensordot."""
    return [
        markdown(r"""
        ## Exercise 5: tensordot (10 points)

        Tensor contraction generalises the matrix product: `np.tensordot(A, B, axes=d)`
        contracts the **last d axes of A** with the **first d axes of B**. If
        $A$ has shape $[a_1, \dots, a_p, c_1, \dots, c_d]$ and $B$ has shape
        $[c_1, \dots, c_d, b_1, \dots, b_q]$, the result $Z$ has shape $[a_1, \dots, a_p, b_1, \dots, b_q]$:

        $$Z[\mathbf a, \mathbf b] = \sum_{\mathbf c} A[\mathbf a, \mathbf c]\, B[\mathbf c, \mathbf b].$$

        For example, shapes $[2, 5, 4, 6]$ and $[4, 6, 8, 2]$ contract along 2 axes to
        $[2, 5, 8, 2]$. With $d = 1$ and matrices this is `A @ B`; with $d = 0$ it is an outer
        product.

        Write `tensordot_backward(A, B, grad, axes)` for an integer `axes` $= d$, returning
        `(dA, dB)`. Apply the recipe with multi-indices: $\bar A[\mathbf a, \mathbf c]$ is a
        sum over $\mathbf b$, $\bar B[\mathbf c, \mathbf b]$ a sum over $\mathbf a$. Both are
        tensordots again: `np.tensordot(x, y, axes=(axes_of_x, axes_of_y))` contracts the listed
        axes pairwise and returns the remaining axes of `x`, then those of `y`.
        """, id="ex5-text"),
        solution("""
        def tensordot_backward(A, B, grad, axes):
            ### BEGIN SOLUTION
            p = A.ndim - axes  # free axes of A, which come first in grad
            q = B.ndim - axes  # free axes of B, which come last in grad
            dA = np.tensordot(grad, B, axes=(list(range(p, p + q)), list(range(axes, B.ndim))))
            dB = np.tensordot(A, grad, axes=(list(range(p)), list(range(p))))
            return dA, dB
            ### END SOLUTION
        """, id="ex5-solution"),
        tests("""
        check_vjp(known.tensordot_vjp(tensordot_backward, 1), known.tensordot(1), [[(2, 3), (3, 4)]],
                  "Exercise 5 (tensordot)", label="tensordot_backward(axes=1)")
        check_vjp(known.tensordot_vjp(tensordot_backward, 2), known.tensordot(2), [[(2, 5, 4, 6), (4, 6, 8, 2)]],
                  "Exercise 5 (tensordot)", label="tensordot_backward(axes=2)")
        ### BEGIN HIDDEN TESTS
        for axes, shapes in ((0, [(2, 3), (4,)]), (1, [(3,), (3,)]), (1, [(2, 3, 4), (4, 5)]), (2, [(3, 4), (3, 4)]),
                             (2, [(2, 3, 2), (3, 2, 4)]), (3, [(2, 3, 2, 2), (3, 2, 2, 3)]), (1, [(4,), (4, 2, 3)])):
            check_vjp(known.tensordot_vjp(tensordot_backward, axes), known.tensordot(axes), [shapes],
                      "Exercise 5 (tensordot)", seeds=(2, 3), label=f"tensordot_backward(axes={axes})")
        ### END HIDDEN TESTS
        """, id="ex5-tests", points=10),
    ]


def exercise_6_softmax():
    """Exercise 6: the softmax Jacobian (a) and its VJP (b), then an ungraded timing of the two."""
    return [
        markdown(r"""
        ## Exercise 6: the softmax Jacobian and its VJP (20 points)

        $s = \mathrm{softmax}(x)$, $s_i = e^{x_i} / \sum_j e^{x_j}$, has the Jacobian

        $$J_{ij} = \frac{\partial s_i}{\partial x_j} = s_i(\delta_{ij} - s_j)
          = \begin{cases} s_i(1 - s_i) & i = j \\ -s_i s_j & i \ne j. \end{cases}$$

        **(a) (8 points)** Write `softmax_jacobian(x)` for a 1-D `x`, returning the $n \times n$
        matrix $J$. Compute $s$ in a numerically stable way: subtracting any constant from all
        $x_i$ does not change $s$, and subtracting $\max_i x_i$ keeps `np.exp` from overflowing
        (logits such as 1000 must work).

        **(b) (12 points)** A backward pass needs only $\bar x_j = \sum_i \bar s_i J_{ij}$.
        Substituting $J$ gives an expression with **no matrix**, $O(n)$ work instead of $O(n^2)$:

        $$\bar x_j = s_j \Big(\bar s_j - \sum_i \bar s_i s_i\Big).$$

        Write `softmax_vjp(s, grad)` where `s` is the softmax **output** and `grad` is $\bar s$.
        Both have shape `(..., C)`: softmax is taken along the last axis, separately for every
        row of a batch, so the sum runs over the last axis only (`keepdims=True` helps). Do not
        build the Jacobian.

        The notes' example (they call the logits $s$ and the probabilities $p$): logits $(1, 2)$
        and $L = -\sum_i \log p_i$, so $\bar p = -1/p$; then the gradient of the logits is
        $(-0.4621, 0.4621)$.
        """, id="ex6-text"),
        solution("""
        def softmax_jacobian(x):
            ### BEGIN SOLUTION
            e = np.exp(x - np.max(x))
            s = e / e.sum()
            return np.diag(s) - np.outer(s, s)
            ### END SOLUTION
        """, id="ex6a-solution"),
        tests("""
        check_function(softmax_jacobian, known.jacobian_of_softmax, [[(3,)], [(5,)]], "Exercise 6a (softmax Jacobian)")
        check_values(softmax_jacobian(np.array([1.0, 2.0])), known.jacobian_of_softmax(np.array([1.0, 2.0])),
                     "Exercise 6a (softmax Jacobian)", "softmax_jacobian([1, 2])")
        ### BEGIN HIDDEN TESTS
        check_function(softmax_jacobian, known.jacobian_of_softmax, [[(1,)], [(2,)], [(8,)]],
                       "Exercise 6a (softmax Jacobian)", seeds=(2, 3), domain=(-6.0, 6.0))
        for x in ([1000.0, 1001.0, 999.0], [-1000.0, 0.0, 1000.0, 3.0], [700.0, 700.0]):
            x = np.array(x)
            check_values(softmax_jacobian(x), known.jacobian_of_softmax(x), "Exercise 6a (softmax Jacobian)",
                         f"softmax_jacobian({x.tolist()}) (large logits: subtract the maximum before np.exp)")
        ### END HIDDEN TESTS
        """, id="ex6a-tests", points=8),
        solution("""
        def softmax_vjp(s, grad):
            ### BEGIN SOLUTION
            return s * (grad - np.sum(grad * s, axis=-1, keepdims=True))
            ### END SOLUTION
        """, id="ex6b-solution"),
        tests("""
        check_vjp(known.softmax_vjp_of_logits(softmax_vjp), known.softmax, [[(4,)], [(2, 3)]],
                  "Exercise 6b (softmax VJP)", label="softmax_vjp", known_mistakes=known.SOFTMAX_VJP_MISTAKES)
        p = known.softmax(np.array([1.0, 2.0]))
        check_values(softmax_vjp(p, -1 / p), [-0.46211716, 0.46211716], "Exercise 6b (softmax VJP)",
                     "the notes' example: logits (1, 2), L = -sum(log p)")
        ### BEGIN HIDDEN TESTS
        check_vjp(known.softmax_vjp_of_logits(softmax_vjp), known.softmax,
                  [[(1,)], [(7,)], [(3, 3)], [(4, 5)], [(2, 3, 4)], [(50, 10)]], "Exercise 6b (softmax VJP)",
                  seeds=(2, 3), domain=(-5.0, 5.0), label="softmax_vjp", known_mistakes=known.SOFTMAX_VJP_MISTAKES)
        x = np.array([[1000.0, 1001.0, 999.0], [-3.0, 0.0, 2.0]])
        g = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, -0.5]])
        jacobians = [np.diag(known.softmax(row)) - np.outer(known.softmax(row), known.softmax(row)) for row in x]
        expected = np.stack([J.T @ grad_row for J, grad_row in zip(jacobians, g)])
        check_values(softmax_vjp(known.softmax(x), g), expected, "Exercise 6b (softmax VJP)",
                     "softmax_vjp against the explicit Jacobian, row by row")
        ### END HIDDEN TESTS
        """, id="ex6b-tests", points=12),
        markdown(r"""
        Compare the two ways on a large input: the explicit Jacobian needs $n^2$ numbers and a
        matrix-vector product, the VJP a few passes over $n$ numbers. (This cell is not graded.)
        """, id="ex6-discussion"),
        scratch("""
        x = np.random.default_rng(0).normal(size=2000)
        s, g = ag.softmax(x).value, np.random.default_rng(1).normal(size=2000)
        start = time.perf_counter()
        via_jacobian = softmax_jacobian(x).T @ g
        middle = time.perf_counter()
        via_vjp = softmax_vjp(s, g)
        end = time.perf_counter()
        print(f"explicit Jacobian: {middle - start:.4f} s, {x.size**2 * 8 / 1e6:.0f} MB; VJP: {end - middle:.6f} s; "
              f"largest difference {np.max(np.abs(via_jacobian - via_vjp)):.2e}")
        """),
    ]


def exercise_7_per_example_gradients():
    """Exercise 7: per-example gradients with one einsum, then an ungraded look at their norms."""
    return [
        markdown(r"""
        ## Exercise 7: per-example gradients with einsum (10 points)

        For a linear layer $Y = XW$ and a loss that is a sum over examples,
        $L = \sum_b \ell_b(Y[b])$, the weight gradient is a sum of one term per example:

        $$\bar W = X^\top \bar Y = \sum_b x_b\, \bar y_b^\top,$$

        where $x_b$ and $\bar y_b$ are row $b$ of $X$ and of $\bar Y$ (an outer product, as in
        Exercise 1a). Some methods need the terms **before** they are added: clipping each
        example's gradient (differentially private SGD), or the variance of the gradient across
        examples. Write `per_example_gradients(X, grad_out)` for `X` of shape `(B, n)` and
        `grad_out` $= \bar Y$ of shape `(B, m)`, returning the array of shape `(B, n, m)` whose
        entry `[b]` is $x_b \bar y_b^\top$, with one `np.einsum` (no Python loop).
        """, id="ex7-text"),
        solution("""
        def per_example_gradients(X, grad_out):
            ### BEGIN SOLUTION
            return np.einsum("bi,bj->bij", X, grad_out)
            ### END SOLUTION
        """, id="ex7-solution"),
        tests("""
        check_function(per_example_gradients, known.outer_product_per_example, [[(4, 3), (4, 2)], [(3, 3), (3, 3)]],
                       "Exercise 7 (per-example gradients)")
        ### BEGIN HIDDEN TESTS
        check_function(per_example_gradients, known.outer_product_per_example,
                       [[(1, 3), (1, 4)], [(6, 1), (6, 5)], [(5, 4), (5, 4)], [(32, 10), (32, 7)]],
                       "Exercise 7 (per-example gradients)", seeds=(2, 3))
        rng = np.random.default_rng(7)
        X, G = rng.normal(size=(8, 5)), rng.normal(size=(8, 3))
        check_values(per_example_gradients(X, G).sum(axis=0), X.T @ G, "Exercise 7 (per-example gradients)",
                     "the sum of the per-example gradients (it must equal X^T grad_out)")
        ### END HIDDEN TESTS
        """, id="ex7-tests", points=10),
        markdown(r"""
        The norm of each example's gradient does not even need the $(B, n, m)$ array: the
        Frobenius norm of an outer product is $\lVert x_b \rVert \, \lVert \bar y_b \rVert$. (Not graded.)
        """, id="ex7-discussion"),
        scratch("""
        rng = np.random.default_rng(0)
        X, G = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
        norms = np.sqrt(np.einsum("bij,bij->b", per_example_gradients(X, G), per_example_gradients(X, G)))
        print(np.round(norms, 4))
        print(np.round(np.linalg.norm(X, axis=1) * np.linalg.norm(G, axis=1), 4))
        """),
    ]


def build():
    """The notebook, part by part in the order of the assignment."""
    return notebook([*introduction(), *exercise_1_matrix_products(), *exercise_2_broadcasting(), *exercise_3_einsum(),
                     *exercise_4_batched_matmul(), *exercise_5_tensordot(), *exercise_6_softmax(),
                     *exercise_7_per_example_gradients()])
