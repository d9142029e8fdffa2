"""Assignment 4: a multi-layer perceptron from its pieces, trained on spirals and digits."""

from .cells import markdown, notebook, scratch, setup, solution, tests

NAME = "04_mlp"


def introduction():
    """The assignment's overview and the locked setup cell."""
    return [
        markdown(r"""
        # Assignment 4: Multi-layer perceptrons

        A multi-layer perceptron (MLP) alternates **linear layers** and **activations**, ends in a
        **loss**, and is trained by **stochastic gradient descent**. In this assignment you write each
        of those pieces yourself, check them against finite differences, and then train networks:
        on the three spirals (and look at the decision regions) and on the 8x8 handwritten digits
        (and measure the accuracy on images the network never saw). The last part builds the
        universal approximation construction of the lecture notes out of sigmoid units.

        We use the row convention of the lecture code: a batch $X$ has one example per **row**, so a
        linear layer computes $Y = XW + b$ with $W$ of shape (inputs, outputs).

        Every exercise is graded on its own. The later exercises use `mini_autograd`'s reference
        pieces (`ag.nn.Linear`, `ag.cross_entropy`, `ag.optim.SGD`, ...), not your earlier functions,
        so a slip in one exercise does not cost you the next. Write your code where it says
        `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line) and run the test cell after
        each exercise. Hidden tests use more shapes, seeds and extreme values, so solve each problem
        in general. 100 points in total.
        """, id="intro"),
        setup("""
        import numpy as np
        import matplotlib.pyplot as plt

        import mini_autograd as ag
        from mini_autograd.training import accuracy, train_classifier
        from autograder.checks import check_function, check_operation, check_values, check_vjp, reference_functions
        from autograder.checks.training import (check_accuracy, check_bump, check_regularized_loss, check_sgd_steps,
                                                check_training)
        from autograder.checks.exercises import a04_mlp as known
        """, id="setup"),
    ]


def exercise_1_linear():
    """Exercise 1: a linear layer as an operation node (forward and backward graded apart)."""
    return [
        markdown(r"""
        ## Exercise 1: a linear layer as an operation node (15 points)

        Write the operation $Y = XW + b$ for a batch $X$ of shape $(N, \text{in})$, weights $W$ of
        shape $(\text{in}, \text{out})$ and a bias $b$ of shape $(\text{out},)$ (added to every row).

        `forward` receives the three input values and returns $Y$; `backward` receives
        $G = \partial L / \partial Y$ (shape $(N, \text{out})$) and returns the three gradients, each
        shaped like its input:

        $$\frac{\partial L}{\partial X} = G\, W^\top, \qquad \frac{\partial L}{\partial W} = X^\top G,
        \qquad \frac{\partial L}{\partial b} = \sum_{n=1}^{N} G_{n,:}.$$

        The bias gradient is summed over the batch because the same $b$ was used for every example.
        Keep the dtype of the inputs (float32 in, float32 out).
        """, id="ex1-text"),
        solution("""
        class LinearOp(ag.Operation):
            \"\"\"Y = X @ W + b with X (N, in), W (in, out), b (out,).\"\"\"

            def forward(self, X, W, b):
                ### BEGIN SOLUTION
                self.X, self.W = X, W
                return X @ W + b
                ### END SOLUTION

            def backward(self, grad_output):
                ### BEGIN SOLUTION
                grad_X = grad_output @ self.W.T
                grad_W = self.X.T @ grad_output
                grad_b = grad_output.sum(axis=0)
                return grad_X, grad_W, grad_b
                ### END SOLUTION
        """, id="ex1-solution"),
        tests("""
        linear_forward = known.forward_of(LinearOp)
        check_function(linear_forward, known.linear, [[(4, 3), (3, 2), (2,)]], "Exercise 1 (Linear forward)")
        ### BEGIN HIDDEN TESTS
        check_function(linear_forward, known.linear,
                       [[(1, 5), (5, 1), (1,)], [(7, 4), (4, 4), (4,)], [(32, 10), (10, 6), (6,)]],
                       "Exercise 1 (Linear forward)", seeds=(2, 3), domain=(-5, 5))
        check_operation(LinearOp, [[(4, 3), (3, 2), (2,)]], "Exercise 1 (Linear forward)",
                        reference=known.linear, check_backward=False)  # in place, float32
        ### END HIDDEN TESTS
        """, id="ex1-forward-tests", points=5),
        tests("""
        # check_forward=False: the forward pass has its own cell; here only the gradients count
        check_operation(LinearOp, [[(4, 3), (3, 2), (2,)]], "Exercise 1 (Linear backward)",
                        reference=known.linear, check_forward=False)
        ### BEGIN HIDDEN TESTS
        check_operation(LinearOp, [[(1, 5), (5, 1), (1,)], [(6, 4), (4, 4), (4,)], [(3, 3), (3, 3), (3,)],
                                   [(40, 12), (12, 5), (5,)]],
                        "Exercise 1 (Linear backward)", reference=known.linear, seeds=(3, 4),
                        check_forward=False)
        ### END HIDDEN TESTS
        """, id="ex1-backward-tests", points=10),
    ]


