"""The augmentation tab's result pages: channel histograms, the mixed batch with its
soft labels, and preprocessing (2-D toy data stages and image batch statistics)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QHBoxLayout, QLabel, QRadioButton, QVBoxLayout, QWidget

from core.augmentation.preprocess import STAGE_NAMES, image_batch_stats, preprocess_stages, toy_data
from widgets.image_grid_view import ImageGridView
from widgets.live_plot import LivePlot
from widgets.param_form import ErrorLabel
from widgets.theme import theme

__all__ = ["HistogramPanel", "MixPage", "PreprocessPage", "WarningLabel"]

CHANNELS = ("R", "G", "B")
CHANNEL_COLORS = ("#D55E00", "#009E73", "#0072B2")


class WarningLabel(ErrorLabel):
    """An amber note (an ErrorLabel in warning colours) that hides when empty."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setStyleSheet("QLabel { background: #fff4d6; color: #6b4e00; border: 1px solid #e6c870; border-radius: 4px; padding: 4px; }")

    def show_text(self, text: str) -> None:
        self.show_error(text)


class HistogramPanel(QWidget):
    """Per-channel histograms of the original (dashed) and of all draws (solid)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = LivePlot("Channel values: original (dashed) vs draws (solid)", "value the network sees", "fraction of pixels")
        self.plot.setMinimumHeight(130)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.summary)

    def show_stats(self, data: dict) -> None:
        for which, dash in (("before", True), ("after", False)):
            h = data[which]
            centres = 0.5 * (h["edges"][:-1] + h["edges"][1:])
            total = max(1, int(h["counts"][0].sum()))
            for c, name in enumerate(CHANNELS):
                self.plot.set_data(f"{name} {which}", centres, h["counts"][c] / total, color=CHANNEL_COLORS[c], dash=dash)
        self.plot.redraw()
        self.plot.getPlotItem().enableAutoRange()  # fit this grid's histograms, not an earlier one's
        b, a = data["before"], data["after"]
        lines = [
            "original: mean " + _triple(b["mean"]) + ", std " + _triple(b["std"]),
            "draws: mean " + _triple(a["mean"]) + ", std " + _triple(a["std"]),
        ]
        norm = data.get("normalize")
        if norm:
            lines.append(f"Normalize used mean {_triple(norm['mean'])}, std {_triple(norm['std'])}: (x − mean) / std per channel")
        self.summary.setText("\n".join(lines))


def _triple(v) -> str:
    return "(" + ", ".join(f"{n} {float(x):+.3f}" for n, x in zip(CHANNELS, v)) + ")"


class MixPage(QWidget):
    """A labelled batch after mixing: each image with its soft label as bars."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = ImageGridView(cell_size=150, caption_lines=1)
        self.grid.empty_text = "Choose MixUp or CutMix (or label smoothing) under “Batch mixing” to see a mixed batch."
        self.explain = QLabel()
        self.explain.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explain)
        layout.addWidget(self.grid, 1)

    def show_batch(self, data: dict) -> None:
        classes = list(data["classes"])
        soft = np.asarray(data["soft_labels"])
        bars, captions, tips = [], [], []
        for i, row in enumerate(soft):
            order = np.argsort(-row)[:3]
            bars.append([(classes[k], float(row[k])) for k in order if row[k] > 1e-6])
            captions.append(f"was: {classes[i]}")
            tips.append("soft label: " + ", ".join(f"{classes[k]} {row[k]:.3f}" for k in range(len(classes))) + f"  (sum {row.sum():.3f})")
        self.grid.set_images(list(data["images"]), captions, tips, bars)
        kind, params, eps = data["kind"], data["params"], data["label_smoothing"]
        parts = []
        if kind == "mixup":
            parts.append(f"MixUp: every image is λ · itself + (1 − λ) · its left neighbour, with λ = {params['lam']:.3f} drawn from Beta(α, α); the labels are mixed by the same λ.")
        elif kind == "cutmix":
            x1, y1, x2, y2 = params["box"]
            parts.append(
                f"CutMix: the box ({x1}, {y1})–({x2}, {y2}) of the left neighbour is pasted in; it covers {1 - params['lam']:.1%} of the image, "
                "so that is the neighbour's share of the label."
            )
        if eps:
            parts.append(f"Label smoothing ε = {eps:g}: (1 − ε) · label + ε / {len(classes)} for every class — the target of CrossEntropyLoss(label_smoothing={eps:g}).")
        self.explain.setText(" ".join(parts))


def wrapped(text: str) -> QLabel:
    """A caption that wraps instead of setting the page's least width."""
    label = QLabel(text)
    label.setWordWrap(True)
    return label


