"""The widgets of the network builder tab and their wiring (the tab's logic is in network.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lab.tabs.network.layers import LayerControlsRow, LayerCountBar
from lab.tabs.network.panels import DataPanel, ExtrasPanel, ModelPanel
from lab.tabs.training_form import TrainingForm
from widgets.heatmap import Heatmap
from widgets.live_plot import LivePlot
from widgets.network_diagram import NetworkDiagram
from widgets.play_controls import PlayControls

if TYPE_CHECKING:
    from lab.tabs.network.tab import NetworkTab

__all__ = ["build_ui"]


def build_ui(tab: "NetworkTab") -> None:
    """Create the widgets of the tab and wire them to its slots."""
    tab.controls = PlayControls()
    tab.bind_play_controls(tab.controls)
    tab.controls.reset_requested.connect(tab.show_fresh_network)  # after the runner's own reset
    tab.counter = QLabel("Epoch 0")
    tab.counter.setToolTip("Epochs (passes over the training data) and iterations (weight updates)")
    # Its text changes every frame: a fixed policy keeps that from re-laying out the whole tab.
    tab.counter.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
    tab.counter.setMinimumWidth(200)
    tab.engine_label = QLabel()
    tab.engine_label.setToolTip("The fast path covers the common cases; the rest runs on autograd and torch.optim")
    status = QVBoxLayout()
    status.setSpacing(0)
    status.addWidget(tab.counter)
    status.addWidget(tab.engine_label)
    top = QHBoxLayout()
    top.addWidget(tab.controls, 2)
    top.addLayout(status, 3)

    # left: data and training
    tab.data_panel = DataPanel()
    tab.training = TrainingForm(max_batch=tab.points.is_train.sum())
    tab.extras = ExtrasPanel()
    tab.model_panel = ModelPanel()
    left = QWidget()
    lbox = QVBoxLayout(left)
    for title, w in (("Data", tab.data_panel), ("Training", tab.training), ("More training", tab.extras),
                     ("Files", tab.model_panel)):
        g = QGroupBox(title)
        QVBoxLayout(g).addWidget(w)
        lbox.addWidget(g)
    lbox.addStretch(1)
    scroll = tab.left_scroll = QScrollArea()
    scroll.setWidget(left)
    scroll.setWidgetResizable(True)
    tab.left_panel = left
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)

    # middle: the network
    tab.layer_bar = LayerCountBar()
    tab.layer_row = LayerControlsRow()
    tab.diagram = NetworkDiagram()
    middle = QWidget()
    mbox = QVBoxLayout(middle)
    mbox.setContentsMargins(0, 0, 0, 0)
    mbox.addWidget(tab.layer_bar)
    mbox.addWidget(tab.layer_row)
    mbox.addWidget(tab.diagram, 1)
    hint = QLabel("Click a feature to switch it on or off · click a neuron to see it large · click an edge to "
                  "type a weight · right-click a neuron to type its bias")
    hint.setWordWrap(True)
    mbox.addWidget(hint)

    # right: output and curves
    tab.heatmap = Heatmap("Output")
    tab.show_test = QCheckBox("Show test data")
    tab.discretize = QCheckBox("Discretize output")
    tab.show_output = QPushButton("Show output")
    tab.show_output.setToolTip("Back from a single neuron to the network's output")
    tab.show_output.hide()
    tab.loss_plot = LivePlot("Loss", "epoch", "loss")
    tab.accuracy_plot = LivePlot("Accuracy", "epoch", "accuracy")
    right = QWidget()
    rbox = QVBoxLayout(right)
    rbox.setContentsMargins(0, 0, 0, 0)
    rbox.addWidget(tab.heatmap, 3)
    row = QHBoxLayout()
    row.addWidget(tab.show_test)
    row.addWidget(tab.discretize)
    row.addWidget(tab.show_output)
    row.addStretch(1)
    rbox.addLayout(row)
    rbox.addWidget(tab.loss_plot, 2)
    rbox.addWidget(tab.accuracy_plot, 2)

    split = QSplitter(Qt.Horizontal)
    split.addWidget(scroll)
    split.addWidget(middle)
    split.addWidget(right)
    split.setStretchFactor(1, 3)
    split.setStretchFactor(2, 2)
    split.setSizes([330, 620, 480])
    content = QWidget()
    cbox = QVBoxLayout(content)
    cbox.setContentsMargins(0, 0, 0, 0)
    cbox.addLayout(top)
    cbox.addWidget(split, 1)
    tab.set_content(content)

    tab.layer_bar.count_requested.connect(tab._change_layer_count)
    tab.layer_row.neurons_requested.connect(tab._change_neurons)
    tab.layer_row.layer_changed.connect(tab._layers_edited)
    tab.diagram.feature_toggled.connect(tab.toggle_feature)
    tab.diagram.node_clicked.connect(tab._select_neuron)
    tab.diagram.weight_edited.connect(tab._edit_weight)
    tab.training.changed.connect(tab._training_changed)
    tab.extras.changed.connect(tab._training_changed)
    tab.extras.network_changed.connect(tab._network_changed)
    tab.data_panel.settings_changed.connect(tab._data_settings_changed)
    tab.data_panel.regenerate_requested.connect(tab._regenerate)
    tab.heatmap.clicked.connect(tab._map_clicked)
    tab.show_test.toggled.connect(tab.heatmap.set_show_test)
    tab.discretize.toggled.connect(tab._mark_dirty)
    tab.show_output.clicked.connect(lambda: tab._select_neuron(-1, -1))
    tab.model_panel.record_gif.toggled.connect(tab._record_toggled)