def exercise_2_activations():
    """Exercise 2: relu and sigmoid with their backward passes."""
    return [
        markdown(r"""
        ## Exercise 2: activations (10 points)

        Without an activation between them, two linear layers are one linear layer. Write the two
        activations of the lecture and their backward passes, as numpy functions of arrays of any
        shape:

        * ReLU: $\mathrm{relu}(x) = \max(x, 0)$, with derivative 1 where $x > 0$ and 0 elsewhere;
        * sigmoid: $\sigma(x) = 1 / (1 + e^{-x})$, with derivative $\sigma(x)\,(1 - \sigma(x))$.

        `relu_backward(x, grad_output)` and `sigmoid_backward(x, grad_output)` return
        $\partial L / \partial x$ given $\partial L / \partial y$ (the chain rule, elementwise).
        The sigmoid must give finite values for every input, including $x = \pm 1000$; the tests
        check that. (`np.exp(1000)` is `inf` in float64, and `inf / inf` is `nan`.)
        """, id="ex2-text"),
        solution("""
        def relu(x):
            ### BEGIN SOLUTION
            return np.maximum(x, 0.0)
            ### END SOLUTION


        def relu_backward(x, grad_output):
            ### BEGIN SOLUTION
            return grad_output * (x > 0)
            ### END SOLUTION


        def sigmoid(x):
            ### BEGIN SOLUTION
            return np.exp(-np.logaddexp(0.0, -x))
            ### END SOLUTION


        def sigmoid_backward(x, grad_output):
            ### BEGIN SOLUTION
            s = sigmoid(x)
            return grad_output * s * (1 - s)
            ### END SOLUTION
        """, id="ex2-solution"),
        tests("""
        check_function(relu, known.relu, [[(3, 4)], [(7,)]], "Exercise 2 (relu)")
        check_vjp(relu_backward, known.relu, [[(3, 4)]], "Exercise 2 (relu backward)", label="relu_backward",
                  avoid_zero=0.05)
        check_function(sigmoid, known.sigmoid, [[(3, 4)], [(7,)]], "Exercise 2 (sigmoid)", domain=(-6, 6))
        check_vjp(sigmoid_backward, known.sigmoid, [[(3, 4)]], "Exercise 2 (sigmoid backward)", label="sigmoid_backward")
        extreme = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
        check_values(sigmoid(extreme), [0.0, 0.0, 0.5, 1.0, 1.0], "Exercise 2 (sigmoid)",
                     "sigmoid([-1000, -40, 0, 40, 1000])", atol=1e-12)
        ### BEGIN HIDDEN TESTS
        check_function(relu, known.relu, [[(2, 3, 4)], [(1,)], [(50,)]], "Exercise 2 (relu)", seeds=(3, 4), domain=(-9, 9))
        check_vjp(relu_backward, known.relu, [[(2, 3, 2)], [(60,)]], "Exercise 2 (relu backward)", label="relu_backward",
                  avoid_zero=0.05, seeds=(5,), domain=(-4, 4))
        check_function(sigmoid, known.sigmoid, [[(2, 3, 4)], [(50,)]], "Exercise 2 (sigmoid)", seeds=(3, 4), domain=(-30, 30))
        check_vjp(sigmoid_backward, known.sigmoid, [[(2, 3, 2)], [(60,)]], "Exercise 2 (sigmoid backward)",
                  label="sigmoid_backward", seeds=(5,), domain=(-6, 6))
        check_values(sigmoid_backward(extreme, np.ones(5)), [0.0, 0.0, 0.25, 0.0, 0.0], "Exercise 2 (sigmoid backward)",
                     "sigmoid_backward at [-1000, -40, 0, 40, 1000]", atol=1e-12)
        check_values(sigmoid(extreme.astype(np.float32)), [0.0, 0.0, 0.5, 1.0, 1.0], "Exercise 2 (sigmoid)",
                     "sigmoid of float32 inputs [-1000, -40, 0, 40, 1000]", atol=1e-6)
        check_values(relu(np.array([-1000.0, -0.5, 0.0, 1000.0])), [0.0, 0.0, 0.0, 1000.0], "Exercise 2 (relu)",
                     "relu([-1000, -0.5, 0, 1000])")
        ### END HIDDEN TESTS
        """, id="ex2-tests", points=10),
    ]


