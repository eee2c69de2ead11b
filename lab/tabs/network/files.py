"""What the network builder's file buttons do: save or load a model or the points, and say
at the control or in the banner what went wrong, changing nothing."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot

__all__ = ["FileActions"]


class FileActions(QObject):
    """Connects the view's file requests to the tab's save and load methods."""

    def __init__(self, tab):
        super().__init__(tab)
        self.tab = tab
        v = tab.view
        v.save_model_requested.connect(self.save_model_to)
        v.load_model_requested.connect(self.load_model_from)
        v.save_points_requested.connect(self.save_points_to)
        v.load_points_requested.connect(self.load_points_from)

    @Slot(str)
    def save_model_to(self, path: str) -> None:
        self._warn_on_failure(self.tab.save_model, path)

    @Slot(str)
    def load_model_from(self, path: str) -> None:
        self._warn_on_failure(self.tab.load_model, path)

    @Slot(str)
    def save_points_to(self, path: str) -> None:
        self._warn_on_failure(self.tab.save_points_csv, path)

    @Slot(str)
    def load_points_from(self, path: str) -> None:
        error = self.tab.view.data_panel.error  # a bad CSV is the data panel's to explain
        try:
            self.tab.load_points_csv(path)
            error.clear_error()
        except ValueError as exc:
            error.show_error(str(exc))

    def _warn_on_failure(self, action, *args) -> None:
        try:
            action(*args)
        except (ValueError, OSError) as exc:
            self.tab.banner.show_message(str(exc), "warning")
