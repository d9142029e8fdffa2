"""Lecture 4: multi-layer perceptrons, universal approximation, and training with SGD.

The section on universal approximation uses the widget of ``course.widgets.universal_approximation``.
"""

from __future__ import annotations

from .cells import markdown, notebook, scratch

NAME = "04_mlps_and_universal_approximation"

def _universal_approximation_cells() -> list[dict]:
    explore = [
        markdown(r"""
        ### Explore: more bumps, sharper steps

        Change `n_bumps` and `sharpness` and run the cell again. With too few bumps the staircase is
        coarse; with steps that are not sharp enough (small `sharpness` compared with `n_bumps`) the
        bumps blur into each other and the approximation is smooth but biased.
        """),
        scratch("""
        n_bumps, sharpness = 12, 40

        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.plot(xs, target(xs), "k", lw=2, label="target g")
        ax.plot(xs, bump_network(target, n_bumps, sharpness * n_bumps)(xs), label=f"{n_bumps} bumps")
        ax.legend()
        plt.show()
        """),
    ]
    return [
        markdown(r"""
        ### Explore: build the bumps yourself

        The widget below is a one-hidden-layer network of sigmoid units with a slider for each unit's
        weight $w$, bias $b$ and output weight $v$. Start from the notes' examples in the dropdown, then move
        the sliders: where does a unit's step sit, what does a larger $w$ do, and which output weights turn
        two steps into a bump?
        """),
        scratch("""
        from course.widgets.universal_approximation import UniversalApproximationWidget

        UniversalApproximationWidget()
        """),
        *explore,
    ]