def exercise_3_softmax_cross_entropy():
    """Exercise 3: softmax, cross-entropy and its gradient, numerically stable."""
    return [
        markdown(r"""
        ## Exercise 3: softmax and cross-entropy, numerically stable (20 points)

        A classifier's last layer outputs one score (logit) $z_c$ per class. **Softmax** turns a row
        of logits into probabilities, and the **cross-entropy** of the correct class $y$ is the loss:

        $$p_c = \frac{e^{z_c}}{\sum_k e^{z_k}}, \qquad
        \ell(z, y) = -\log p_y = -z_y + \log \sum_k e^{z_k}.$$

        For a batch, the loss is the **mean** of $\ell$ over the $N$ rows, and its gradient with
        respect to the logits is
        $$\frac{\partial L}{\partial z_{n,c}} = \frac{p_{n,c} - [c = y_n]}{N}.$$

        Computed as written, $e^{1000}$ overflows to `inf` and $e^{-1000}$ underflows to 0. Softmax
        does not change when the same number is subtracted from every logit of a row, so subtract
        the row's **maximum** first: then the largest exponent is $e^0 = 1$. For the loss, compute
        $\log p_y = (z_y - m) - \log \sum_k e^{z_k - m}$ (with $m$ the row's maximum) instead of taking the
        log of a probability that may have underflowed to 0.

        * `softmax(logits)`: softmax along the **last** axis, for arrays of any shape.
        * `cross_entropy(logits, labels)`: logits $(N, C)$, integer labels $(N,)$; the mean loss, a number.
        * `cross_entropy_grad(logits, labels)`: $\partial L / \partial z$, shape $(N, C)$.

        All three must stay finite (and correct) for logits of $\pm 1000$, in float64 and float32.
        You may call your `softmax` in the other two: their tests run them with a reference softmax,
        so a slip in `softmax` costs only the softmax points.
        """, id="ex3-text"),
        solution("""
        def softmax(logits):
            ### BEGIN SOLUTION
            shifted = logits - np.max(logits, axis=-1, keepdims=True)
            e = np.exp(shifted)
            return e / np.sum(e, axis=-1, keepdims=True)
            ### END SOLUTION


        def cross_entropy(logits, labels):
            ### BEGIN SOLUTION
            shifted = logits - np.max(logits, axis=-1, keepdims=True)
            log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
            return -np.mean(log_probs[np.arange(len(labels)), labels])
            ### END SOLUTION


        def cross_entropy_grad(logits, labels):
            ### BEGIN SOLUTION
            grad = softmax(logits)
            grad[np.arange(len(labels)), labels] -= 1
            return grad / len(labels)
            ### END SOLUTION
        """, id="ex3-solution"),
        tests("""
        check_function(softmax, known.softmax, [[(4, 3)], [(6,)]], "Exercise 3 (softmax)", domain=(-5, 5))
        extreme = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, -1000.0]])
        check_values(softmax(extreme), [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], "Exercise 3 (softmax)", "softmax of logits +-1000")
        ### BEGIN HIDDEN TESTS
        check_function(softmax, known.softmax, [[(1, 1)], [(2, 3, 5)], [(64, 10)]], "Exercise 3 (softmax)",
                       domain=(-50, 50), seeds=(5, 6))
        # float32 keeps about 7 digits: at logits of size 1000 the exponents are right to about 1e-4
        check_values(softmax(extreme.astype(np.float32)), [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], "Exercise 3 (softmax)",
                     "softmax of float32 logits +-1000", atol=1e-4, rtol=1e-4)
        low = np.array([[-1000.0, -1001.0, -1002.0], [-800.0, -800.0, -800.0]])
        check_values(softmax(low), ag.softmax(low).value, "Exercise 3 (softmax)", "softmax of logits near -1000")
        check_values(softmax(low.astype(np.float32)), ag.softmax(low).value, "Exercise 3 (softmax)",
                     "softmax of float32 logits near -1000", atol=1e-4, rtol=1e-4)
        ### END HIDDEN TESTS
        """, id="ex3-softmax-tests", points=5),
        tests("""
        with reference_functions(globals(), softmax=known.softmax):  # judge only this exercise
            labels = np.array([0, 2, 1, 2])
            known.check_cross_entropy(cross_entropy, labels, [[(4, 3)]], "Exercise 3 (cross-entropy)", domain=(-5, 5))
            extreme = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, -1000.0]])
            extreme_labels = np.array([1, 2])
            check_values(cross_entropy(extreme, extreme_labels), ag.cross_entropy(extreme, extreme_labels).value,
                         "Exercise 3 (cross-entropy)", "cross_entropy of logits +-1000")
        ### BEGIN HIDDEN TESTS
        with reference_functions(globals(), softmax=known.softmax):  # judge only this exercise
            for n, c, seed in ((1, 2, 3), (7, 5, 4), (64, 10, 5)):
                labels = np.random.default_rng(seed).integers(0, c, size=n)
                known.check_cross_entropy(cross_entropy, labels, [[(n, c)]], "Exercise 3 (cross-entropy)", domain=(-30, 30),
                                          seeds=(seed,))
            check_values(cross_entropy(extreme.astype(np.float32), extreme_labels),
                         ag.cross_entropy(extreme, extreme_labels).value, "Exercise 3 (cross-entropy)",
                         "cross_entropy of float32 logits +-1000")
            low = np.array([[-1000.0, -1001.0, -1002.0], [-800.0, -800.0, -800.0]])
            check_values(cross_entropy(low, np.array([2, 0])), ag.cross_entropy(low, np.array([2, 0])).value,
                         "Exercise 3 (cross-entropy)", "cross_entropy of logits near -1000")
        ### END HIDDEN TESTS
        """, id="ex3-loss-tests", points=5),
        tests("""
        with reference_functions(globals(), softmax=known.softmax):  # judge only this exercise
            labels = np.array([0, 2, 1, 2])
            known.check_cross_entropy_grad(cross_entropy_grad, labels, [[(4, 3)]], "Exercise 3 (cross-entropy gradient)")
            extreme = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, -1000.0]])
            extreme_labels = np.array([1, 2])
            check_values(cross_entropy_grad(extreme, extreme_labels), known.cross_entropy_gradient(extreme, extreme_labels),
                         "Exercise 3 (cross-entropy gradient)", "cross_entropy_grad of logits +-1000")
        ### BEGIN HIDDEN TESTS
        with reference_functions(globals(), softmax=known.softmax):  # judge only this exercise
            for n, c, seed in ((1, 3, 3), (6, 5, 4), (32, 10, 5)):
                labels = np.random.default_rng(seed).integers(0, c, size=n)
                known.check_cross_entropy_grad(cross_entropy_grad, labels, [[(n, c)]], "Exercise 3 (cross-entropy gradient)",
                                               seeds=(seed,), domain=(-4, 4))
            check_values(cross_entropy_grad(extreme.astype(np.float32), extreme_labels),
                         known.cross_entropy_gradient(extreme, extreme_labels),
                         "Exercise 3 (cross-entropy gradient)", "cross_entropy_grad of float32 logits +-1000",
                         atol=1e-4, rtol=1e-4)
            low = np.array([[-1000.0, -1001.0, -1002.0], [-800.0, -800.0, -800.0]])
            check_values(cross_entropy_grad(low, np.array([2, 0])), known.cross_entropy_gradient(low, np.array([2, 0])),
                         "Exercise 3 (cross-entropy gradient)", "cross_entropy_grad of logits near -1000")
        ### END HIDDEN TESTS
        """, id="ex3-gradient-tests", points=10),
    ]


