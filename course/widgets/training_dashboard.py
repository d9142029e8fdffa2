"""Train a small MLP on spirals or moons and watch the loss fall.

    from course.widgets import TrainingDashboard
    dashboard = TrainingDashboard("spirals")
    dashboard            # Start / Stop / Reset, a learning-rate slider, the loss curve and the decision regions
    dashboard.run(200)   # or train synchronously, without pressing anything

:class:`Trainer` is the training logic with no widgets: an ``ag.nn.MLP``, an ``ag.optim.SGD``
and the data; ``trainer.step()`` takes one gradient step on the mean cross-entropy.
:class:`TrainingDashboard` shows it. *Start* trains in a background thread (so the Stop button
and the sliders keep working) and redraws the figure every ``update_every`` steps; the
learning-rate slider sets ``optimizer.lr`` immediately, also while training runs.
"""

from __future__ import annotations

import io
import threading

import ipywidgets as widgets
import numpy as np

import mini_autograd as ag

from .sharp import image_for, sharp_figure

DATASETS = {
    "spirals": lambda seed: ag.data.make_spirals(n_per_class=100, n_classes=3, noise=0.2, seed=seed),
    "moons": lambda seed: ag.data.make_moons(n_samples=200, noise=0.15, seed=seed),
}
CLASS_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]


class Trainer:
    """An MLP, an SGD optimiser and a 2-D data set; no widgets.

    hidden: the hidden layer sizes. batch_size=None uses the whole data set for every step
    (gradient descent); an integer draws that many random examples per step (SGD).
    """

    def __init__(self, dataset: str = "spirals", hidden=(32, 32), lr: float = 0.1, momentum: float = 0.9,
                 batch_size: int | None = None, activation: str = "relu", seed: int = 0):
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; choose one of {sorted(DATASETS)}")
        self.dataset, self.hidden, self.lr, self.momentum = dataset, tuple(hidden), lr, momentum
        self.batch_size, self.activation, self.seed = batch_size, activation, seed
        self.reset()

    def reset(self) -> None:
        """New data (of the current dataset), a freshly initialised model and optimiser, no history."""
        self.X, self.y = DATASETS[self.dataset](self.seed)
        n_classes = int(self.y.max()) + 1
        self.model = ag.nn.MLP([2, *self.hidden, n_classes], activation=self.activation, rng=self.seed)
        self.optimizer = ag.optim.SGD(self.model.parameters(), lr=self.lr, momentum=self.momentum)
        self.rng = np.random.default_rng(self.seed)
        self.losses: list[float] = []
        self.lrs: list[float] = []  # the learning rate used at each step

    @property
    def steps(self) -> int:
        return len(self.losses)

    def step(self) -> float:
        """One optimiser step; returns the loss before the step."""
        if self.batch_size is None or self.batch_size >= len(self.X):
            X, y = self.X, self.y
        else:
            rows = self.rng.choice(len(self.X), size=self.batch_size, replace=False)
            X, y = self.X[rows], self.y[rows]
        self.optimizer.zero_grad()
        loss = ag.cross_entropy(self.model(ag.constant(X)), y)
        loss.backward()
        self.lrs.append(float(self.optimizer.lr))
        self.optimizer.step()
        self.losses.append(float(loss.value))
        return self.losses[-1]

    def run(self, steps: int) -> list[float]:
        """Take ``steps`` steps; returns their losses."""
        return [self.step() for _ in range(int(steps))]

    def loss(self) -> float:
        """The mean cross-entropy on the whole data set, now."""
        with ag.no_grad():
            return float(ag.cross_entropy(self.model(ag.constant(self.X)), self.y).value)

    def accuracy(self) -> float:
        """The fraction of the data set classified correctly, now."""
        return _accuracy(self)

    def predict_grid(self, resolution: int = 120):
        """(xs, ys, predicted class on the grid) over the data's bounding box."""
        (x0, y0), (x1, y1) = self.X.min(axis=0) - 0.3, self.X.max(axis=0) + 0.3
        xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
        with ag.no_grad():
            classes = self.model(ag.constant(grid)).value.argmax(axis=-1)
        return xs, ys, classes.reshape(resolution, resolution)