def build():
    return notebook([
        markdown(r"""
        # Lecture 4: Multi-layer perceptrons and universal approximation

        With reverse mode we can differentiate any program built from differentiable pieces. This
        lecture turns to the programs we most want to differentiate: neural networks.

        1. Linear models are one-layer networks, and stacking linear layers gains nothing.
        2. Nonlinear activations: hand-made features versus learned ones.
        3. A two-layer network for regression, trained by gradient descent.
        4. The universal approximation theorem, and a construction you can see.
        5. Classification: softmax, cross-entropy, SGD, L2 regularisation.
        6. A training dashboard: an MLP learning the spirals, with a learning-rate slider.
        """),
        scratch("""
        import numpy as np
        import matplotlib.pyplot as plt

        import mini_autograd as ag
        from course.widgets import Trainer, TrainingDashboard
        """),

        markdown(r"""
        ## 1. Linear models are shallow networks

        A linear model $f(x) = w^\top x + b$ is a network with one layer and no hidden units. Adding
        layers without anything in between does not help: $f(x) = w_2 (w_1 x)$ is still linear in $x$,
        since $W_2 W_1$ is just another matrix.
        """),
        scratch("""
        rng = np.random.default_rng(0)
        W1, W2 = rng.normal(size=(5, 3)), rng.normal(size=(3, 2))  # row convention: x @ W1 @ W2
        x = rng.normal(size=(4, 5))
        print("two linear layers equal one:", np.allclose((x @ W1) @ W2, x @ (W1 @ W2)))
        """),

        markdown(r"""
        ## 2. Nonlinearity: features by hand or learned

        One way to fit curved data with a linear model is to invent features, e.g. polynomial regression
        $f(x) = w_0 + w_1 x + w_2 x^2 + \dots + w_n x^n$: a linear model of the features $1, x, x^2, \dots$.
        Choosing good features by hand is hard. A network instead **learns** its features, by putting a
        nonlinear activation between linear layers: $f(x) = w_2\, a(w_1 x)$ with, for example,

        $$a(u) = \max(0, u) \;\;\text{(ReLU)}, \qquad a(u) = \frac{1}{1 + e^{-u}} \;\;\text{(sigmoid)}, \qquad a(u) = \tanh(u).$$

        A network of linear layers and ReLUs is **piecewise linear**: each hidden unit adds one kink.
        """),
        scratch("""
        u = np.linspace(-4, 4, 400)
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
        axes[0].plot(u, np.maximum(u, 0), label="ReLU")
        axes[0].plot(u, 1 / (1 + np.exp(-u)), label="sigmoid")
        axes[0].plot(u, np.tanh(u), label="tanh")
        axes[0].legend()
        axes[0].set_title("activations")

        net = ag.nn.MLP([1, 8, 1], activation="relu", rng=3)
        net[0].bias.value[:] = np.random.default_rng(4).normal(0, 2, size=8)  # biases start at 0: spread them out
        with ag.no_grad():
            out = net(ag.constant(u[:, None])).value[:, 0]
        axes[1].plot(u, out)
        W, b = net[0].weight.value[0], net[0].bias.value
        kinks = -b / W  # where each hidden unit switches on or off
        kinks = kinks[np.abs(kinks) < 4]
        axes[1].plot(kinks, np.interp(kinks, u, out), "o", label="kinks")
        axes[1].set_title("a random ReLU network with 8 hidden units")
        axes[1].legend()
        plt.show()
        """),

        markdown(r"""
        ## 3. A two-layer network for regression

        The notes' setting: data $\{(x^{(i)}, y^{(i)})\}_{i=1}^N$, parameters $\theta = \{W_1, W_2\}$, the model
        $f_\theta(x) = W_2\, \sigma(W_1 x)$ and the squared loss

        $$L(\theta) = \frac12 \sum_{i=1}^N \left(y^{(i)} - f_\theta(x^{(i)})\right)^2 .$$

        Three questions from the notes. *Can we take the gradients with respect to $\theta$?* Yes: that is
        what reverse mode does, for any architecture. *Is there a closed-form solution?* No: unlike linear
        least squares, setting the gradient to zero gives nonlinear equations. *Is $L$ convex?* No: for
        a start, swapping two hidden units gives a different $\theta$ with the same loss, and the midpoint of
        two minima is usually not a minimum. So we use **gradient descent**:

        $$W \leftarrow W - \alpha \frac{\partial L}{\partial W} \qquad (\alpha: \text{the step size or learning rate}).$$

        Below, `ag.nn.MLP([1, 32, 1], activation="tanh")` (with biases) learns a noisy sine; `ag.optim.SGD`
        performs the update (with momentum, a running average of past gradients).
        """),
        scratch("""
        rng = np.random.default_rng(0)
        X = np.linspace(-3, 3, 60)[:, None]
        Y = np.sin(X) + 0.1 * rng.normal(size=X.shape)

        model = ag.nn.MLP([1, 32, 1], activation="tanh", rng=0)
        optimizer = ag.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        losses = []
        for step in range(1500):
            optimizer.zero_grad()
            loss = ag.mse_loss(model(ag.constant(X)), ag.constant(Y))
            loss.backward()
            optimizer.step()
            losses.append(float(loss.value))

        grid = np.linspace(-3.5, 3.5, 300)[:, None]
        with ag.no_grad():
            prediction = model(ag.constant(grid)).value
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
        axes[0].semilogy(losses)
        axes[0].set_xlabel("step")
        axes[0].set_title("mean squared error")
        axes[1].plot(X, Y, ".", label="data")
        axes[1].plot(grid, prediction, label="network")
        axes[1].plot(grid, np.sin(grid), "--", label="sin")
        axes[1].legend()
        plt.show()
        print(f"final loss {losses[-1]:.4f} (the noise alone contributes about {0.1**2:.4f})")
        """),

        markdown(r"""
        ## 4. The universal approximation theorem

        > A network with a single hidden layer can approximate any continuous function on a compact set
        > arbitrarily well, given enough hidden units. This holds for many activations: sigmoid, tanh, ReLU, ...

        Cybenko's version (1989): let $\sigma$ be a sigmoidal function. Then the finite sums

        $$f(x) = \sum_{i=1}^N \alpha_i\, \sigma(w_i^\top x + b_i)$$

        are dense in $C([0, 1]^n)$: for every continuous $g$ and every $\varepsilon > 0$ there is such an $f$ with
        $|f(x) - g(x)| < \varepsilon$ for all $x \in [0, 1]^n$.

        The theorem is not constructive, but in one dimension a construction is easy to see.

        **Step 1: a sigmoid is a soft step.** $\sigma(wx + b)$ rises around $x = -b/w$, and the larger $w$, the
        sharper the step. The notes' four examples:
        """),
        scratch("""
        def sigmoid(u):
            return 1 / (1 + np.exp(-u))


        xs = np.linspace(0, 1, 500)
        fig, axes = plt.subplots(1, 4, figsize=(13, 2.8), sharey=True)
        for ax, (w, b) in zip(axes, [(5, 0), (5, 3), (10, -7), (100, -20)]):
            ax.plot(xs, sigmoid(w * xs + b))
            ax.set_title(f"w = {w}, b = {b}  (step at {-b / w:.2f})")
        plt.show()
        """),
        markdown(r"""
        **Step 2: two steps make a bump.** With two hidden units $h_1 = \sigma(100x - 20)$ and
        $h_2 = \sigma(100x - 40)$ (steps at 0.2 and 0.4) and output weights $w_3 = 1$, $w_4 = -1$, the output
        $h_1 - h_2$ is a bump of height 1 on $[0.2, 0.4]$. With $b_1 = -60$, $b_2 = -80$ and output weights
        $2, -2$ we get a bump of height 2 on $[0.6, 0.8]$. Adding both is still a network with one hidden
        layer, now with four units.
        """),
        scratch("""
        bump_1 = 1 * sigmoid(100 * xs - 20) - 1 * sigmoid(100 * xs - 40)
        bump_2 = 2 * sigmoid(100 * xs - 60) - 2 * sigmoid(100 * xs - 80)
        fig, axes = plt.subplots(1, 3, figsize=(12, 2.8), sharey=True)
        axes[0].plot(xs, bump_1)
        axes[0].set_title("w1 = w2 = 100, b1 = -20, b2 = -40; 1, -1")
        axes[1].plot(xs, bump_2)
        axes[1].set_title("b1 = -60, b2 = -80; 2, -2")
        axes[2].plot(xs, bump_1 + bump_2)
        axes[2].set_title("four hidden units: both bumps")
        plt.show()
        """),
        markdown(r"""
        **Step 3: many bumps make any function.** Cut $[0, 1]$ into $N$ intervals and put on each a bump as
        high as the target at the interval's midpoint. That is a one-hidden-layer network with $2N$ sigmoid
        units, written below with `mini_autograd` operations; its error shrinks as $N$ grows (as long as
        the steps stay sharp compared with the intervals).
        """),
        scratch("""
        def target(x):
            return 0.6 * np.sin(3 * np.pi * x) * (1 - x) + 0.8 * x**2 + 0.2


        def bump_network(g, n_bumps, sharpness):
            # a one-hidden-layer network f(x) = sum_i alpha_i sigmoid(w_i x + b_i) made of n_bumps bumps
            edges = np.linspace(0, 1, n_bumps + 1)
            heights = g((edges[:-1] + edges[1:]) / 2)
            w = np.full(2 * n_bumps, float(sharpness))
            b = -sharpness * np.concatenate([edges[:-1], edges[1:]])  # rising steps, then falling steps
            alpha = np.concatenate([heights, -heights])

            def f(x):
                hidden = ag.sigmoid(ag.constant(np.asarray(x)[:, None]) * w + b)  # (points, 2 n_bumps)
                return (hidden @ alpha).value

            return f


        inner = (xs > 0.02) & (xs < 0.98)  # away from the ends, where half a step is missing
        fig, axes = plt.subplots(1, 3, figsize=(13, 3), sharey=True)
        for ax, n_bumps in zip(axes, [5, 20, 100]):
            f = bump_network(target, n_bumps, sharpness=40 * n_bumps)
            error = np.max(np.abs(f(xs) - target(xs))[inner])
            ax.plot(xs, target(xs), "k", lw=2, label="target g")
            ax.plot(xs, f(xs), label=f"{2 * n_bumps} hidden units")
            ax.set_title(f"N = {n_bumps} bumps: max error {error:.3f}")
            ax.legend(loc="upper left")
        plt.show()
        """),
        *_universal_approximation_cells(),
        markdown(r"""
        ### In two dimensions

        In 2-D a single sigmoid is a soft step along a line. Four of them (left, right, bottom and top
        edges of a square) add up to 4 inside the square, but only 3 on the strips that leave it, so the
        sum alone is not a bump. One more sigmoid on top, which switches on above 3.5, turns it into a
        **tower**, and sums of towers approximate functions of two variables. (Strictly, this uses a
        second nonlinearity; with one hidden layer one needs many more units to flatten the strips.)
        """),
        scratch("""
        grid = np.linspace(0, 1, 200)
        gx, gy = np.meshgrid(grid, grid)
        k = 60
        edges = [sigmoid(k * (gx - 0.3)), sigmoid(-k * (gx - 0.7)), sigmoid(k * (gy - 0.4)), sigmoid(-k * (gy - 0.8))]
        total = sum(edges)
        tower = sigmoid(20 * (total - 3.5))
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
        for ax, image, title in [(axes[0], total, "sum of four sigmoids"), (axes[1], tower, "sigmoid(20 (sum - 3.5)): a tower")]:
            shown = ax.imshow(image, origin="lower", extent=(0, 1, 0, 1))
            fig.colorbar(shown, ax=ax)
            ax.set_title(title)
        plt.show()
        """),
        markdown(r"""
        The theorem says a wide enough shallow network **can** represent the function; it says nothing
        about how many units that takes or whether gradient descent will find the weights. In practice
        shallow-and-wide networks may need exponentially more units than deep-and-narrow ones for the
        same function, one reason networks are deep.
        """),

        markdown(r"""
        ## 5. Classification: softmax, cross-entropy and SGD

        For $C$ classes the network outputs $C$ scores (logits) $s$, softmax turns them into probabilities
        $p_c = e^{s_c} / \sum_{c'} e^{s_{c'}}$, and with the true class as a one-hot vector $y$ the loss is the
        cross-entropy

        $$J(\Theta) = -\sum_{c=1}^{C} y_c \log p_c = -\log p_{\text{correct class}} .$$

        Stochastic gradient descent, as in the notes:

        * initialise all weights;
        * until a termination criterion holds: for each example $i$ (or minibatch) in a shuffled order,
          compute the gradient $g = \nabla_\Theta J^{(i)}(\Theta)$ (one backward pass gives it for all layers)
          and update every parameter $\Theta \leftarrow \Theta - \gamma\, g$.

        With **L2 regularisation** the loss gets $\frac{\lambda}{2}\|W\|^2$ added, and the update becomes
        $W \leftarrow W - \gamma (g + \lambda W)$ (`ag.optim.SGD(..., weight_decay=λ)`).

        The learning rate $\gamma$ matters a lot. The cell compares four rates on the spirals (full-batch
        gradient descent, no momentum): too small is slow; too large is unstable or stalls (ReLU units that
        were pushed to always-negative inputs never recover).
        """),
        scratch("""
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for lr in [0.01, 0.1, 1.0, 10.0]:
            trainer = Trainer("spirals", hidden=(32, 32), lr=lr, momentum=0.0, seed=0)
            trainer.run(300)
            ax.semilogy(trainer.losses, label=f"lr = {lr}: accuracy {trainer.accuracy():.0%}")
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy")
        ax.legend()
        plt.show()
        """),

        markdown(r"""
        ## 6. The training dashboard

        The dashboard trains an `ag.nn.MLP([2, 32, 32, 3])` on the spirals with `ag.optim.SGD` (full batch,
        momentum 0.9). The cell below trains 200 steps right away so that there is something to see; then:

        * **Start** trains in the background and redraws the loss curve and the decision regions every
          few steps; **Stop** pauses; **Reset** starts again from the same initial weights;
        * the **learning rate** slider (logarithmic) changes `optimizer.lr` immediately, even while training:
          try 0.003 (slow), then 2 (unstable), then back;
        * **momentum** 0 makes plain gradient descent; **data** switches to the two moons.

        `dashboard.run(steps)` trains without pressing anything, and `dashboard.optimizer`,
        `dashboard.model` and `dashboard.losses` are the real objects.
        """),
        scratch("""
        dashboard = TrainingDashboard("spirals", hidden=(32, 32), lr=0.1, momentum=0.9)
        dashboard.run(200)
        dashboard
        """),
        scratch("""
        print(f"after {len(dashboard.losses)} steps: loss {dashboard.losses[-1]:.4f}, "
              f"training accuracy {dashboard.trainer.accuracy():.1%}, lr {dashboard.optimizer.lr}")
        """),

        markdown(r"""
        ## Try it yourself

        * Train the spirals with `hidden=(4,)` and with `hidden=(64,)`. What does the universal approximation
          theorem say about the first, and what do you observe?
        * Fit the regression example with `activation="relu"` (use a smaller learning rate). What do the kinks
          look like?
        * Add weight decay to the regression example (`weight_decay=1e-3`) and compare the fitted curves.
        """),
        scratch(""),
    ])