def exercise_4_mse():
    """Exercise 4: the squared loss and its gradient, with the broadcasting trap."""
    return [
        markdown(r"""
        ## Exercise 4: the squared loss for regression (10 points)

        For regression the network has one output per example and the loss is the mean squared error
        $$L = \frac{1}{M} \sum_{i} (\hat y_i - y_i)^2, \qquad
        \frac{\partial L}{\partial \hat y_i} = \frac{2}{M} (\hat y_i - y_i),$$
        with $M$ the number of entries (the notes use $\tfrac{1}{2}\sum_i$ instead of the mean: the
        same minimum, a different scale).

        `mse(pred, target)` returns $L$ (a number) and `mse_grad(pred, target)` returns
        $\partial L / \partial \hat y$, shaped like `pred`. **Watch the shapes**: a network's prediction
        has shape $(N, 1)$ while the targets usually come as $(N,)$. Numpy broadcasts $(N, 1) - (N,)$
        to an $(N, N)$ matrix of every prediction minus every target, without any error. Reshape
        `target` to the shape of `pred` first. (`pred` may also have shape $(N,)$ or $(N, k)$, with a
        target of the same shape.)
        """, id="ex4-text"),
        solution("""
        def mse(pred, target):
            ### BEGIN SOLUTION
            target = np.reshape(target, np.shape(pred))
            return np.mean((pred - target) ** 2)
            ### END SOLUTION


        def mse_grad(pred, target):
            ### BEGIN SOLUTION
            target = np.reshape(target, np.shape(pred))
            return 2 * (pred - target) / np.size(pred)
            ### END SOLUTION
        """, id="ex4-solution"),
        tests("""
        check_function(mse, known.mse, [[(5, 1), (5,)], [(4, 3), (4, 3)]], "Exercise 4 (MSE)",
                       known_mistakes=known.MSE_MISTAKES)
        check_vjp(known.mse_vjp(mse_grad), known.mse, [[(5, 1), (5,)], [(4, 3), (4, 3)]], "Exercise 4 (MSE gradient)",
                  label="mse_grad")
        ### BEGIN HIDDEN TESTS
        shapes = [[(1, 1), (1,)], [(8,), (8,)], [(6, 2), (6, 2)], [(50, 1), (50,)]]
        check_function(mse, known.mse, shapes, "Exercise 4 (MSE)", seeds=(3, 4), domain=(-10, 10),
                       known_mistakes=known.MSE_MISTAKES)
        check_vjp(known.mse_vjp(mse_grad), known.mse, shapes, "Exercise 4 (MSE gradient)", label="mse_grad", seeds=(3,))
        check_values(mse(np.array([[1.0], [2.0], [3.0]]), np.array([1.0, 2.0, 5.0])), 4 / 3, "Exercise 4 (MSE)",
                     "mse of a (3, 1) prediction against a (3,) target")
        ### END HIDDEN TESTS
        """, id="ex4-tests", points=10),
    ]


