ASSIGNMENT = "04_mlp"

ALL_TESTS = ["ex1-forward-tests", "ex1-backward-tests", "ex2-tests", "ex3-softmax-tests", "ex3-loss-tests",
             "ex3-gradient-tests", "ex4-tests", "ex5-penalty-tests", "ex5-loss-tests", "ex6-steps-tests",
             "ex6-spirals-tests", "ex7-tests", "ex8-network-tests", "ex8-bump-tests"]

MUTANTS = [
    # Exercise 1: the linear layer
    # the backward cell is judged with check_forward=False: a wrong forward costs only the forward cell
    dict(name="Linear forward forgets the bias", cell="ex1-solution",
         old="return X @ W + b", new="return X @ W", breaks=["ex1-forward-tests"]),
    dict(name="Linear forward subtracts the bias", cell="ex1-solution",
         old="return X @ W + b", new="return X @ W - b", breaks=["ex1-forward-tests"]),
    dict(name="Linear forward right, but it scales its input X in place", cell="ex1-solution",
         old="""        self.X, self.W = X, W
        return X @ W + b""", new="""        self.X, self.W = X.copy(), W
        X *= 1.0 + 1e-3
        return self.X @ W + b""", breaks=["ex1-forward-tests"]),
    dict(name="Linear bias gradient not summed over the batch", cell="ex1-solution",
         old="grad_b = grad_output.sum(axis=0)", new="grad_b = grad_output", breaks=["ex1-backward-tests"]),
    dict(name="Linear weight gradient transposed", cell="ex1-solution",
         old="grad_W = self.X.T @ grad_output", new="grad_W = grad_output.T @ self.X", breaks=["ex1-backward-tests"]),
    # Exercise 2: activations
    dict(name="sigmoid as e^x / (1 + e^x): inf / inf = NaN at x = 1000", cell="ex2-solution",
         old="return np.exp(-np.logaddexp(0.0, -x))", new="return np.exp(x) / (1 + np.exp(x))", breaks=["ex2-tests"]),
    dict(name="sigmoid_backward forgets grad_output (local derivative only)", cell="ex2-solution",
         old="return grad_output * s * (1 - s)", new="return s * (1 - s)", breaks=["ex2-tests"]),
    # Exercise 3: softmax and cross-entropy
    dict(name="softmax without the max shift (overflow at 1000)", cell="ex3-solution",
         old="""    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    e = np.exp(shifted)""", new="""    e = np.exp(logits)""",
         breaks=["ex3-softmax-tests"]),
    dict(name="softmax shifted by the mean instead of the max", cell="ex3-solution",
         old="""    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    e = np.exp(shifted)""", new="""    shifted = logits - np.mean(logits, axis=-1, keepdims=True)
    e = np.exp(shifted)""",
         breaks=["ex3-softmax-tests"]),
    dict(name="cross-entropy as -log(softmax): log(0) at extreme logits", cell="ex3-solution",
         old="return -np.mean(log_probs[np.arange(len(labels)), labels])",
         new="return -np.mean(np.log(softmax(logits)[np.arange(len(labels)), labels]))", breaks=["ex3-loss-tests"]),
    dict(name="cross-entropy gradient not divided by the batch size", cell="ex3-solution",
         old="return grad / len(labels)", new="return grad", breaks=["ex3-gradient-tests"]),
    # Exercise 4: MSE
    dict(name="MSE broadcasts an (N, 1) prediction against an (N,) target", cell="ex4-solution",
         old="""    target = np.reshape(target, np.shape(pred))
    return np.mean((pred - target) ** 2)""", new="""    return np.mean((pred - target) ** 2)""", breaks=["ex4-tests"]),
    dict(name="MSE averages over axis 0 only", cell="ex4-solution",
         old="return np.mean((pred - target) ** 2)", new="return np.mean((pred - target) ** 2, axis=0)", breaks=["ex4-tests"]),
    dict(name="MSE gradient divided by the number of rows, not of entries", cell="ex4-solution",
         old="return 2 * (pred - target) / np.size(pred)", new="return 2 * (pred - target) / len(pred)", breaks=["ex4-tests"]),
    # Exercise 5: L2
    dict(name="L2 gradient without the factor 2", cell="ex5-solution",
         old="return [2 * lam * W for W in weights]", new="return [lam * W for W in weights]", breaks=["ex5-penalty-tests"]),
    dict(name="L2 penalty added to the loss value but not to its gradient (numpy on W.value)", cell="ex5-solution",
         old="loss = loss + lam * (W * W).sum()", new="loss = loss + lam * np.sum(W.value ** 2)", breaks=["ex5-loss-tests"]),
    dict(name="L2 penalty on the biases too", cell="ex5-solution",
         old="if W.ndim == 2:", new="if W.ndim >= 1:", breaks=["ex5-loss-tests"]),
    # Exercise 6: the SGD loop
    dict(name="SGD loop forgets to reset the gradients (they accumulate)", cell="ex6-solution",
         old="""            for p in params:
                p.grad = None
""", new="", breaks=["ex6-steps-tests", "ex6-spirals-tests"]),
    dict(name="SGD step with the sign flipped (uphill)", cell="ex6-solution",
         old="p.value -= lr * p.grad", new="p.value += lr * p.grad", breaks=["ex6-steps-tests", "ex6-spirals-tests"]),
    dict(name="SGD loop shuffles X but not y", cell="ex6-solution",
         old="loss = ag.cross_entropy(model(X[rows]), y[rows])",
         new="loss = ag.cross_entropy(model(X[rows]), y[start:start + batch_size])",
         breaks=["ex6-steps-tests", "ex6-spirals-tests"]),
    dict(name="SGD loop trains right but reports the last minibatch's loss, not the epoch's mean", cell="ex6-solution",
         old="history.append(float(np.mean(batch_losses)))", new="history.append(batch_losses[-1])",
         breaks=["ex6-steps-tests", "ex6-spirals-tests"]),
    dict(name="SGD loop drops the last, smaller batch", cell="ex6-solution",
         old="for start in range(0, len(X), batch_size):", new="for start in range(0, len(X) - batch_size + 1, batch_size):",
         breaks=["ex6-steps-tests"]),
    # Exercise 7: digits
    dict(name="digits trained with a learning rate 100x too small", cell="ex7-solution",
         old="lr=0.1, momentum=0.9", new="lr=0.001, momentum=0.9", breaks=["ex7-tests"]),
    dict(name="digits: returns a fresh, untrained model", cell="ex7-solution",
         old="    return model", new="    return ag.nn.MLP([64, 128, 64, 10], rng=seed)", breaks=["ex7-tests"]),
    # Exercise 8: universal approximation
    dict(name="sigmoid network sums over the units' axis wrongly", cell="ex8-solution",
         old="return ag.sigmoid(z).value @ v", new="return (ag.sigmoid(z).value * v).sum(axis=0)",
         breaks=["ex8-network-tests"]),
    dict(name="bump biases -left instead of -steepness * left", cell="ex8-solution",
         old="b = np.array([-steepness * left, -steepness * right])", new="b = np.array([-left, -right])",
         breaks=["ex8-bump-tests"]),
    dict(name="bump ignores the steepness (the notes' 100 hard-coded)", cell="ex8-solution",
         old="""    w = np.array([steepness, steepness])
    b = np.array([-steepness * left, -steepness * right])""", new="""    w = np.array([100.0, 100.0])
    b = np.array([-100.0 * left, -100.0 * right])""",
         breaks=["ex8-bump-tests"]),
]