class PreprocessPage(QWidget):
    """2-D toy data through the preprocessing stages, and a batch of images' statistics."""

    source_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.train_button = QRadioButton("statistics from the training set")
        self.test_button = QRadioButton("from the test set (a mistake: see why)")
        self.train_button.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.train_button)
        group.addButton(self.test_button)
        self.train_button.toggled.connect(lambda _: self.refresh())
        self.warning = WarningLabel()
        self.stage_plots: list[LivePlot] = []
        self.stage_notes: list[QLabel] = []
        stages = QGridLayout()
        for k, name in enumerate(STAGE_NAMES):
            # The name above the plot, not as its title: a label wraps in a narrow plot, a title is cut off.
            title = QLabel(f"<b>{name}</b>")
            title.setAlignment(Qt.AlignHCenter)
            title.setWordWrap(True)
            plot = LivePlot("", "x₁", "x₂")
            plot.setMinimumSize(150, 150)
            plot.getPlotItem().setAspectLocked(True)
            # An ellipse is not sorted in x: clipping to the view by x would cut it away.
            plot.getPlotItem().setClipToView(False)
            plot.getPlotItem().setDownsampling(auto=False)
            plot.legend.hide()  # one ellipse per plot; the caption above says what it is
            note = QLabel()
            note.setAlignment(Qt.AlignHCenter)
            stages.addWidget(title, 0, k)
            stages.addWidget(plot, 1, k)
            stages.addWidget(note, 2, k)
            self.stage_plots.append(plot)
            self.stage_notes.append(note)
        self.image_grid = ImageGridView(cell_size=84, caption_lines=2)
        self.image_grid.empty_text = "The draws of the grid appear here as a batch once they are made."
        self.image_note = QLabel()
        self.image_note.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.train_button)
        top.addWidget(self.test_button)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.warning)
        layout.addWidget(wrapped("<b>2-D toy data</b>: training points (blue), test points (orange), and the 2σ covariance ellipse of the training points"))
        layout.addLayout(stages, 3)
        layout.addWidget(wrapped("<b>A batch of images</b> (the draws of the grid; training = first ¾, test = last ¼): mean image and principal components"))
        layout.addWidget(self.image_grid, 2)
        layout.addWidget(self.image_note)
        self._images: list[np.ndarray] = []
        self._train, self._test = toy_data()

    @property
    def source(self) -> str:
        return "test" if self.test_button.isChecked() else "train"

    def set_source(self, source: str) -> None:
        (self.test_button if source == "test" else self.train_button).setChecked(True)

    def set_images(self, images: list[np.ndarray]) -> None:
        self._images = list(images)
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        source = self.source
        stages = preprocess_stages(self._train, self._test, source)
        style = theme().style
        for plot, note, st in zip(self.stage_plots, self.stage_notes, stages):
            item = plot.getPlotItem()
            for old in [i for i in item.items if isinstance(i, pg.ScatterPlotItem)]:
                item.removeItem(old)
            for pts, color in ((st.train, "#0072B2"), (st.test, "#E69F00")):
                dots = pg.ScatterPlotItem(pts[:, 0], pts[:, 1], size=4 + style.line_width, pen=None, brush=pg.mkBrush(color + "aa"))
                dots.setZValue(-1)  # under the ellipse
                item.addItem(dots)
            plot.set_data("2σ ellipse", st.ellipse[:, 0], st.ellipse[:, 1], color="#D55E00")
            plot.redraw()
            item.enableAutoRange()  # fit the new points, also after the page is first laid out
            c = st.cov
            note.setText(f"cov [[{c[0, 0]:.2f}, {c[0, 1]:.2f}],\n [{c[1, 0]:.2f}, {c[1, 1]:.2f}]]")  # two lines: four plots fit a row
        self._refresh_images(source)
        self.source_changed.emit(source)

    def _refresh_images(self, source: str) -> None:
        if len(self._images) < 4:
            self.image_grid.clear()
            self.image_note.setText("")
            self.warning.show_text(self._warning(source))
            return
        cut = max(2, (3 * len(self._images)) // 4)
        train, test = self._images[:cut], self._images[cut:]
        if len(test) < 2:
            train, test = self._images[:-2], self._images[-2:]
        stats = image_batch_stats(train, test, source, n_components=7)
        images = [stats.mean_image] + list(stats.components)
        captions = ["mean image"] + [f"PC {k + 1}\n{e:.0%} of variance" for k, e in enumerate(stats.explained)]
        self.image_grid.set_images(images, captions)
        self.image_note.setText(
            f"Per-channel statistics of the {source} images: mean {_triple(stats.channel_mean)}, std {_triple(stats.channel_std)}. "
            "Normalize subtracts this mean and divides by this std in every pixel. Principal components are shown grey = 0."
        )
        self.warning.show_text(stats.warning)

    @staticmethod
    def _warning(source: str) -> str:
        from core.augmentation.preprocess import stats_warning

        return stats_warning(source)