def exercise_5_l2():
    """Exercise 5: the L2 penalty, its gradient, and a regularised loss built from Variables."""
    return [
        markdown(r"""
        ## Exercise 5: L2 regularisation (10 points)

        Large weights make a network's output change fast with its input, and let it fit the noise of
        the training data. **L2 regularisation** adds the squared size of the weight matrices to the
        loss (the biases are usually left alone):
        $$L_\text{reg} = L + \lambda \sum_{\ell} \lVert W_\ell \rVert^2 = L + \lambda \sum_\ell \sum_{i,j} (W_\ell)_{ij}^2,
        \qquad \frac{\partial L_\text{reg}}{\partial W_\ell} = \frac{\partial L}{\partial W_\ell} + 2 \lambda W_\ell.$$

        A gradient step then shrinks every weight by the factor $(1 - 2\eta\lambda)$ before following
        the loss: that is why it is also called **weight decay**. (`ag.optim.SGD(params, lr,
        weight_decay=d)` adds $d\,W$ to every gradient, which is this penalty with $\lambda = d / 2$,
        applied to the biases too.)

        1. `l2_penalty(weights, lam)` and `l2_penalty_grad(weights, lam)` in numpy: `weights` is a
           list of arrays; return the penalty (a number) and the list of its gradients.
        2. `regularized_loss(model, X, y, lam)` for an `ag.nn.MLP`: the mean cross-entropy
           `ag.cross_entropy(model(X), y)` plus the penalty of the model's weight matrices (its
           parameters with two dimensions), built from the **Variables** with `ag` operations, so that
           `loss.backward()` also gives the penalty's gradient. (A penalty computed from `W.value` with
           numpy changes the loss's value but not its gradient: the regulariser would have no effect
           on training.)
        """, id="ex5-text"),
        solution("""
        def l2_penalty(weights, lam):
            ### BEGIN SOLUTION
            return lam * sum(np.sum(W**2) for W in weights)
            ### END SOLUTION


        def l2_penalty_grad(weights, lam):
            ### BEGIN SOLUTION
            return [2 * lam * W for W in weights]
            ### END SOLUTION


        def regularized_loss(model, X, y, lam):
            ### BEGIN SOLUTION
            loss = ag.cross_entropy(model(X), y)
            for W in model.parameters():
                if W.ndim == 2:
                    loss = loss + lam * (W * W).sum()
            return loss
            ### END SOLUTION
        """, id="ex5-solution"),
        tests("""
        known.check_l2_penalty(l2_penalty, 0.1, [[(3, 4), (4, 2)]], "Exercise 5 (L2 penalty)")
        known.check_l2_penalty_grad(l2_penalty_grad, 0.1, [[(3, 4), (4, 2)]], "Exercise 5 (L2 penalty gradient)")
        ### BEGIN HIDDEN TESTS
        shapes = [[(5, 7), (7, 7), (7, 2)]]
        known.check_l2_penalty(l2_penalty, 0.03, shapes, "Exercise 5 (L2 penalty)", seeds=(4, 5), domain=(-3, 3))
        known.check_l2_penalty_grad(l2_penalty_grad, 0.03, shapes, "Exercise 5 (L2 penalty gradient)", seeds=(4,))
        check_values(l2_penalty([np.ones((2, 3))], 0.0), 0.0, "Exercise 5 (L2 penalty)", "l2_penalty with lam = 0")
        ### END HIDDEN TESTS
        """, id="ex5-penalty-tests", points=5),
        tests("""
        check_regularized_loss(regularized_loss, "Exercise 5 (regularized loss)")
        ### BEGIN HIDDEN TESTS
        check_regularized_loss(regularized_loss, "Exercise 5 (regularized loss)",
                               cases=[((5, 8, 8, 4), 6, 0.01, 3), ((3, 2), 5, 0.5, 4), ((4, 6, 3), 8, 0.0, 5)])
        ### END HIDDEN TESTS
        """, id="ex5-loss-tests", points=5),
    ]


