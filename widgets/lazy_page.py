"""A page of a QTabWidget that makes its content the first time it is shown.

A lab's sub-pages hold many plots; building the ones nobody has opened yet froze the
window for a second when the lab was first selected. A :class:`LazyPage` stands in the
tab widget holding only a factory; on its first ``showEvent`` (or when code needs the
page early: applying a preset, saving an experiment) it calls the factory once, lays the
content out to fill the page and emits :attr:`built`.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

__all__ = ["LazyPage", "content_of"]


class LazyPage(QWidget):
    built = Signal(object)  # the content, once, right after it is made

    def __init__(self, factory: Callable[[], QWidget], parent: QWidget | None = None):
        super().__init__(parent)
        self._factory: Callable[[], QWidget] | None = factory
        self._content: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def content(self) -> QWidget | None:
        """The page's content, or None while it is not built."""
        return self._content

    @property
    def is_built(self) -> bool:
        return self._content is not None

    def ensure_built(self) -> QWidget:
        """The content, made now if it was not yet."""
        if self._content is None:
            factory, self._factory = self._factory, None
            if factory is None:  # the factory is running and asked for its own page
                raise RuntimeError("LazyPage: the factory reached its own page while building it")
            content = factory()
            self._content = content
            self._layout.addWidget(content)
            self.built.emit(content)
        return self._content

    def showEvent(self, event) -> None:  # noqa: N802
        # Built before the page paints: the first frame shows the content, not a blank.
        self.ensure_built()
        super().showEvent(event)


def content_of(page: QWidget) -> QWidget:
    """A tab widget's page as its content: a lazy page is built, any other returned as is."""
    return page.ensure_built() if isinstance(page, LazyPage) else page
