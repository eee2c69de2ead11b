"""The augmentation tab's left column: image source, pipeline, draws, sweep, batch
mixing and the save/export buttons. It only holds controls; the tab wires them."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.augmentation.draws import MAX_DRAWS
from core.datasets.samples import sample_names
from core.transforms import MIX_KINDS, TRANSFORMS
from lab.tabs.augmentation.pipeline import PipelineEditor
from widgets.control_panel import FittedScrollArea, fit_narrow
from widgets.param_form import NumberField

__all__ = ["ControlColumn", "MIX_TITLES"]

MIX_TITLES = {"none": "no mixing", "mixup": "MixUp", "cutmix": "CutMix"}


class ControlColumn(FittedScrollArea):
    def __init__(self, parent=None):
        # Wide enough for the widest parameter row (two range fields side by side) and the scroll bar.
        super().__init__(parent, least=300, most=440)
        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(4, 4, 4, 4)

        image_box = QGroupBox("Image")
        form = QVBoxLayout(image_box)
        self.sample_combo = QComboBox()
        self.sample_combo.addItems(sample_names())
        self.sample_combo.setToolTip("The lab's own sample pictures; or drop an image file anywhere on this tab")
        self.open_button = QPushButton("Your image…")
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip("A folder of images: the first is augmented, all of them form the batch for mixing and statistics")
        self.dataset_button = QPushButton("Shapes data set")
        self.dataset_button.setToolTip("The image-networks lab's built-in shapes, one per class, as the batch")
        row = QHBoxLayout()
        row.addWidget(self.sample_combo, 1)
        row.addWidget(self.open_button)
        form.addLayout(row)
        row2 = QHBoxLayout()
        row2.addWidget(self.folder_button)
        row2.addWidget(self.dataset_button)
        form.addLayout(row2)
        self.image_note = QLabel("Drop a PNG, JPEG, BMP or WebP file here to use your own.")
        self.image_note.setWordWrap(True)
        form.addWidget(self.image_note)
        col.addWidget(image_box)

        pipe_box = QGroupBox("Pipeline (torchvision.transforms.v2)")
        pl = QVBoxLayout(pipe_box)
        self.editor = PipelineEditor()
        pl.addWidget(self.editor)
        col.addWidget(pipe_box)

        draws_box = QGroupBox("Draws")
        df = QFormLayout(draws_box)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 999_999)
        self.reroll_button = QPushButton("Re-roll")
        self.reroll_button.setToolTip("A new random seed: new draws (the same seed always gives the same grid)")
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.reroll_button)
        df.addRow("seed", seed_row)
        self.count_spin = QSpinBox()
        self.count_spin.setRange(1, MAX_DRAWS)
        self.count_spin.setValue(16)
        df.addRow("number of draws", self.count_spin)
        self.sweep_combo = QComboBox()
        self.sweep_combo.setToolTip("Show one transform's parameter swept across a row (same seed, p = 1)")
        df.addRow("sweep", self.sweep_combo)
        self.sweep_cells = QSpinBox()
        self.sweep_cells.setRange(3, 11)
        self.sweep_cells.setValue(7)
        df.addRow("sweep cells", self.sweep_cells)
        col.addWidget(draws_box)

        mix_box = QGroupBox("Batch mixing and labels")
        mf = QFormLayout(mix_box)
        self.mix_combo = QComboBox()
        for k in MIX_KINDS:
            self.mix_combo.addItem(MIX_TITLES[k], k)
        mf.addRow("mixing", self.mix_combo)
        self.alpha_field = NumberField("α (Beta(α, α) mixing weights)", 1.0, 0.01, 10.0, log=True, decimals=3)
        mf.addRow(self.alpha_field)
        self.smoothing_field = NumberField("label smoothing ε", 0.0, 0.0, 0.99, decimals=2)
        mf.addRow(self.smoothing_field)
        col.addWidget(mix_box)

        out_box = QGroupBox("Save and export")
        ob = QVBoxLayout(out_box)
        r1, r2 = QHBoxLayout(), QHBoxLayout()
        self.copy_code_button = QPushButton("Copy code")
        self.save_json_button = QPushButton("Save JSON…")
        self.load_json_button = QPushButton("Load JSON…")
        self.export_grid_button = QPushButton("Export grid PNG…")
        r1.addWidget(self.copy_code_button)
        r1.addWidget(self.export_grid_button)
        r2.addWidget(self.save_json_button)
        r2.addWidget(self.load_json_button)
        ob.addLayout(r1)
        ob.addLayout(r2)
        col.addWidget(out_box)
        col.addStretch(1)
        fit_narrow(body)
        self.setWidget(body)

    def fill_sweep_choices(self, entries: list[dict], keep: int | None) -> None:
        """List the steps that have a sweep; keep the chosen step when it still can be swept."""
        self.sweep_combo.blockSignals(True)
        self.sweep_combo.clear()
        self.sweep_combo.addItem("no sweep", None)
        for i, e in enumerate(entries):
            d = TRANSFORMS[e["type"]]
            if d.sweep is not None:
                self.sweep_combo.addItem(f"{i + 1}. {d.title}: {d.sweep[0]}", i)
        index = self.sweep_combo.findData(keep) if keep is not None else 0
        self.sweep_combo.setCurrentIndex(max(0, index))
        self.sweep_combo.blockSignals(False)

    def sweep_step(self) -> int | None:
        return self.sweep_combo.currentData()