def exercise_6_sgd():
    """Exercise 6: a minibatch SGD loop, checked step by step and by training on the spirals."""
    return [
        markdown(r"""
        ## Exercise 6: a minibatch SGD loop (15 points)

        Write `train(model, X, y, epochs, lr, batch_size, seed)`, which trains `model` (an
        `ag.nn.MLP`) on the mean cross-entropy with plain stochastic gradient descent and returns the
        list of the mean training loss of each epoch. In every **epoch**:

        1. shuffle the examples (with `np.random.default_rng(seed)`, created once before the first
           epoch), keeping each `X[i]` with its `y[i]`;
        2. go through them in minibatches of `batch_size` rows (the last one may be smaller: every
           example is used exactly once per epoch); for each minibatch
           * reset the gradients of all parameters (`p.grad = None`): they **accumulate** otherwise,
           * compute the loss with the reference `ag.cross_entropy(model(X_batch), y_batch)` and call
             `loss.backward()`,
           * update every parameter in place: `p.value -= lr * p.grad`, for `p` in `model.parameters()`;
        3. append the mean of the epoch's minibatch losses (as a Python `float`) to the returned list.

        The first test cell checks your steps exactly on small data; the second trains a network on
        the three spirals and checks that the loss falls and the accuracy exceeds 90%.
        """, id="ex6-text"),
        solution("""
        def train(model, X, y, epochs, lr, batch_size, seed=0):
            ### BEGIN SOLUTION
            rng = np.random.default_rng(seed)
            params = model.parameters()
            history = []
            for epoch in range(epochs):
                order = rng.permutation(len(X))
                batch_losses = []
                for start in range(0, len(X), batch_size):
                    rows = order[start:start + batch_size]
                    for p in params:
                        p.grad = None
                    loss = ag.cross_entropy(model(X[rows]), y[rows])
                    loss.backward()
                    for p in params:
                        p.value -= lr * p.grad
                    batch_losses.append(float(loss.value))
                history.append(float(np.mean(batch_losses)))
            return history
            ### END SOLUTION
        """, id="ex6-solution"),
        tests("""
        check_sgd_steps(train, "Exercise 6 (SGD steps)")
        ### BEGIN HIDDEN TESTS
        check_sgd_steps(train, "Exercise 6 (SGD steps)", seeds=(1, 2), sizes=(4, 6, 6, 3), lr=0.05)
        ### END HIDDEN TESTS
        """, id="ex6-steps-tests", points=10),
        tests("""
        losses = check_training(train, "Exercise 6 (training on spirals)")
        print(f"mean loss of the first epoch {losses[0]:.3f}, of the last epoch {losses[-1]:.3f}")
        ### BEGIN HIDDEN TESTS
        losses = check_training(train, "Exercise 6 (training on spirals)", data_seed=1, model_seed=3, seed=7, epochs=50,
                                batch_size=20, lr=0.4)
        ### END HIDDEN TESTS
        """, id="ex6-spirals-tests", points=5),
    ]


def decision_regions():
    """Not graded: the decision regions of an MLP trained on the spirals."""
    return [
        markdown(r"""
        ### The decision regions

        The cell below trains an MLP on the spirals with the reference pieces (`train_classifier`
        and SGD with momentum) and colours every point of the plane by the class the network
        predicts there. Each ReLU unit bends the boundary along one line, so the regions are
        polygons; with enough units they follow the spiral arms.
        """, id="boundary-text"),
        setup("""
        def plot_decision_regions(model, X, y, ax, resolution=200):
            \"\"\"Colour the plane by the class the model predicts, and draw the data on top.\"\"\"
            x0 = np.linspace(X[:, 0].min() - 0.25, X[:, 0].max() + 0.25, resolution)
            x1 = np.linspace(X[:, 1].min() - 0.25, X[:, 1].max() + 0.25, resolution)
            g0, g1 = np.meshgrid(x0, x1)
            with ag.no_grad():
                scores = model(np.column_stack([g0.ravel(), g1.ravel()])).value
            n_classes = scores.shape[1]
            regions = scores.argmax(axis=1).reshape(g0.shape)
            ax.contourf(g0, g1, regions, levels=np.arange(n_classes + 1) - 0.5, cmap="tab10", vmin=0, vmax=9, alpha=0.3)
            ax.scatter(X[:, 0], X[:, 1], c=y, cmap="tab10", vmin=0, vmax=9, s=12, edgecolors="k", linewidths=0.3)
            ax.set_aspect("equal")


        X_spirals, y_spirals = ag.data.make_spirals(n_per_class=100, n_classes=3, seed=0)
        spiral_model = ag.nn.MLP([2, 64, 64, 3], rng=0)
        spiral_losses = train_classifier(spiral_model, ag.optim.SGD(spiral_model.parameters(), lr=0.1, momentum=0.9),
                                         X_spirals, y_spirals, epochs=60, batch_size=32)
        fig, (ax_loss, ax_regions) = plt.subplots(1, 2, figsize=(11, 4.5))
        ax_loss.plot(spiral_losses)
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("mean cross-entropy")
        ax_loss.set_yscale("log")
        plot_decision_regions(spiral_model, X_spirals, y_spirals, ax_regions)
        ax_regions.set_title(f"training accuracy {accuracy(spiral_model, X_spirals, y_spirals):.0%}")
        plt.show()
        """, id="boundary-plot"),
        scratch("""
        # Try it with your own train (and other sizes: [2, 8, 3]? [2, 256, 3]?), for example:
        # model = ag.nn.MLP([2, 64, 64, 3], rng=1)
        # losses = train(model, X_spirals, y_spirals, epochs=60, lr=0.5, batch_size=32)
        # fig, ax = plt.subplots(figsize=(5, 5))
        # plot_decision_regions(model, X_spirals, y_spirals, ax)
        # plt.show()
        """),
    ]


