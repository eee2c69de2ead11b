"""A plot's right-click menu, made the first time it is needed.

pyqtgraph builds each ViewBox's context menu (two panels of spin boxes, combo boxes and
check boxes, one per axis) with the plot, for a menu most plots never open: making a
LivePlot took 35 ms with it and 15 ms without it (2-core machine, 2026-12-02). :class:`LazyMenuViewBox` makes the menu on first access of ``menu``
(a right click, or code adding an action), then runs the callbacks registered with
:meth:`LazyMenuViewBox.when_menu_made` on it.
"""

from __future__ import annotations

from typing import Callable

import pyqtgraph as pg
from pyqtgraph.graphicsItems.ViewBox.ViewBoxMenu import ViewBoxMenu

__all__ = ["LazyMenuViewBox"]


class LazyMenuViewBox(pg.ViewBox):
    def __init__(self, *args, **kwargs):
        self._lazy_menu: ViewBoxMenu | None = None
        self._menu_callbacks: list[Callable[[ViewBoxMenu], None]] = []
        self._menu_pending = False
        kwargs["enableMenu"] = False  # pyqtgraph builds no menu ...
        super().__init__(*args, **kwargs)
        self.state["enableMenu"] = True  # ... yet right clicks still ask for one
        self._menu_pending = True

    @property
    def menu(self) -> ViewBoxMenu | None:
        if self._lazy_menu is None and self._menu_pending:
            self._menu_pending = False
            self._lazy_menu = ViewBoxMenu(self)
            super().updateViewLists()
            for callback in self._menu_callbacks:
                callback(self._lazy_menu)
            self._menu_callbacks.clear()
        return self._lazy_menu

    @menu.setter
    def menu(self, value: ViewBoxMenu | None) -> None:  # pyqtgraph's own enable/disable
        self._lazy_menu = value
        if value is None:
            self._menu_pending = False

    @property
    def menu_is_made(self) -> bool:
        return self._lazy_menu is not None

    def when_menu_made(self, callback: Callable[[ViewBoxMenu], None]) -> None:
        """Call ``callback(menu)`` once the menu exists (now, if it does)."""
        if self._lazy_menu is not None:
            callback(self._lazy_menu)
        else:
            self._menu_callbacks.append(callback)

    def _applyMenuEnabled(self) -> None:  # noqa: N802
        if not self.state.get("enableMenu", True):
            super()._applyMenuEnabled()
        elif self._lazy_menu is None:
            self._menu_pending = True  # made when first asked for, as at the start

    def updateViewLists(self) -> None:  # noqa: N802
        # pyqtgraph refreshes every view's "link axis" list whenever a view is made; a
        # menu not made yet gets its list when it is made, so none is made for this.
        pending, self._menu_pending = self._menu_pending, False
        try:
            super().updateViewLists()
        finally:
            self._menu_pending = pending and self._lazy_menu is None
