"""The race on a real network, and the batch-size experiment with its landscape slice."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.engine import Event, Finished, Snapshot
from core.optimizer_race.batch_size import BatchSizeConfig, batch_size_job, check_batch_config, describe
from core.optimizer_race.batched_optimizers import OptimizerSetting
from core.optimizer_race.network_race import (
    ACTIVATIONS,
    DEFAULT_NET_RACERS,
    NET_DATASETS,
    NetRaceConfig,
    check_net_config,
    image_data_available,
    net_race_job,
)
from core.optimizers import OPTIMIZERS
from lab.tabs.optimizer_race.racers import RACERS_MIN_HEIGHT, RacerList, check_racers, racer_values, settings_from_values
from widgets.control_panel import scroll_column
from widgets.live_plot import LivePlot
from widgets.param_form import ErrorLabel, NumberField
from widgets.theme import theme

__all__ = ["NetPage", "BatchPage", "DEFAULT_NET_STATE", "DEFAULT_BATCH_STATE", "parse_int_list"]

DEFAULT_NET_STATE = {
    "dataset": "circle",
    "noise": 0.0,
    "hidden": "4, 2",
    "activation": "tanh",
    "epochs": 200,
    "batch_size": 10,
    "seed": 0,
    "racers": [racer_values(s.kind) for s in DEFAULT_NET_RACERS],
}
DEFAULT_BATCH_STATE = {
    "dataset": "moons",
    "noise": 0.3,
    "hidden": "16, 16",
    "activation": "tanh",
    "epochs": 150,
    "optimizer": "sgd",
    "lr": 0.1,
    "batch_sizes": "4, 250",
    "seed": 0,
}


def parse_int_list(text: str, what: str, lo: int, hi: int, *, allow_empty: bool = False) -> tuple[int, ...]:
    """'4, 2' → (4, 2); ValueError naming ``what`` otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"{what} must be text like '4, 2'")
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts and not allow_empty:
        raise ValueError(f"{what}: enter numbers separated by commas, e.g. 4, 2")
    out = []
    for p in parts:
        if not p.isdigit():
            raise ValueError(f"{what}: {p!r} is not a whole number")
        v = int(p)
        if not lo <= v <= hi:
            raise ValueError(f"{what}: each must be between {lo} and {hi}, got {v}")
        out.append(v)
    return tuple(out)