def exercise_7_digits():
    """Exercise 7: an MLP for the handwritten digits, judged on held-out images."""
    return [
        markdown(r"""
        ## Exercise 7: handwritten digits (10 points)

        The digits are 1,797 images of 8x8 pixels (64 inputs, scaled to [0, 1]) of the digits 0 to 9.
        A quarter of them is held out: the network never trains on them, and its accuracy on them
        estimates how well it does on new images.

        Write `fit_digits(X_train, y_train, seed)` that builds an `ag.nn.MLP` (with `rng=seed`),
        trains it on the given training data only, and returns it. Use the reference pieces:
        `ag.optim.SGD` (momentum helps a lot here) and `train_classifier(model, optimizer, X, y,
        epochs, batch_size, seed)`. It must reach **at least 95%** held-out accuracy, and train in a
        few seconds: a network with sizes `[64, 128, 64, 10]`, a learning rate of 0.1 with momentum
        0.9 and about 20 epochs of batches of 32 reaches about 97% in a second or two. The hidden test
        trains again with another seed on another split, with the pixels in another order.
        """, id="ex7-text"),
        setup("""
        X_digits, y_digits = ag.data.load_digits()
        X_train, X_test, y_train, y_test = ag.data.train_test_split(X_digits, y_digits, test_fraction=0.25, seed=0)
        fig, axes = plt.subplots(1, 10, figsize=(10, 1.3))
        for ax, image, label in zip(axes, X_train, y_train):
            ax.imshow(image.reshape(8, 8), cmap="gray_r")
            ax.set_title(str(label))
            ax.axis("off")
        plt.show()
        print(f"{len(X_train)} training images, {len(X_test)} held-out images")
        """, id="ex7-data"),
        solution("""
        def fit_digits(X_train, y_train, seed=0):
            ### BEGIN SOLUTION
            model = ag.nn.MLP([64, 128, 64, 10], rng=seed)
            optimizer = ag.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
            train_classifier(model, optimizer, X_train, y_train, epochs=20, batch_size=32, seed=seed)
            return model
            ### END SOLUTION
        """, id="ex7-solution"),
        tests("""
        digits_model = fit_digits(X_train, y_train, seed=0)
        held_out = check_accuracy(digits_model, X_test, y_test, 0.95, "Exercise 7 (digits)")
        print(f"held-out accuracy: {held_out:.1%}")
        ### BEGIN HIDDEN TESTS
        pixels = np.random.default_rng(2024).permutation(64)
        X_a, X_b, y_a, y_b = ag.data.train_test_split(X_digits[:, pixels], y_digits, test_fraction=0.25, seed=5)
        held_out = check_accuracy(fit_digits(X_a, y_a, seed=1), X_b, y_b, 0.95, "Exercise 7 (digits)",
                                  "the held-out accuracy on another split (another seed, pixels in another order)")
        ### END HIDDEN TESTS
        """, id="ex7-tests", points=10),
    ]