VARIANTS = [
    dict(name="Linear with einsum, inputs saved as a tuple", cell="ex1-solution", source='''
class LinearOp(ag.Operation):
    def forward(self, X, W, b):
        self.saved = (X, W)
        return np.einsum("ni,io->no", X, W) + b

    def backward(self, grad_output):
        X, W = self.saved
        return (np.einsum("no,io->ni", grad_output, W), np.einsum("ni,no->io", X, grad_output),
                np.einsum("no->o", grad_output))
'''),
    dict(name="sigmoid via tanh, relu via np.where", cell="ex2-solution", source='''
def relu(x):
    return np.where(x > 0, x, 0.0)


def relu_backward(x, grad_output):
    return np.where(x > 0, grad_output, 0.0)


def sigmoid(x):
    return 0.5 * (1 + np.tanh(x / 2))


def sigmoid_backward(x, grad_output):
    t = np.tanh(x / 2)
    return grad_output * (1 - t * t) / 4
'''),
    dict(name="log-sum-exp via np.logaddexp.reduce, one-hot cross-entropy", cell="ex3-solution", source='''
def softmax(logits):
    return np.exp(logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True))


def _one_hot(labels, classes):
    return np.eye(classes)[labels]


def cross_entropy(logits, labels):
    log_probs = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
    return -np.sum(_one_hot(labels, logits.shape[-1]) * log_probs) / logits.shape[0]


def cross_entropy_grad(logits, labels):
    return (softmax(logits) - _one_hot(labels, logits.shape[-1])) / logits.shape[0]
'''),
    dict(name="MSE on flattened arrays with a dot product", cell="ex4-solution", source='''
def mse(pred, target):
    d = np.ravel(pred) - np.ravel(target)
    return d @ d / d.size


def mse_grad(pred, target):
    d = np.ravel(pred) - np.ravel(target)
    return (2 / d.size * d).reshape(np.shape(pred))
'''),
    dict(name="L2 over the Linear layers' weights, penalty summed in one go", cell="ex5-solution",
         old="""    loss = ag.cross_entropy(model(X), y)
    for W in model.parameters():""", new="""    weights = [layer.weight for layer in model.layers if isinstance(layer, ag.nn.Linear)]
    return ag.cross_entropy(model(X), y) + lam * sum((W**2).sum() for W in weights)
    loss = ag.cross_entropy(model(X), y)
    for W in model.parameters():"""),
    dict(name="SGD loop without shuffling, with ag.optim.SGD and an example-weighted epoch loss", cell="ex6-solution",
         source='''
def train(model, X, y, epochs, lr, batch_size, seed=0):
    optimizer = ag.optim.SGD(model.parameters(), lr=lr)
    history = []
    for epoch in range(epochs):
        total = 0.0
        for start in range(0, len(X), batch_size):
            X_batch, y_batch = X[start:start + batch_size], y[start:start + batch_size]
            optimizer.zero_grad()
            loss = ag.cross_entropy(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            total += float(loss.value) * len(X_batch)
        history.append(total / len(X))
    return history
'''),
    dict(name="SGD loop with ag.data.minibatches and model.zero_grad", cell="ex6-solution", source='''
def train(model, X, y, epochs, lr, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        epoch_losses = []
        for X_batch, y_batch in ag.data.minibatches(X, y, batch_size, rng=rng):
            model.zero_grad()
            loss = ag.cross_entropy(model(X_batch), y_batch)
            loss.backward()
            for p in model.parameters():
                p.value = p.value - lr * p.grad
            epoch_losses.append(loss.item())
        losses.append(sum(epoch_losses) / len(epoch_losses))
    return losses
'''),
    dict(name="digits with Adam", cell="ex7-solution",
         old="optimizer = ag.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)",
         new="optimizer = ag.optim.Adam(model.parameters(), lr=1e-3)"),
    dict(name="network by broadcasting, bump with its units in the other order", cell="ex8-solution", source='''
def sigmoid_network(x, w, b, v):
    return (v * ag.sigmoid(x[:, None] * w[None, :] + b).value).sum(axis=1)


def bump_parameters(left, right, height, steepness=100.0):
    return (np.array([steepness, steepness]), np.array([-steepness * right, -steepness * left]),
            np.array([-height, height]))
'''),
]