class _NetControls(QWidget):
    """Data set, hidden layers, activation, epochs, seed: shared by both pages."""

    setup_changed = Signal()  # a setting the last run's curves depend on

    def __init__(self, defaults: dict):
        super().__init__()
        self.dataset = QComboBox()
        for key, label in NET_DATASETS.items():
            self.dataset.addItem(label, key)
        self.noise = NumberField("Data noise", defaults["noise"], 0.0, 1.0, decimals=2)
        self.hidden = QLineEdit(defaults["hidden"])
        self.hidden.setToolTip("Neurons per hidden layer, e.g. 4, 2 (Playground's default network)")
        self.hidden.editingFinished.connect(self._check_hidden)  # say what is wrong at the field, not on Play
        self.activation = QComboBox()
        for key, label in ACTIVATIONS.items():
            self.activation.addItem(label, key)
        self.epochs = NumberField("Epochs", defaults["epochs"], 1, 5000, integer=True)
        self.seed = NumberField("Seed (data, weights, batch order)", defaults["seed"], 0, 9999, integer=True)
        self.error = ErrorLabel()
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.addRow("Data set", self.dataset)
        self.form.addRow(self.noise)
        self.form.addRow("Hidden layers", self.hidden)
        self.form.addRow("Activation", self.activation)
        self.form.addRow(self.epochs)
        self.form.addRow(self.seed)
        self.form.addRow(self.error)
        self.set_state(defaults)
        for combo in (self.dataset, self.activation):
            combo.currentIndexChanged.connect(self.setup_changed)
        for field in (self.noise, self.epochs, self.seed):
            field.value_changed.connect(self.setup_changed)
        self._hidden_text = self.hidden.text()
        self.hidden.editingFinished.connect(self._on_hidden_finished)

    @Slot()
    def _on_hidden_finished(self) -> None:
        if self.hidden.text() != self._hidden_text:  # leaving the field unchanged changes nothing
            self._hidden_text = self.hidden.text()
            self.setup_changed.emit()

    def hidden_layers(self) -> tuple[int, ...]:
        try:
            layers = parse_int_list(self.hidden.text(), "Hidden layers", 1, 256, allow_empty=True)
        except ValueError as exc:
            self.error.show_error(str(exc))
            raise
        self.error.clear_error()
        return layers

    @Slot()
    def _check_hidden(self) -> None:
        try:
            self.hidden_layers()  # shows or clears the message next to the field
        except ValueError:
            pass

    def state(self) -> dict:
        return {"dataset": self.dataset.currentData(), "noise": float(self.noise.value()), "hidden": self.hidden.text(),
                "activation": self.activation.currentData(), "epochs": int(self.epochs.value()),
                "seed": int(self.seed.value())}

    def check_state(self, s: dict) -> None:
        if not (isinstance(s["dataset"], str) and s["dataset"] in NET_DATASETS):
            extra = "" if image_data_available() else " (image data sets need core/datasets/images.py)"
            raise ValueError(f"Unknown data set {s['dataset']!r}{extra}")
        if not (isinstance(s["activation"], str) and s["activation"] in ACTIVATIONS):
            raise ValueError(f"Unknown activation {s['activation']!r}")
        parse_int_list(s["hidden"], "Hidden layers", 1, 256, allow_empty=True)
        for field, key in ((self.noise, "noise"), (self.epochs, "epochs"), (self.seed, "seed")):
            try:
                field.check(s[key])
            except ValueError as exc:
                raise ValueError(f"{field.label.text()}: {exc}") from None

    def set_state(self, s: dict) -> None:
        self.dataset.setCurrentIndex(self.dataset.findData(s["dataset"]))
        self.noise.set_value(float(s["noise"]), emit=False)
        self.hidden.setText(s["hidden"])
        self._hidden_text = s["hidden"]
        self.activation.setCurrentIndex(self.activation.findData(s["activation"]))
        self.epochs.set_value(s["epochs"], emit=False)
        self.seed.set_value(s["seed"], emit=False)
        self.error.clear_error()