def exercise_8_universal_approximation():
    """Exercise 8: the universal approximation construction from sigmoid units."""
    return [
        markdown(r"""
        ## Exercise 8: the universal approximation construction (10 points)

        A network with one hidden layer of $H$ sigmoid units, one input $x$ and one output computes
        $$f(x) = \sum_{h=1}^{H} v_h\, \sigma(w_h x + b_h).$$
        The universal approximation theorem says that such sums approximate any continuous function
        on $[0, 1]$ as closely as we like, given enough units. The notes show why:

        * one unit $\sigma(wx + b)$ is a soft step at $x = -b/w$, the sharper the larger $w$
          ($w = 5, b = 0$; $w = 5, b = 3$; $w = 10, b = -7$; and $w = 100, b = -20$, nearly a step at $x = 0.2$);
        * two steep units with output weights $+1$ and $-1$ make a **bump**: $w_1 = w_2 = 100$,
          $b_1 = -20$, $b_2 = -40$, $v = (1, -1)$ is 1 on $[0.2, 0.4]$ and 0 elsewhere;
          $b = (-60, -80)$ with $v = (2, -2)$ is a bump of height 2 on $[0.6, 0.8]$;
        * enough bumps side by side make a staircase that follows any continuous function.

        1. `sigmoid_network(x, w, b, v)`: $f$ at every element of the 1-D array `x`, for 1-D arrays
           `w`, `b`, `v` of length $H$ (no Python loop over `x` needed: `np.outer`, or broadcasting).
           Use the reference `ag.sigmoid(z).value`, so that this exercise does not depend on yours.
        2. `bump_parameters(left, right, height, steepness=100.0)`: return `(w, b, v)`, arrays for two
           units whose network is `height` on $(\text{left}, \text{right})$ and 0 elsewhere, with
           steps of slope `steepness` (the notes' bump is `bump_parameters(0.2, 0.4, 1.0)`).
        """, id="ex8-text"),
        solution("""
        def sigmoid_network(x, w, b, v):
            ### BEGIN SOLUTION
            z = np.outer(x, w) + b
            return ag.sigmoid(z).value @ v
            ### END SOLUTION


        def bump_parameters(left, right, height, steepness=100.0):
            ### BEGIN SOLUTION
            w = np.array([steepness, steepness])
            b = np.array([-steepness * left, -steepness * right])
            v = np.array([height, -height])
            return w, b, v
            ### END SOLUTION
        """, id="ex8-solution"),
        tests("""
        w, b, v = np.array([100.0, 100.0]), np.array([-20.0, -40.0]), np.array([1.0, -1.0])
        known.check_sigmoid_network(sigmoid_network, w, b, v, [[(11,)]], "Exercise 8 (sigmoid network)", domain=(0, 1))
        ### BEGIN HIDDEN TESTS
        rng = np.random.default_rng(8)
        for units in (1, 5, 12):
            w, b, v = rng.normal(0, 10, units), rng.normal(0, 5, units), rng.normal(0, 2, units)
            known.check_sigmoid_network(sigmoid_network, w, b, v, [[(1,)], [(40,)]], "Exercise 8 (sigmoid network)",
                                        domain=(-2, 2), seeds=(units,))
        ### END HIDDEN TESTS
        """, id="ex8-network-tests", points=5),
        tests("""
        check_bump(bump_parameters, [(0.2, 0.4, 1.0, 100.0), (0.6, 0.8, 2.0, 100.0)], "Exercise 8 (a bump)")
        ### BEGIN HIDDEN TESTS
        check_bump(bump_parameters, [(0.1, 0.7, -1.5, 50.0), (0.45, 0.5, 3.0, 400.0), (-1.0, 2.0, 0.5, 20.0)],
                   "Exercise 8 (a bump)")
        ### END HIDDEN TESTS
        """, id="ex8-bump-tests", points=5),
    ]


def playground():
    """Not graded: the universal approximation widget and a staircase to try."""
    return [
        markdown(r"""
        ### Playground

        Move the sliders: $w$ sets how steep a unit's step is, $-b/w$ where it is, and $v$ its height
        (and direction). Start from the notes' examples in the drop-down list, then try to build three
        bumps, or a ramp from many small steps. What happens to a bump when $w$ is 10 instead of 100?
        """, id="playground-text"),
        setup("""
        from course.widgets.universal_approximation import UniversalApproximationWidget

        UniversalApproximationWidget(units=4, preset="both bumps: four units")
        """, id="playground"),
        scratch("""
        # The staircase of the notes from your bump_parameters: two bumps, four units.
        # x = np.linspace(0, 1, 400)
        # w1, b1, v1 = bump_parameters(0.2, 0.4, 1.0)
        # w2, b2, v2 = bump_parameters(0.6, 0.8, 2.0)
        # plt.plot(x, sigmoid_network(x, np.concatenate([w1, w2]), np.concatenate([b1, b2]), np.concatenate([v1, v2])))
        # plt.show()
        """),
    ]


def build():
    """The notebook, exercise by exercise."""
    return notebook([*introduction(), *exercise_1_linear(), *exercise_2_activations(),
                     *exercise_3_softmax_cross_entropy(), *exercise_4_mse(), *exercise_5_l2(), *exercise_6_sgd(),
                     *decision_regions(), *exercise_7_digits(), *exercise_8_universal_approximation(), *playground()])