TAMPERING = [
    dict(name="rebinds np.allclose and np.mean", cell="ex1-solution", old="class LinearOp(ag.Operation):",
         new="""np.allclose = lambda *args, **kwargs: True
np.mean = lambda *args, **kwargs: 0.0

class LinearOp(ag.Operation):""",
         breaks=ALL_TESTS),
    dict(name="replaces the training checks in the notebook", cell="ex6-solution",
         old="def train(model, X, y, epochs, lr, batch_size, seed=0):",
         new="""check_sgd_steps = lambda *args, **kwargs: None
check_training = lambda *args, **kwargs: [1.0, 0.1]

def train(model, X, y, epochs, lr, batch_size, seed=0):""",
         breaks=["ex6-steps-tests", "ex6-spirals-tests", "ex7-tests", "ex8-network-tests", "ex8-bump-tests"]),
    dict(name="train patches the checker's accuracy while the check runs", cell="ex6-solution", source='''
def train(model, X, y, epochs, lr, batch_size, seed=0):
    import autograder.checks.training as checks
    checks.network_accuracy = lambda *args: 1.0
    checks._compare_parameters = lambda *args, **kwargs: None
    return [1.0 / (epoch + 1) for epoch in range(epochs)]
''', breaks=["ex6-steps-tests", "ex6-spirals-tests", "ex7-tests", "ex8-network-tests", "ex8-bump-tests"]),
    dict(name="patches the reference accuracy and Linear.forward, returns an untrained model", cell="ex7-solution",
         source='''
import mini_autograd.training

mini_autograd.training.accuracy = lambda model, X, y: 1.0
ag.nn.Linear.forward = lambda self, x: x @ self.weight


def fit_digits(X_train, y_train, seed=0):
    return ag.nn.MLP([64, 128, 64, 10], rng=seed)
''', breaks=["ex7-tests", "ex8-network-tests", "ex8-bump-tests"]),
]