def _accuracy(trainer: Trainer) -> float:
    with ag.no_grad():
        return float(np.mean(trainer.model(ag.constant(trainer.X)).value.argmax(axis=-1) == trainer.y))


class TrainingDashboard(widgets.VBox):
    """Start / Stop / Reset buttons, a learning-rate slider (log scale), a momentum slider, a dataset
    dropdown, and a figure with the loss curve and the decision regions (see the module doc).

    ``run(steps)`` trains synchronously and redraws; ``start()`` / ``stop()`` do what the buttons do.
    """

    def __init__(self, dataset: str = "spirals", hidden=(32, 32), lr: float = 0.1, momentum: float = 0.9,
                 batch_size: int | None = None, seed: int = 0, update_every: int = 20, max_steps: int = 3000,
                 **kwargs):
        self.trainer = Trainer(dataset, hidden=hidden, lr=lr, momentum=momentum, batch_size=batch_size, seed=seed)
        self.update_every, self.max_steps = int(update_every), int(max_steps)
        self._lock = threading.RLock()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None

        self.lr_slider = widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0.5, step=0.05,
                                                description="learning rate", readout_format=".3g",
                                                style={"description_width": "initial"})
        self.momentum_slider = widgets.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01,
                                                   description="momentum", style={"description_width": "initial"})
        self.dataset_dropdown = widgets.Dropdown(options=list(DATASETS), value=dataset, description="data")
        self.start_button = widgets.Button(description="Start", icon="play", button_style="success")
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="warning", disabled=True)
        self.reset_button = widgets.Button(description="Reset", icon="refresh")
        self.status = widgets.HTML()

        self.lr_slider.observe(self._on_lr, names="value")
        self.momentum_slider.observe(self._on_momentum, names="value")
        self.dataset_dropdown.observe(self._on_dataset, names="value")
        self.start_button.on_click(lambda _button: self.start())
        self.stop_button.on_click(lambda _button: self.stop())
        self.reset_button.on_click(lambda _button: self.reset())

        self.figure = sharp_figure(10, 4, layout=None)   # tight_layout below
        self.plot = image_for(self.figure)
        self.loss_ax, self.data_ax = self.figure.subplots(1, 2)
        (self.loss_line,) = self.loss_ax.plot([], [], color="tab:blue")
        self.loss_ax.set_xlabel("step")
        self.loss_ax.set_ylabel("cross-entropy loss")
        self.loss_ax.set_yscale("log")
        self.loss_ax.grid(True, alpha=0.3)
        self.figure.tight_layout(pad=2.0)

        controls = widgets.HBox([self.start_button, self.stop_button, self.reset_button])
        sliders = widgets.HBox([self.lr_slider, self.momentum_slider, self.dataset_dropdown])
        super().__init__([controls, sliders, self.status, self.plot], **kwargs)
        self.refresh()

    def __repr__(self) -> str:
        t = self.trainer
        return (f"TrainingDashboard({t.dataset!r}, step {t.steps}, lr {t.optimizer.lr:.3g}; "
                "run in Jupyter to interact)")

    # --- the state, for code and tests ----------------------------------------------
    @property
    def optimizer(self) -> ag.optim.SGD:
        return self.trainer.optimizer

    @property
    def model(self):
        return self.trainer.model

    @property
    def losses(self) -> list[float]:
        return self.trainer.losses

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- training -------------------------------------------------------------------
    def run(self, steps: int, refresh: bool = True) -> list[float]:
        """Train ``steps`` steps now (synchronously) and redraw; returns their losses."""
        with self._lock:
            losses = self.trainer.run(steps)
        if refresh:
            self.refresh()
        return losses

    def start(self) -> None:
        """Train in a background thread until Stop (or max_steps steps in total)."""
        if self.running:
            return
        self._stop_event.clear()
        self.start_button.disabled, self.stop_button.disabled = True, False
        self._thread = threading.Thread(target=self._train_loop, name="TrainingDashboard", daemon=True)
        self._thread.start()

    def _train_loop(self) -> None:
        try:
            while not self._stop_event.is_set() and self.trainer.steps < self.max_steps:
                with self._lock:
                    chunk = min(self.update_every, self.max_steps - self.trainer.steps)
                    for _ in range(chunk):
                        if self._stop_event.is_set():
                            break
                        self.trainer.step()
                self.refresh()
        except Exception as error:  # show it instead of dying silently in the thread
            self.status.value = f"<b style='color:#b00'>training stopped: {type(error).__name__}: {error}</b>"
            raise
        finally:
            self.start_button.disabled, self.stop_button.disabled = False, True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background training (waits for the current step to finish)."""
        self._stop_event.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self.start_button.disabled, self.stop_button.disabled = False, True
        self.refresh()

    def reset(self) -> None:
        """Stop, then start again from a fresh model (same seed) with the current slider settings."""
        self.stop()
        with self._lock:
            self.trainer.dataset = self.dataset_dropdown.value
            self.trainer.lr = self.lr_slider.value
            self.trainer.momentum = self.momentum_slider.value
            self.trainer.reset()
        self.refresh()

    # --- widgets -> optimizer ---------------------------------------------------------
    def _on_lr(self, change) -> None:
        self.trainer.lr = change["new"]
        self.trainer.optimizer.lr = change["new"]  # takes effect from the next step on

    def _on_momentum(self, change) -> None:
        self.trainer.momentum = change["new"]
        self.trainer.optimizer.momentum = change["new"]

    def _on_dataset(self, _change) -> None:
        self.reset()

    # --- drawing ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the loss curve, the decision regions and the status line."""
        with self._lock:
            trainer = self.trainer
            losses = np.array(trainer.losses)
            steps = np.arange(1, len(losses) + 1)
            self.loss_line.set_data(steps, losses)
            if len(losses):
                self.loss_ax.set_xlim(0, max(len(losses), 10))
                positive = losses[losses > 0]
                low = positive.min() if len(positive) else 1e-3
                self.loss_ax.set_ylim(low / 1.5, losses.max() * 1.5)
            self.loss_ax.set_title(f"loss after {len(losses)} steps")
            self._draw_regions(trainer)
            accuracy = trainer.accuracy()
            loss_now = trainer.loss()
            self.status.value = (
                f"step {trainer.steps} &nbsp; loss {loss_now:.4f} &nbsp; training accuracy {accuracy:.1%} &nbsp; "
                f"lr {trainer.optimizer.lr:.3g} &nbsp; momentum {trainer.optimizer.momentum:.2f} &nbsp; "
                f"MLP {[2, *trainer.hidden, int(trainer.y.max()) + 1]} on {trainer.dataset}"
                + (f" &nbsp; <b>reached max_steps = {self.max_steps}: Reset to train again</b>"
                   if trainer.steps >= self.max_steps else ""))
            buffer = io.BytesIO()
            self.figure.savefig(buffer, format="png")
            self.plot.value = buffer.getvalue()

    def _draw_regions(self, trainer: Trainer) -> None:
        ax = self.data_ax
        ax.clear()
        xs, ys, classes = trainer.predict_grid(100)
        n_classes = int(trainer.y.max()) + 1
        from matplotlib.colors import ListedColormap

        cmap = ListedColormap(CLASS_COLORS[:n_classes])
        ax.contourf(xs, ys, classes, levels=np.arange(n_classes + 1) - 0.5, cmap=cmap, alpha=0.25)
        ax.scatter(trainer.X[:, 0], trainer.X[:, 1], c=[CLASS_COLORS[c] for c in trainer.y], s=10,
                   edgecolors="none")
        ax.set_title("decision regions")
        ax.set_xticks([])
        ax.set_yticks([])
