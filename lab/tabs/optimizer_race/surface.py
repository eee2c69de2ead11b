"""The race on 2-D surfaces: controls, the contour map, curves, leaderboard and the
step-by-step panel of one racer."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.engine import Event, Finished, Snapshot
from core.optimizer_race.surface_race import DEFAULT_RACERS, RaceConfig, race_job, rank_racers
from core.optimizer_race.surfaces import SURFACES, Surface, check_start, make_surface, surface_grid
from core.optimizer_race.tuning import TuningConfig, tune_job
from core.state_values import shown
from lab.tabs.optimizer_race.page_parts import StandIn, chooser_column, light_tint
from lab.tabs.optimizer_race.racers import RACERS_MIN_HEIGHT, RacerList, check_racers, racer_values, settings_from_values
from widgets.contour_view import ContourView
from widgets.control_panel import scroll_column
from widgets.live_plot import LivePlot
from widgets.param_form import ErrorLabel, NumberField, parse_number
from widgets.redraw import request_redraw
from widgets.theme import theme

__all__ = ["SurfacePage", "DEFAULT_SURFACE_STATE"]

DEFAULT_SURFACE_STATE = {
    "surface": "quadratic",
    "condition": 10.0,
    "formula": "(x - 1)^2 + 3*(y + 0.5)^2 + sin(3*x)",
    "start": None,
    "steps": 500,
    "epsilon": 0.01,
    "seed": 0,
    "inspect": 0,
    "metric": "distance",
    "racers": [racer_values(s.kind) for s in DEFAULT_RACERS],
}
# The right-hand plot's choices, in the order of its menu (the key goes in experiment files).
METRICS = ("distance", "gradient_norm", "step_size", "effective_lr", "learning_rate")
# Per metric, in METRICS order: the attribute of its plot, the race chunk's key, the plot's
# title, its line in the "Show" menu and its minimum height.
METRIC_PLOTS = (
    ("dist_plot", "distance", "Distance to minimum", "distance to the nearest minimum", 120),
    ("grad_plot", "grad_norm", "Gradient norm |g|", "gradient norm |g|", 120),
    ("stepsize_plot", "step_size", "Step size |Δp|", "step size |Δp|", 120),
    ("rate_plot", "effective_lr", "Effective learning rate η/(√v + ε)",
     "effective learning rate η/(√v + ε), mean over x and y", None),  # keeps LivePlot's own 160 px
    ("lr_plot", "lr", "Learning rate η", "learning rate η (schedules)", 120),
)
ARROW_COLORS = {"gradient g": "#d62728", "velocity / m": "#1f77b4", "√(squared-gradient state)": "#2ca02c"}
PANELS_HZ = 5  # a table refresh costs more than a frame of the map: the panels keep to 5 a second


PLAY_HINT = "Play (Space) races the optimizers from the start point; Step (→) takes one step at a time"


class SurfacePage(QWidget):
    tune_requested = Signal()
    # The surface or the start point changed: paths, leaderboard and curves on screen
    # belong to another race, and are cleared (the tab stops that race).
    setup_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._surface = make_surface("quadratic")
        self._start: tuple[float, float] | None = None
        self._names: list[str] = []
        self._rows: list[int] = []
        self._inspect_data: list[dict] = []
        self._reset_live()

        # -- controls --------------------------------------------------------------
        self.surface_combo = QComboBox()
        for key, label in SURFACES.items():
            self.surface_combo.addItem(label, key)
        self.condition = NumberField("Condition number", 10.0, 1.0, 1000.0, log=True,
                                     tooltip="Ratio of the largest to the smallest curvature of the bowl")
        self.formula = QLineEdit(DEFAULT_SURFACE_STATE["formula"])
        self.formula.setToolTip("x, y, numbers, + − × / ^, exp log sin cos tan tanh abs sqrt, pi, e")
        self.formula_error = ErrorLabel()
        self.start_x, self.start_y = QLineEdit(), QLineEdit()
        for w in (self.start_x, self.start_y):
            w.setFixedWidth(70)
            w.editingFinished.connect(self._on_start_typed)
        self.start_error = ErrorLabel()
        self.steps_field = NumberField("Steps", 500, 10, 100_000, integer=True, tooltip="Steps every racer takes")
        self.epsilon = NumberField("Target distance ε", 0.01, 1e-4, 1.0, log=True,
                                   tooltip="A racer has reached a minimum when it is this close")
        self.seed = NumberField("Seed (gradient noise)", 0, 0, 9999, integer=True)
        self.tune_button = QPushButton("Fair race: tune each η first")
        self.tune_button.setToolTip("Search 13 learning rates per optimizer (log grid) on this surface and start, "
                                    "keep each one's best, then race")
        self.tune_button.clicked.connect(self.tune_requested)
        self.racers = RacerList(DEFAULT_SURFACE_STATE["racers"])
        self.racers.setMinimumHeight(RACERS_MIN_HEIGHT)

        form = QFormLayout()
        form.addRow("Surface", self.surface_combo)
        form.addRow(self.condition)
        form.addRow("f(x, y) =", self.formula)
        form.addRow(self.formula_error)
        start_row = QHBoxLayout()
        start_row.addWidget(QLabel("x"))
        start_row.addWidget(self.start_x)
        start_row.addWidget(QLabel("y"))
        start_row.addWidget(self.start_y)
        start_row.addStretch(1)
        form.addRow("Start (or click the map)", start_row)
        form.addRow(self.start_error)
        form.addRow(self.steps_field)
        form.addRow(self.epsilon)
        form.addRow(self.seed)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 4, 0)
        left_layout.addLayout(form)
        left_layout.addWidget(self.tune_button)
        left_layout.addWidget(QLabel("Racers"))
        left_layout.addWidget(self.racers, 1)

        # -- views -----------------------------------------------------------------
        self.contour = ContourView()
        self.contour.start_requested.connect(self._on_map_click)
        self.inspect_combo = QComboBox()
        self.inspect_combo.setToolTip("Which racer the step-by-step panel explains")
        self.inspect_combo.currentIndexChanged.connect(self._show_inspection)
        self.inspector = QLabel("Press Step (→) to take one step and see its numbers here.")
        self.inspector.setWordWrap(True)
        self.inspector.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.inspector.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.inspector.setStyleSheet("font-family: monospace;")
        self.inspector.setMinimumWidth(200)
        self.board = QTableWidget(0, 4)
        self.board.setHorizontalHeaderLabels(["Optimizer", "Status", "f − f*", "distance"])
        self.board.verticalHeader().setVisible(True)
        self.board.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.board.horizontalHeader().setStretchLastSection(True)
        self.board.setEditTriggers(QTableWidget.NoEditTriggers)
        side = chooser_column("Step by step:", self.inspect_combo,
                               [(self.inspector, 2), (QLabel("Leaderboard"), 0), (self.board, 3)])

        self.loss_plot = LivePlot("Loss f − f*", "step", "", log_y=True)
        self._dress_plot(self.loss_plot)
        # Two curves on screen (loss and one chosen metric): every visible plot repaints
        # each frame while racing, and five of them would halve the frame rate.
        # Only the chosen metric's plot is built; the others (~35 ms each) wait in the stack
        # as stand-ins of the same size until they are first shown or asked for, and
        # meanwhile the page keeps their data (see _metric_plot).
        self._metric_plots: list[LivePlot | None] = [None] * len(METRIC_PLOTS)
        self._metric_chunks: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in METRIC_PLOTS]
        self._expected_steps: int | None = None  # the x range the plots were told to expect
        self.metric_combo = QComboBox()
        self.metric_stack = QStackedWidget()
        hint, min_hint = self.loss_plot.sizeHint(), self.loss_plot.minimumSizeHint()
        for _attr, _key, _title, label, min_height in METRIC_PLOTS:
            self.metric_combo.addItem(label)
            stand_in = StandIn(hint, min_hint)
            stand_in.setMinimumSize(self.loss_plot.minimumWidth(), min_height or self.loss_plot.minimumHeight())
            self.metric_stack.addWidget(stand_in)
        self._metric_plot(0)
        self.metric_stack.setCurrentIndex(0)
        self.metric_combo.currentIndexChanged.connect(self._show_metric)
        self.metric_combo.setToolTip("Which per-optimizer curve the right-hand plot shows")
        metric_box = chooser_column("Show", self.metric_combo, [(self.metric_stack, 1)])
        curves = QWidget()
        grid = QGridLayout(curves)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.loss_plot, 0, 0)
        grid.addWidget(metric_box, 0, 1)

        top = QSplitter(Qt.Horizontal)
        top.addWidget(self.contour)
        top.addWidget(side)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        right = QSplitter(Qt.Vertical)
        right.addWidget(top)
        right.addWidget(curves)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        self.contour.setMinimumSize(240, 220)
        self.loss_plot.setMinimumHeight(120)  # the map above and two curves below in a projector's height
        outer = QSplitter(Qt.Horizontal)
        outer.addWidget(scroll_column(left, 320))
        outer.addWidget(right)
        outer.setStretchFactor(1, 1)
        outer.setSizes([440, 1000])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(outer)

        self.surface_combo.currentIndexChanged.connect(self._on_surface_changed)
        self.condition.value_changed.connect(lambda _v: self._on_surface_changed())
        self.formula.editingFinished.connect(self._on_surface_changed)
        self.racers.changed.connect(self._on_racers_changed)
        self._on_surface_changed()
        self._on_racers_changed()
        # Snapshots only store data; the leaderboard and the step panel are rebuilt on
        # the redraw scheduler's frames (a table refresh per snapshot would cost more
        # than a frame).
        self._panels_dirty = False

    # -- settings ---------------------------------------------------------------
    def plots(self) -> dict:
        """Every view, for export: the metric plots not built yet are built here."""
        views = {"contour": self.contour, "loss": self.loss_plot}
        views.update((key, self._metric_plot(i)) for i, key in enumerate(METRICS))
        return views

    def _built_plots(self) -> list[LivePlot]:
        return [self.loss_plot] + [p for p in self._metric_plots if p is not None]

    # -- the metric plots, built on first use ----------------------------------------
    @staticmethod
    def _dress_plot(p: LivePlot) -> None:
        p.legend.setVisible(False)  # the racer list and the map carry the colours' names
        p.set_hint(PLAY_HINT)

    def _metric_plot(self, i: int) -> LivePlot:
        """The plot of METRICS[i], built (in its place in the stack) and given the race so
        far the first time it is wanted."""
        p = self._metric_plots[i]
        if p is not None:
            return p
        _attr, _key, title, _label, min_height = METRIC_PLOTS[i]
        p = LivePlot(title, "step", "", log_y=True)
        self._dress_plot(p)
        if min_height is not None:
            p.setMinimumHeight(min_height)
        # What _begin and reset gave the built plots, in the same order.
        if self._expected_steps is not None:
            p.expect_x_range(0, self._expected_steps)
        if self._reached is not None:
            for name, color in zip(self._names, self._colors):
                p.series(name, color=color)
            chunks = self._metric_chunks[i]
            if chunks:
                steps = np.concatenate([c[0] for c in chunks])
                values = np.concatenate([c[1] for c in chunks])
                for r, name in enumerate(self._names):
                    p.series(name).extend(steps, values[:, r])
        elif self._expected_steps is not None:
            p.clear_series()  # a reset plot shows the last race's x range, as the built ones do
        self._metric_chunks[i] = []  # from now on the chunks go to the plot itself
        self._metric_plots[i] = p
        stand_in = self.metric_stack.widget(i)
        self.metric_stack.insertWidget(i, p)
        self.metric_stack.removeWidget(stand_in)
        stand_in.deleteLater()
        return p

    @Slot(int)
    def _show_metric(self, i: int) -> None:
        self._metric_plot(i)
        self.metric_stack.setCurrentIndex(i)

    dist_plot = property(lambda self: self._metric_plot(0))
    grad_plot = property(lambda self: self._metric_plot(1))
    stepsize_plot = property(lambda self: self._metric_plot(2))
    rate_plot = property(lambda self: self._metric_plot(3))
    lr_plot = property(lambda self: self._metric_plot(4))

    def _surface_from_controls(self):
        key = self.surface_combo.currentData()
        return make_surface(key, condition=float(self.condition.value()), formula=self.formula.text())

    @Slot()
    def _on_surface_changed(self) -> None:
        key = self.surface_combo.currentData()
        self.condition.setVisible(key == "quadratic")
        self.formula.setEnabled(key == "custom")
        try:
            surface = self._surface_from_controls()
        except ValueError as exc:
            self.formula_error.show_error(str(exc))
            return  # keep the last good surface on the map
        self.formula_error.clear_error()
        self._surface = surface
        self._start = None
        self._clear_race()
        xs, ys, Z = surface_grid(surface, 160)
        self.contour.set_surface(xs, ys, Z, surface.floor, surface.minima, surface.label)
        self._show_start(*surface.start)

    def _clear_race(self) -> None:
        if self.contour.n_points() or self.board.rowCount() or any(p.names() for p in self._built_plots()):
            self.setup_changed.emit()  # first, so the tab stops the old race before it is wiped
            self.reset()

    def _show_start(self, x: float, y: float) -> None:
        self.start_x.setText(f"{x:.4g}")
        self.start_y.setText(f"{y:.4g}")
        self.contour.set_start(x, y)
        self.start_error.clear_error()

    def set_start(self, x: float, y: float) -> bool:
        """Move the start point; a bad one is refused at the start fields."""
        try:
            check_start(self._surface, x, y)
        except ValueError as exc:
            self.start_error.show_error(str(exc))
            return False
        if (float(x), float(y)) != (self._start or self._surface.start):
            self._clear_race()
        self._start = (float(x), float(y))
        self._show_start(x, y)
        return True

    @Slot(float, float)
    def _on_map_click(self, x: float, y: float) -> None:
        self.set_start(round(x, 3), round(y, 3))

    @Slot()
    def _on_start_typed(self) -> None:
        try:
            x, y = parse_number(self.start_x.text()), parse_number(self.start_y.text())
        except ValueError as exc:
            self.start_error.show_error(f"Start: {exc}")
            return
        self.set_start(x, y)

    @Slot()
    def _on_racers_changed(self) -> None:
        steps = int(self.steps_field.value())
        try:
            rows, settings = settings_from_values(self.racers.values(), steps)
        except ValueError:
            return
        current = self.inspect_combo.currentIndex()
        self.inspect_combo.blockSignals(True)
        self.inspect_combo.clear()
        for s in settings:
            self.inspect_combo.addItem(s.name)
        self.inspect_combo.setCurrentIndex(min(max(current, 0), len(settings) - 1))
        self.inspect_combo.blockSignals(False)

    @property
    def surface(self) -> Surface:
        """The surface on the map, the one the next race runs on."""
        return self._surface

    def config(self, device: str) -> RaceConfig:
        if self.formula_error.isVisible() and self.surface_combo.currentData() == "custom":
            raise ValueError(f"Fix the formula first: {self.formula_error.text()}")
        steps = int(self.steps_field.value())
        rows, settings = settings_from_values(self.racers.values(), steps)
        if not settings:
            raise ValueError("Switch on at least one optimizer to race")
        start = self._start or self._surface.start
        return RaceConfig(surface=self._surface.key, condition=float(self.condition.value()),
                          formula=self._surface.formula, start=start, racers=settings, steps=steps,
                          epsilon=float(self.epsilon.value()), seed=int(self.seed.value()), device=device)

    def job(self, device: str):
        cfg = self.config(device)
        self._pending_rows = settings_from_values(self.racers.values(), cfg.steps)[0]
        return race_job, cfg

    def tuning_job(self, device: str):
        cfg = self.config(device)
        self._pending_rows = settings_from_values(self.racers.values(), cfg.steps)[0]
        return tune_job, TuningConfig(cfg, steps=min(cfg.steps, 1000))

    def state(self) -> dict:
        return {
            "surface": self.surface_combo.currentData(),
            "condition": float(self.condition.value()),
            "formula": self.formula.text(),
            "start": list(self._start) if self._start else None,
            "steps": int(self.steps_field.value()),
            "epsilon": float(self.epsilon.value()),
            "seed": int(self.seed.value()),
            "inspect": self.inspect_combo.currentIndex(),
            "metric": METRICS[self.metric_combo.currentIndex()],
            "racers": self.racers.values(),
        }

    def check_state(self, state: dict) -> dict:
        """The state completed with defaults; ValueError naming the field when it is bad."""
        s = dict(DEFAULT_SURFACE_STATE, **state)
        if not (isinstance(s["surface"], str) and s["surface"] in SURFACES):
            raise ValueError(f"Unknown surface {shown(s['surface'])}")
        for key in ("condition", "epsilon"):
            if isinstance(s[key], bool) or not isinstance(s[key], (int, float)):
                raise ValueError(f"'{key}' must be a number")
        for key in ("steps", "seed", "inspect"):
            if isinstance(s[key], bool) or not isinstance(s[key], int):
                raise ValueError(f"'{key}' must be a whole number")
        if not isinstance(s["formula"], str) or len(s["formula"]) > 500:
            raise ValueError("'formula' must be text of at most 500 characters")
        if not isinstance(s["metric"], str) or s["metric"] not in METRICS:
            raise ValueError(f"'metric' must be one of {', '.join(METRICS)}")
        surface = make_surface(s["surface"], condition=float(s["condition"]), formula=s["formula"])
        if s["start"] is not None:
            if not (isinstance(s["start"], list) and len(s["start"]) == 2
                    and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in s["start"])):
                raise ValueError("'start' must be [x, y] or null")
            check_start(surface, *s["start"])
        for field, key in ((self.condition, "condition"), (self.steps_field, "steps"), (self.epsilon, "epsilon"),
                           (self.seed, "seed")):
            try:
                field.check(s[key])
            except ValueError as exc:
                raise ValueError(f"{field.label.text()}: {exc}") from None
        check_racers(s["racers"])
        return s

    def apply_state(self, state: dict) -> None:
        """Check everything first (ValueError, nothing changed), then show it."""
        s = self.check_state(state)
        same_surface = (s["surface"], float(s["condition"]), s["formula"]) == (
            self.surface_combo.currentData(), float(self.condition.value()), self.formula.text())
        self.surface_combo.blockSignals(True)
        self.surface_combo.setCurrentIndex(self.surface_combo.findData(s["surface"]))
        self.surface_combo.blockSignals(False)
        self.condition.set_value(float(s["condition"]), emit=False)
        self.formula.setText(s["formula"])
        self.steps_field.set_value(s["steps"], emit=False)
        self.epsilon.set_value(float(s["epsilon"]), emit=False)
        self.seed.set_value(s["seed"], emit=False)
        self.racers.set_values(s["racers"])
        if not same_surface or self.formula_error.isVisible():
            self._on_surface_changed()  # recomputes the map; skipped when only racers changed
        else:
            self._start = None
            self._show_start(*self._surface.start)
        if s["start"] is not None:
            self.set_start(*s["start"])
        self.inspect_combo.setCurrentIndex(min(max(s["inspect"], 0), self.inspect_combo.count() - 1))
        self.metric_combo.setCurrentIndex(METRICS.index(s["metric"]))

    # -- results ------------------------------------------------------------------
    def _reset_live(self) -> None:
        self._reached: np.ndarray | None = None
        self._loss_offset = 0.0  # added to f − f* where the surface has no f* (see _begin)
        self._last_gap: np.ndarray | None = None
        self._last_dist: np.ndarray | None = None
        self._diverged = self._escaped = None

    def reset(self) -> None:
        for p in self._built_plots():
            p.clear_series()
        self._metric_chunks = [[] for _ in METRIC_PLOTS]
        self.contour.clear_paths()
        self.board.setRowCount(0)
        self._inspect_data = []
        self.inspector.setText("Press Step (→) to take one step and see its numbers here.")
        self._reset_live()

    def on_event(self, ev: Event) -> None:
        if isinstance(ev, Snapshot) and ev.kind == "race_start":
            self._begin(ev.data)
        elif isinstance(ev, Snapshot) and ev.kind == "race":
            self._add_chunk(ev.data)
        elif isinstance(ev, Finished) and "leaderboard" in ev.summary:
            self.redraw()
            self._show_board(ev.summary["leaderboard"])

    def _begin(self, data: dict) -> None:
        self._names = list(data["names"])
        rows = getattr(self, "_pending_rows", list(range(len(self._names))))
        colors = self.racers.colors()
        self._colors = [colors[i] if i < len(colors) else "#777777" for i in rows]
        self.contour.set_racers(self._names, self._colors)
        self.contour.append_points(data["path"])
        n = len(self._names)
        self._reached = np.full(n, -1)
        steps = int(data.get("steps", 0)) or int(self.steps_field.value())
        self._expected_steps = steps
        self._metric_chunks = [[] for _ in METRIC_PLOTS]
        for p in self._built_plots():
            p.expect_x_range(0, steps)  # the axes stay put while the curves fill in
            for name, color in zip(self._names, self._colors):
                p.series(name, color=color)
        # f − f* needs an f*: on a surface with no minimum (the saddle falls forever) the
        # curve is f itself, on a linear axis, since it goes below any floor.
        self._loss_offset = 0.0 if self._surface.minima else float(self._surface.floor)
        bounded = bool(self._surface.minima)
        self.loss_plot.set_title("Loss f − f*" if bounded else "Loss f (no minimum, so no f*)")
        self.loss_plot.set_log_y(bounded)
        header = self.board.horizontalHeaderItem(2)
        if header is not None:
            header.setText("f − f*" if bounded else "f")
        start = data["path"][0, 0]
        self.contour.set_start(float(start[0]), float(start[1]))
        if not self._surface.minima and self.metric_combo.currentIndex() == 0:
            self.metric_combo.setCurrentIndex(1)  # no minimum, no distance: show |g| instead

    def _add_chunk(self, data: dict) -> None:
        if self._reached is None:
            return
        self.contour.append_points(data["path"])
        steps = data["steps"]
        for i, name in enumerate(self._names):
            self.loss_plot.series(name).extend(steps, data["gap"][:, i] + self._loss_offset)
        for m, (_attr, key, *_rest) in enumerate(METRIC_PLOTS):
            p = self._metric_plots[m]
            if p is None:
                self._metric_chunks[m].append((steps, data[key]))  # for the plot when it is built
            else:
                for i, name in enumerate(self._names):
                    p.series(name).extend(steps, data[key][:, i])
        eps = self._epsilon_now
        close = data["distance"] < eps
        fresh = (self._reached < 0) & close.any(0)
        self._reached[fresh] = steps[close.argmax(0)[fresh]]
        self._last_gap, self._last_dist = data["gap"][-1], data["distance"][-1]
        self._diverged, self._escaped = data["diverged_at"], data["escaped_at"]
        if "inspect" in data:
            self._inspect_data = data["inspect"]
        self._panels_dirty = True
        request_redraw(self, max_hz=PANELS_HZ)

    @Slot()
    def redraw(self) -> None:
        """Rebuild the leaderboard and the step-by-step panel from the latest snapshot
        (the map and the curves draw themselves)."""
        if not self._panels_dirty or self._reached is None or self._last_gap is None:
            return
        self._panels_dirty = False
        self._show_board(rank_racers(self._names, self._reached, self._escaped, self._diverged,
                                     self._last_gap, self._last_dist))
        self._show_inspection()

    @property
    def _epsilon_now(self) -> float:
        return float(self.epsilon.value())

    def _show_board(self, rows: list[dict]) -> None:
        if self.board.rowCount() != len(rows):
            self.board.setRowCount(len(rows))
            for r in range(len(rows)):
                for c in range(4):
                    self.board.setItem(r, c, QTableWidgetItem())
        colors = getattr(self, "_colors", [])
        for r, row in enumerate(rows):
            cells = [row["name"], row["status"], f"{row['loss_gap'] + self._loss_offset:.3g}",
                     "—" if not math.isfinite(row["distance"]) else f"{row['distance']:.3g}"]
            for c, text in enumerate(cells):
                item = self.board.item(r, c)
                if item.text() != text:
                    item.setText(text)
            if row["racer"] < len(colors):
                name_item = self.board.item(r, 0)
                name_item.setForeground(Qt.GlobalColor.black)
                name_item.setBackground(light_tint(colors[row["racer"]]))

    @Slot()
    def _show_inspection(self) -> None:
        i = self.inspect_combo.currentIndex()
        if not self._inspect_data or not 0 <= i < len(self._inspect_data):
            self.contour.set_arrows(None, [])
            return
        info = self._inspect_data[i]
        self.inspector.setText("\n".join(info["lines"]))
        if "grad" not in info:
            self.contour.set_arrows(None, [])
            return
        state = info["state"]
        arrows = [("−g", -np.asarray(info["grad"]), ARROW_COLORS["gradient g"]),
                  ("Δp", info["update"], theme().style.foreground)]  # black or white by theme
        velocity = state.get("momentum_buffer", state.get("exp_avg"))
        if velocity is not None:
            arrows.append(("−v", -np.asarray(velocity), ARROW_COLORS["velocity / m"]))
        squared = state.get("exp_avg_sq", state.get("sum", state.get("square_avg")))
        if squared is not None:
            arrows.append(("√s", np.sqrt(np.abs(squared)), ARROW_COLORS["√(squared-gradient state)"]))
        prev = np.asarray(info["position"]) - np.asarray(info["update"])
        self.contour.set_arrows(prev, arrows)

    def apply_tuning(self, summary: dict) -> None:
        rows = getattr(self, "_pending_rows", [])
        self.racers.set_learning_rates(rows, summary["lrs"])
