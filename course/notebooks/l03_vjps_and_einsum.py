"""Lecture 3: vector-Jacobian products instead of Jacobians; einsum and tensor contraction."""

from .cells import markdown, notebook, scratch

NAME = "03_vjps_and_einsum"


def build():
    return notebook([
        markdown(r"""
        # Lecture 3: VJPs instead of Jacobians; einsum and tensor contraction

        Reverse mode needs, for every operation, the product of an incoming gradient with the
        operation's Jacobian: a **vector-Jacobian product** (VJP). This lecture shows that the Jacobian
        itself is almost never worth building, works out the VJPs of the operations that neural
        networks are made of, and introduces the tool that expresses most of them in one line:
        `einsum`.

        1. Derivatives of matrix and tensor functions are tensors, and mostly zeros.
        2. The VJP of $y = Wx$, of elementwise activations and of softmax.
        3. `np.einsum`: the notation, the notes' examples, batched products.
        4. The backward pass of an einsum is another einsum.
        5. Tensor contraction (`tensordot`), tensors as linear maps, batched functions.
        """),
        scratch("""
        import numpy as np
        import matplotlib.pyplot as plt

        import mini_autograd as ag
        from course.widgets import BackwardStepper
        """),

        markdown(r"""
        ## 1. The derivative of $y = Wx$ with respect to $W$

        Take $x \in \mathbb{R}^n$, $W \in \mathbb{R}^{m \times n}$, $y = Wx \in \mathbb{R}^m$ and a scalar
        $z = v^\top y = \sum_i v_i y_i$. The derivative $\partial y / \partial W$ has one entry for every output
        $y_i$ and every weight $W_{jk}$: a tensor of shape $m \times m \times n$. But $y_i = \sum_k W_{ik} x_k$
        depends only on row $i$ of $W$, so

        $$\frac{\partial y_i}{\partial W_{jk}} = \begin{cases} x_k & j = i \\ 0 & j \ne i, \end{cases}$$

        and all but a fraction $1/m$ of the entries are zero. Let us build it anyway.
        """),
        scratch("""
        rng = np.random.default_rng(0)
        m, n = 4, 3
        W0 = rng.normal(size=(m, n))
        x0 = rng.normal(size=n)
        v = rng.normal(size=m)

        J = ag.jacobian(lambda W: W @ ag.constant(x0), W0)  # shape (m, m, n): output index, then W's indices
        print("shape of dy/dW:", J.shape, "  fraction of zeros:", np.mean(J == 0))
        print("dy_1/dW (only row 1 is non-zero):\\n", J[0])
        """),
        markdown(r"""
        ## 2. The VJP of $y = Wx$

        The chain rule asks for $\frac{\partial z}{\partial W} = \frac{\partial z}{\partial y}\frac{\partial y}{\partial W}$:
        contract the row vector $\frac{\partial z}{\partial y} = v^\top$ with the big tensor. Doing the sum by
        hand, only the $j = i$ terms survive:

        $$\frac{\partial z}{\partial W_{ik}} = \sum_{j} \frac{\partial z}{\partial y_j}\frac{\partial y_j}{\partial W_{ik}} = \frac{\partial z}{\partial y_i}\, x_k,
        \qquad\text{so}\qquad \frac{\partial z}{\partial W} = \left(\frac{\partial z}{\partial y}\right)^{\!\top} x^\top,$$

        an outer product: $m \cdot n$ numbers computed directly, instead of $m \cdot m \cdot n$ stored and
        mostly multiplied by zero. Similarly $\frac{\partial z}{\partial x} = \frac{\partial z}{\partial y} W$, i.e.
        $W^\top v$ as a column. This is what the backward method of a matrix product returns.
        """),
        scratch("""
        via_jacobian = np.einsum("i,ijk->jk", v, J)  # contract dz/dy with the whole Jacobian
        via_vjp = np.outer(v, x0)                    # (dz/dy)^T x^T
        W = ag.Variable(W0, name="W")
        x = ag.Variable(x0, name="x")
        z = (W @ x * ag.constant(v)).sum()
        z.backward()
        print("Jacobian route equals the outer product:", np.allclose(via_jacobian, via_vjp))
        print("autodiff equals the outer product:      ", np.allclose(W.grad, via_vjp))
        print("dz/dx = W^T v:", np.allclose(x.grad, W0.T @ v))
        for big_m, big_n in [(100, 100), (1000, 1000), (4096, 4096)]:
            print(f"m = n = {big_m}: Jacobian {big_m * big_m * big_n * 8 / 1e9:8.3f} GB,   VJP {big_m * big_n * 8 / 1e6:8.3f} MB")
        """),
        markdown(r"""
        ### The notes' numbers

        With the sum as the loss ($\frac{\partial L}{\partial Z}$ all ones) the notes check these against PyTorch:

        * vector dot product $z = x^\top y$, $x = (1, 2, 3)$, $y = (3, 2, 1)$: $\frac{\partial L}{\partial x} = \frac{\partial L}{\partial z} y = (3, 2, 1)$ and $\frac{\partial L}{\partial y} = x$;
        * outer product $Z = xy$ with $x \in \mathbb{R}^{3 \times 1}$, $y \in \mathbb{R}^{1 \times 2}$: $\frac{\partial L}{\partial x} = \frac{\partial L}{\partial Z} y^\top = (5, 5, 5)^\top$, $\frac{\partial L}{\partial y} = x^\top \frac{\partial L}{\partial Z} = (6, 6)$;
        * $Z = Wx$ with $W = \begin{bmatrix}1 & 2\\ 2 & 1\end{bmatrix}$, $x = (1, 2)^\top$: $\frac{\partial L}{\partial x} = W^\top \frac{\partial L}{\partial Z} = (3, 3)^\top$, $\frac{\partial L}{\partial W} = \frac{\partial L}{\partial Z} x^\top = \begin{bmatrix}1 & 2\\ 1 & 2\end{bmatrix}$;
        * $Z = XW$ with $X \in \mathbb{R}^{2 \times 3}$, $W \in \mathbb{R}^{3 \times 3}$ (below): $\frac{\partial L}{\partial X} = \frac{\partial L}{\partial Z} W^\top$ (all 6), $\frac{\partial L}{\partial W} = X^\top \frac{\partial L}{\partial Z}$ (all 4).
        """),
        scratch("""
        def grads_of_sum(fn, *arrays):
            variables = [ag.Variable(a) for a in arrays]
            fn(*variables).sum().backward()
            return [v.grad for v in variables]


        print("dot:  ", grads_of_sum(lambda x, y: x @ y, [1.0, 2, 3], [3.0, 2, 1]))
        print("outer:", grads_of_sum(lambda x, y: x @ y, [[1.0], [2], [3]], [[3.0, 2]]))
        print("Wx:   ", grads_of_sum(lambda W, x: W @ x, [[1.0, 2], [2, 1]], [[1.0], [2]]))
        print("XW:   ", grads_of_sum(lambda X, W: X @ W, [[1.0, 2, 3], [3, 2, 1]], [[1.0, 2, 3], [2, 1, 3], [3, 1, 2]]))
        """),

        markdown(r"""
        ### Elementwise activations

        For $\hat y = \sigma(y)$ applied coordinate by coordinate, $\hat y_i$ depends only on $y_i$: the Jacobian
        is **diagonal**, with $\sigma'(y_i) = \sigma(y_i)(1 - \sigma(y_i))$ on the diagonal for the sigmoid.
        Multiplying a row vector by a diagonal matrix is an elementwise product:

        $$\frac{\partial z}{\partial y} = \frac{\partial z}{\partial \hat y} \odot \sigma(y)\,(1 - \sigma(y)).$$
        """),
        scratch("""
        y0 = np.array([-2.0, -0.5, 0.0, 1.0, 3.0])
        g = np.array([0.3, -1.0, 2.0, 0.5, 1.5])  # dz/dy_hat, as if from the layers above
        J_sigmoid = ag.jacobian(ag.sigmoid, y0)
        print("the Jacobian is diagonal:", np.allclose(J_sigmoid, np.diag(np.diag(J_sigmoid))))
        s = 1 / (1 + np.exp(-y0))
        y = ag.Variable(y0)
        ag.sigmoid(y).backward(g)
        print("g @ J       :", g @ J_sigmoid)
        print("g * s(1 - s):", g * s * (1 - s))
        print("autodiff    :", y.grad)
        """),

        markdown(r"""
        ### Softmax

        Softmax couples all its coordinates: $p_i = e^{s_i} / \sum_j e^{s_j}$, and

        $$\frac{\partial p_i}{\partial s_j} = \begin{cases} p_i (1 - p_i) & i = j \\ -p_i p_j & i \ne j \end{cases}
        \qquad\text{i.e.}\qquad J = \operatorname{diag}(p) - p p^\top.$$

        The Jacobian is full, but it is a diagonal plus a rank-one matrix, so the VJP still costs only $O(C)$:

        $$g^\top J = g \odot p - (g^\top p)\, p = p \odot \left(g - \langle g, p\rangle\right).$$

        The notes' example: $s = (1, 2)$ and $L = -\sum_i \log p_i$. Then
        $\frac{\partial L}{\partial p} = -1/p = (-3.7183, -1.3679)$ and $\frac{\partial L}{\partial s} = (-0.4621, 0.4621)$.
        """),
        scratch("""
        s0 = np.array([1.0, 2.0])
        s = ag.Variable(s0, name="s")
        p = ag.softmax(s)
        p.name = "p"
        L = -ag.log(p).sum()
        grads = ag.compute_gradients(L)
        print("dL/dp =", grads[p], "   dL/ds =", grads[s])

        pv = p.value
        g = grads[p]
        J_softmax = np.diag(pv) - np.outer(pv, pv)
        print("with the full Jacobian:", g @ J_softmax)
        print("without building it:   ", pv * (g - g @ pv))
        """),
        markdown(r"""
        Softmax followed by cross-entropy simplifies even further: for a one-hot target $y$ and
        $L = -\log p_{\text{correct}}$, the gradient with respect to the logits is $p - y$. That is why
        libraries fuse the two into one operation (`ag.cross_entropy`), which is also numerically stable
        for extreme logits.
        """),
        scratch("""
        logits = ag.Variable([[2.0, -1.0, 0.5]])
        loss = ag.cross_entropy(logits, np.array([2]))
        loss.backward()
        p = np.exp(logits.value) / np.exp(logits.value).sum()
        print("autodiff:", logits.grad, "   p - y:", p - np.array([[0, 0, 1]]))

        # the same loss unfused: softmax, log, pick the correct class, negate (the fused one is a single step)
        logits = ag.Variable([[2.0, -1.0, 0.5]], name="logits")
        unfused = -ag.log(ag.softmax(logits))[0, 2]
        unfused.name = "loss"
        BackwardStepper(unfused)
        """),

        markdown(r"""
        ## 3. einsum

        `np.einsum` names every axis of every operand with a letter, and the output's axes after `->`.
        The rule: **multiply** the entries whose indices agree, and **sum** over every index that does not
        appear in the output.

        `np.einsum('abc,bad->ab', X, Y)`: $X$ has shape $[A, B, C]$, so $Y$ must have shape $[B, A, D]$, the output
        has shape $[A, B]$, and

        $$Z[i, j] = \sum_{k, w} X[i, j, k]\; Y[j, i, w].$$
        """),
        scratch("""
        rng = np.random.default_rng(1)
        A, B, C, D = 2, 3, 4, 5
        X = rng.normal(size=(A, B, C))
        Y = rng.normal(size=(B, A, D))
        Z = np.einsum("abc,bad->ab", X, Y)
        Z_loops = np.zeros((A, B))
        for i in range(A):
            for j in range(B):
                for k in range(C):
                    for w in range(D):
                        Z_loops[i, j] += X[i, j, k] * Y[j, i, w]
        print(Z.shape, np.allclose(Z, Z_loops))
        """),
        markdown(r"""
        The notes' second example, `np.einsum('abcd,daa,be->adf', X, Y, Z)`, asks for an output index `f`
        that appears in no input, so numpy rejects it: every output index must come from an input. The
        formula written next to it, $W[a, d, f] = \sum_{b, c, e} X[a, b, c, d]\, Y[d, a, a]\, Z[b, e]$, sums over `e`
        and keeps `f`, so it was presumably meant with the last operand indexed `bf` (shape $[B, F]$).
        The repeated `aa` in `daa` takes a diagonal of $Y$.
        """),
        scratch("""
        A, B, C, D, E = 2, 3, 2, 4, 3
        X = rng.normal(size=(A, B, C, D))
        Y = rng.normal(size=(D, A, A))
        Zm = rng.normal(size=(B, E))
        try:
            np.einsum("abcd,daa,be->adf", X, Y, Zm)
        except ValueError as error:
            print("numpy says:", error)
        W = np.einsum("abcd,daa,bf->adf", X, Y, Zm)
        W_loops = np.zeros((A, D, E))
        for a in range(A):
            for d in range(D):
                for f in range(E):
                    W_loops[a, d, f] = sum(X[a, b, c, d] * Y[d, a, a] * Zm[b, f] for b in range(B) for c in range(C))
        print(W.shape, np.allclose(W, W_loops))
        """),
        markdown(r"""
        Familiar operations in einsum notation:

        | einsum | formula | operation |
        |---|---|---|
        | `'ij,jk->ik'` | $Z_{ik} = \sum_j X_{ij} Y_{jk}$ | matrix product |
        | `'ij->ji'` | $Z_{ji} = X_{ij}$ | transpose |
        | `'ii->'` | $Z = \sum_i X_{ii}$ | trace |
        | `'ik,ikj->ij'` | $Y_{ij} = \sum_k X_{ik} M_{ikj}$ | batched vector-matrix product |

        The last one is the notes' batched matrix multiplication: $X \in \mathbb{R}^{B \times n}$ is a batch of
        vectors, $M \in \mathbb{R}^{B \times n \times m}$ a batch of matrices, and row $i$ of the result is
        $X[i]\, M[i]$. `ag.einsum` accepts the same subscripts and records one operation in the graph.
        """),
        scratch("""
        Xm, Ym = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
        S = rng.normal(size=(4, 4))
        print("matmul   ", np.allclose(np.einsum("ij,jk->ik", Xm, Ym), Xm @ Ym))
        print("transpose", np.allclose(np.einsum("ij->ji", Xm), Xm.T))
        print("trace    ", np.isclose(np.einsum("ii->", S), np.trace(S)))

        Bsz, n, m = 5, 4, 3
        Xb = rng.normal(size=(Bsz, n))
        M = rng.normal(size=(Bsz, n, m))
        Yb = np.einsum("ik,ikj->ij", Xb, M)
        print("batched  ", np.allclose(Yb, np.stack([Xb[i] @ M[i] for i in range(Bsz)])))
        """),

        markdown(r"""
        ## 4. The backward pass of an einsum is an einsum

        Let $Y = \text{einsum}(\texttt{'ik,ikj->ij'}, X, M)$ and $G = \partial L / \partial Y$. Since
        $Y_{ij} = \sum_k X_{ik} M_{ikj}$,

        $$\frac{\partial L}{\partial X_{ik}} = \sum_j G_{ij} M_{ikj}, \qquad \frac{\partial L}{\partial M_{ikj}} = G_{ij} X_{ik}.$$

        Both are einsums: `'ij,ikj->ik'` and `'ij,ik->ikj'`. The recipe: to get the gradient of one operand,
        multiply the output gradient (with the output's subscripts) by the **other** operands, and ask for
        the subscripts of the operand you want. An index that an operand does not share with the output is
        broadcast back over (as `j` in the gradient of `M`). Repeated indices such as the trace's `ii` need one
        more step: the gradient lands on the diagonal only.
        """),
        scratch("""
        G = rng.normal(size=(Bsz, m))
        Xv, Mv = ag.Variable(Xb), ag.Variable(M)
        Yv = ag.einsum("ik,ikj->ij", Xv, Mv)
        Yv.backward(G)
        print("dL/dX by einsum:", np.allclose(Xv.grad, np.einsum("ij,ikj->ik", G, M)))
        print("dL/dM by einsum:", np.allclose(Mv.grad, np.einsum("ij,ik->ikj", G, Xb)))

        Sv = ag.Variable(S)
        ag.einsum("ii->", Sv).backward()
        print("gradient of the trace is the identity:", np.allclose(Sv.grad, np.eye(4)))
        print(ag.gradcheck(lambda a, b: ag.einsum("ik,ikj->ij", a, b), Xb, M))
        """),

        markdown(r"""
        ## 5. Tensor contraction

        A tensor in $\mathbb{R}^{d_1 \times \dots \times d_n}$ is an $n$-dimensional array ("a list of lists of ...").
        **Contraction** generalises the matrix product: if the last axis of $A$ matches the first axis of $B$,

        $$\text{contract}(A, B)[a_1, \dots, a_n, b_1, \dots, b_m] = \sum_{i} A[a_1, \dots, a_n, i]\; B[i, b_1, \dots, b_m],$$

        so $A$ of shape $[2, 45, 7]$ and $B$ of shape $[7, 3, 67]$ give shape $[2, 45, 3, 67]$. Contracting along $k$
        axes requires the last $k$ axes of $A$ to match the first $k$ of $B$: shapes $[2, 5, 4, 6]$ and
        $[4, 6, 8, 2]$ contract along 2 axes to $[2, 5, 8, 2]$. That is `np.tensordot(A, B, axes=k)`
        (and `ag.tensordot`).
        """),
        scratch("""
        A1, B1 = rng.normal(size=(2, 45, 7)), rng.normal(size=(7, 3, 67))
        print(np.tensordot(A1, B1, axes=1).shape)
        A2, B2 = rng.normal(size=(2, 5, 4, 6)), rng.normal(size=(4, 6, 8, 2))
        T = np.tensordot(A2, B2, axes=2)
        print(T.shape, np.allclose(T, np.einsum("abij,ijcd->abcd", A2, B2)))

        A2v, B2v = ag.Variable(A2), ag.Variable(B2)
        (ag.tensordot(A2v, B2v, axes=2) ** 2).sum().backward()
        print("tensordot backward has the operands' shapes:", A2v.grad.shape, B2v.grad.shape)
        """),
        markdown(r"""
        ### Tensors as linear maps, derivatives as tensors

        A tensor of shape $[2, 3, 4, 5]$ is a linear map from $2 \times 3$ matrices to $4 \times 5$ matrices:
        $M \mapsto \text{contract}(M, A, 2)$. In the same way, the derivative of
        $f: \mathbb{R}^{d_1 \times d_2 \times d_3} \to \mathbb{R}^{a \times b}$ is a tensor
        $D[f](x) \in \mathbb{R}^{d_1 \times d_2 \times d_3 \times a \times b}$ that turns a change of the input into the
        change of the output (`ag.jacobian` stores the output axes first instead).

        For a scalar function the derivative has the shape of the input (the gradient), and contracting
        it with a direction $X$ is $\text{sum}(X \odot D[f](x))$: the directional derivative, which is exactly
        what forward mode computes.
        """),
        scratch("""
        A4 = rng.normal(size=(2, 3, 4, 5))
        M23 = rng.normal(size=(2, 3))
        print("a 2x3 matrix maps to:", np.tensordot(M23, A4, axes=2).shape)

        x3 = rng.normal(size=(2, 3, 4))
        direction = rng.normal(size=(2, 3, 4))
        f3 = lambda t: (ag.sin(t) * t).sum()
        xv3 = ag.Variable(x3)
        f3(xv3).backward()
        print("sum(X * gradient):", np.sum(direction * xv3.grad))
        print("forward mode JVP: ", float(ag.jvp(f3, x3, direction)[1]))
        """),

        markdown(r"""
        ### Batched functions

        Given $f: \mathbb{R}^n \to \mathbb{R}^d$, its batched version applies it to every row:
        $f_{\text{batched}}(X)[i] = f(X[i])$ for $X \in \mathbb{R}^{B \times n}$. Row $i$ of the output depends only on row $i$
        of the input, so the full Jacobian (shape $B \times d \times B \times n$) is zero except for $B$ blocks on its
        "diagonal". Again it is never built: the VJP is one per-row product, which einsum writes as
        `'bd,bdn->bn'` with the stack of per-row Jacobians. Batched softmax is the standard example.
        """),
        scratch("""
        Bsz, C = 4, 3
        logits = rng.normal(size=(Bsz, C))
        G = rng.normal(size=(Bsz, C))
        P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        row_jacobians = np.einsum("bi,ij->bij", P, np.eye(C)) - np.einsum("bi,bj->bij", P, P)  # (B, C, C)
        full = ag.jacobian(lambda t: ag.softmax(t, axis=-1), logits)  # (B, C, B, C)
        off_diagonal = [full[b, :, b2] for b in range(Bsz) for b2 in range(Bsz) if b != b2]
        print("off-diagonal blocks are zero:", all(np.allclose(block, 0) for block in off_diagonal))
        vjp_einsum = np.einsum("bd,bdn->bn", G, row_jacobians)
        vjp_cheap = P * (G - np.sum(G * P, axis=1, keepdims=True))
        lv = ag.Variable(logits)
        ag.softmax(lv, axis=-1).backward(G)
        print("einsum VJP = cheap VJP = autodiff:", np.allclose(vjp_einsum, vjp_cheap), np.allclose(vjp_cheap, lv.grad))
        """),

        markdown(r"""
        ## Try it yourself

        * Write the VJP of $y = \tanh(Wx + b)$ with respect to $W$, $x$ and $b$ as einsums for a batch
          $X \in \mathbb{R}^{B \times n}$ (row convention, $Y = \tanh(XW + b)$), and check against `ag`.
        * What is the gradient of `np.einsum('ii->i', S)` (the diagonal) with respect to `S`?
        * Contract two tensors along 3 axes with `tensordot` and write the same with `einsum`.
        """),
        scratch(""),
    ])