def _page(page: QWidget, left: QWidget, plots: list, summary: QLabel) -> None:
    """Lay a page out: controls on the left; a 2×2 grid of plots and a summary line on the right."""
    right = QWidget()
    grid = QGridLayout()
    grid.setContentsMargins(0, 0, 0, 0)
    for i, p in enumerate(plots):
        grid.addWidget(p, i // 2, i % 2)
    column = QVBoxLayout(right)
    column.setContentsMargins(0, 0, 0, 0)
    column.addLayout(grid, 1)
    column.addWidget(summary)
    for p in plots:
        p.setMinimumSize(160, 120)  # four plots in what a projector leaves beside the controls
    split = QSplitter(Qt.Horizontal)
    split.addWidget(scroll_column(left, 320))
    split.addWidget(right)
    split.setStretchFactor(1, 1)
    split.setSizes([400, 1000])
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(split)


class _ResultsPage(QWidget):
    """A page whose curves belong to the setup they were run with."""

    # The setup changed under curves of the old one: the page clears them, and the tab
    # stops the run that would keep drawing them.
    setup_changed = Signal()

    def plots(self) -> dict:
        return {}

    def reset(self) -> None:
        pass

    @Slot()
    def _on_setup_changed(self) -> None:
        if any(p.names() for p in self.plots().values()):
            self.setup_changed.emit()
            self.reset()


class NetPage(_ResultsPage):
    """Several optimizers train the same network from the same weights, side by side."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.controls = _NetControls(DEFAULT_NET_STATE)
        self.batch_size = NumberField("Batch size", DEFAULT_NET_STATE["batch_size"], 1, 1000, integer=True)
        self.controls.form.insertRow(5, self.batch_size)
        self.racers = RacerList(DEFAULT_NET_STATE["racers"])
        self.racers.setMinimumHeight(RACERS_MIN_HEIGHT)
        self.summary = QLabel("Every racer starts from the same weights and sees the same batches in the same order.")
        self.summary.setWordWrap(True)
        left = QWidget()
        lay = QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 4, 0)
        lay.addWidget(self.controls)
        lay.addWidget(QLabel("Racers"))
        lay.addWidget(self.racers, 1)
        self.train_loss = LivePlot("Training loss", "epoch", "loss", log_y=True)
        self.test_loss = LivePlot("Validation loss", "epoch", "loss", log_y=True)
        self.test_acc = LivePlot("Validation accuracy", "epoch", "accuracy")
        self.train_acc = LivePlot("Training accuracy", "epoch", "accuracy")
        _page(self, left, [self.train_loss, self.test_loss, self.train_acc, self.test_acc], self.summary)
        self.train_loss.set_hint("Play (Space) trains the network once per racer, from the same weights, "
                                 "and draws their losses here epoch by epoch")
        self._names: list[str] = []
        self.controls.setup_changed.connect(self._on_setup_changed)
        self.batch_size.value_changed.connect(self._on_setup_changed)

    def plots(self) -> dict:
        return {"net_train_loss": self.train_loss, "net_val_loss": self.test_loss, "net_train_acc": self.train_acc,
                "net_val_acc": self.test_acc}

    def job(self, device: str):
        epochs = int(self.controls.epochs.value())
        base = NetRaceConfig()
        # Steps of the whole run, for the step and exponential schedules' pace.
        n_train = round(base.n_points * base.train_fraction)
        total = epochs * -(-n_train // max(1, int(self.batch_size.value())))
        rows, settings = settings_from_values(self.racers.values(), total)
        if not settings:
            raise ValueError("Switch on at least one optimizer to race")
        self._rows = rows
        c = self.controls
        cfg = NetRaceConfig(dataset=c.dataset.currentData(), noise=float(c.noise.value()), hidden=c.hidden_layers(),
                            activation=c.activation.currentData(), racers=settings, epochs=epochs,
                            batch_size=int(self.batch_size.value()), seed=int(c.seed.value()), device=device)
        check_net_config(cfg)
        return net_race_job, cfg

    def state(self) -> dict:
        return dict(self.controls.state(), batch_size=int(self.batch_size.value()), racers=self.racers.values())

    def check_state(self, state: dict) -> dict:
        """The state completed with defaults; ValueError naming the field when it is bad."""
        s = dict(DEFAULT_NET_STATE, **state)
        self.controls.check_state(s)
        if isinstance(s["batch_size"], bool) or not isinstance(s["batch_size"], int):
            raise ValueError("'batch_size' must be a whole number")
        self.batch_size.check(s["batch_size"])
        check_racers(s["racers"])
        return s

    def apply_state(self, state: dict) -> None:
        s = self.check_state(state)
        self.controls.set_state(s)
        self.batch_size.set_value(s["batch_size"], emit=False)
        self.racers.set_values(s["racers"])

    def reset(self) -> None:
        for p in self.plots().values():
            p.clear_series()
        self.summary.setText("")

    def on_event(self, ev: Event) -> None:
        if isinstance(ev, Snapshot) and ev.kind == "net_start":
            self._names = list(ev.data["names"])
            colors = self.racers.colors()
            rows = getattr(self, "_rows", range(len(self._names)))
            for p in self.plots().values():
                p.expect_x_range(0, int(self.controls.epochs.value()))  # axes stay put while racing
                for name, i in zip(self._names, rows):
                    p.series(name, color=colors[i] if i < len(colors) else None)
            self.summary.setText(f"{len(self._names)} copies of a network with {ev.data['n_params']} weights, "
                                 f"{ev.data['steps_per_epoch']} steps per epoch, batched into one tensor program.")
        elif isinstance(ev, Snapshot) and ev.kind == "net_race":
            e = ev.data["epochs"]
            for i, name in enumerate(self._names):
                self.train_loss.series(name).extend(e, ev.data["train_loss"][:, i])
                self.test_loss.series(name).extend(e, ev.data["test_loss"][:, i])
                self.train_acc.series(name).extend(e, ev.data["train_acc"][:, i])
                self.test_acc.series(name).extend(e, ev.data["test_acc"][:, i])
        elif isinstance(ev, Finished) and "leaderboard" in ev.summary:
            lines = []
            for rank, r in enumerate(ev.summary["leaderboard"], 1):
                if r["alive"]:
                    lines.append(f"{rank}. {r['name']}: validation accuracy {r['test_acc']:.1%}, loss {r['test_loss']:.3g}")
                else:
                    lines.append(f"{rank}. {r['name']}: diverged")
            self.summary.setText(f"After {ev.summary['epochs']} epochs:  " + "   ".join(lines))


class BatchPage(_ResultsPage):
    """The same network trained with small and large batches; the landscape between them."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.controls = _NetControls(DEFAULT_BATCH_STATE)
        self.optimizer = QComboBox()
        for key, spec in OPTIMIZERS.items():
            self.optimizer.addItem(spec.label, key)
        self.lr = NumberField("Learning rate", DEFAULT_BATCH_STATE["lr"], 1e-5, 10.0, log=True)
        self.batch_sizes = QLineEdit(DEFAULT_BATCH_STATE["batch_sizes"])
        self.batch_sizes.setToolTip("Two to four batch sizes, e.g. 4, 250 (250 = the whole training set)")
        self.controls.form.insertRow(5, "Optimizer", self.optimizer)
        self.controls.form.insertRow(6, self.lr)
        self.controls.form.insertRow(7, "Batch sizes", self.batch_sizes)
        self.summary = QLabel("Same network, same initial weights, same number of epochs: small batches take many "
                              "noisy steps, large batches few exact ones.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        left = QWidget()
        lay = QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 4, 0)
        lay.addWidget(self.controls)
        lay.addStretch(1)
        self.loss = LivePlot("Training (solid) and test (dashed) loss", "epoch", "loss", log_y=True)
        self.acc = LivePlot("Test accuracy", "epoch", "accuracy")
        self.landscape = LivePlot("Loss along straight lines in weight space", "α (0 = start, 1 = end)", "training loss",
                                  log_y=True)
        self.landscape_test = LivePlot("Test loss along the same lines", "α (0 = start, 1 = end)", "test loss", log_y=True)
        _page(self, left, [self.loss, self.acc, self.landscape, self.landscape_test], self.summary)
        self.loss.set_hint("Play (Space) trains the same network with each batch size and draws the losses here")
        self.set_optimizer(DEFAULT_BATCH_STATE["optimizer"])
        self.controls.setup_changed.connect(self._on_setup_changed)
        self.optimizer.currentIndexChanged.connect(self._on_setup_changed)
        self.lr.value_changed.connect(self._on_setup_changed)
        self._sizes_text = self.batch_sizes.text()
        self.batch_sizes.editingFinished.connect(self._on_sizes_finished)

    @Slot()
    def _on_sizes_finished(self) -> None:
        if self.batch_sizes.text() != self._sizes_text:
            self._sizes_text = self.batch_sizes.text()
            self._on_setup_changed()

    def set_optimizer(self, kind: str) -> None:
        self.optimizer.setCurrentIndex(self.optimizer.findData(kind))

    def plots(self) -> dict:
        return {"batch_loss": self.loss, "batch_accuracy": self.acc, "landscape_train": self.landscape,
                "landscape_test": self.landscape_test}

    def job(self, device: str):
        c = self.controls
        sizes = parse_int_list(self.batch_sizes.text(), "Batch sizes", 1, 100_000)
        setting = OptimizerSetting(self.optimizer.currentData(), float(self.lr.value()))
        net = NetRaceConfig(dataset=c.dataset.currentData(), noise=float(c.noise.value()), hidden=c.hidden_layers(),
                            activation=c.activation.currentData(), racers=(setting,), epochs=int(c.epochs.value()),
                            seed=int(c.seed.value()), device=device)
        cfg = BatchSizeConfig(net=net, batch_sizes=sizes)
        check_batch_config(cfg)
        return batch_size_job, cfg

    def state(self) -> dict:
        return dict(self.controls.state(), optimizer=self.optimizer.currentData(), lr=float(self.lr.value()),
                    batch_sizes=self.batch_sizes.text())

    def check_state(self, state: dict) -> dict:
        """The state completed with defaults; ValueError naming the field when it is bad."""
        s = dict(DEFAULT_BATCH_STATE, **state)
        self.controls.check_state(s)
        if not (isinstance(s["optimizer"], str) and s["optimizer"] in OPTIMIZERS):
            raise ValueError(f"Unknown optimizer {s['optimizer']!r}")
        if isinstance(s["lr"], bool) or not isinstance(s["lr"], (int, float)):
            raise ValueError("'lr' must be a number")
        self.lr.check(s["lr"])
        sizes = parse_int_list(s["batch_sizes"], "Batch sizes", 1, 100_000)
        if not 2 <= len(sizes) <= 4:
            raise ValueError("Compare between two and four batch sizes")
        return s

    def apply_state(self, state: dict) -> None:
        s = self.check_state(state)
        self.controls.set_state(s)
        self.set_optimizer(s["optimizer"])
        self.lr.set_value(float(s["lr"]), emit=False)
        self.batch_sizes.setText(s["batch_sizes"])
        self._sizes_text = s["batch_sizes"]

    def reset(self) -> None:
        for p in self.plots().values():
            p.clear_series()

    def on_event(self, ev: Event) -> None:
        if isinstance(ev, Snapshot) and ev.kind == "batch_start":
            self._colors = {n: theme().style.series_color(i) for i, n in enumerate(ev.data["names"])}
        elif isinstance(ev, Snapshot) and ev.kind == "batch_curves":
            if not self.loss.names():
                epochs = int(self.controls.epochs.value())
                self.loss.expect_x_range(0, epochs)
                self.acc.expect_x_range(0, epochs)
            d = ev.data
            color = self._colors.get(d["name"])
            self.loss.series(f"{d['name']} train", color=color).extend(d["epochs"], d["train_loss"])
            self.loss.series(f"{d['name']} test", color=color, dash=True).extend(d["epochs"], d["test_loss"])
            self.acc.series(d["name"], color=color).extend(d["epochs"], d["test_acc"])
        elif isinstance(ev, Snapshot) and ev.kind == "landscape":
            alpha = ev.data["alpha"]
            for plot in (self.landscape, self.landscape_test):
                plot.expect_x_range(float(alpha[0]), float(alpha[-1]))
            for i, (name, (train, test)) in enumerate(ev.data["lines"].items()):
                color = theme().style.series_color(i + 4)
                self.landscape.set_data(name, alpha, train, color=color)
                self.landscape_test.set_data(name, alpha, test, color=color)
            self.summary.setText(
                describe(ev.data["summary"])
                + "\nSharpness: mean rise of the training loss when the weights move 5 % of their norm in a random "
                "direction. A flat minimum barely rises; test loss above training loss is the generalization gap."
            )
