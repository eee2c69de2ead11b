"""A page of a QTabWidget that makes its content the first time it is shown.

A lab's sub-pages hold many plots; building the ones nobody has opened yet froze the
window for a second when the lab was first selected. A :class:`LazyPage` stands in the
tab widget holding only a factory; on its first ``showEvent`` (or when code needs the
page early: applying a preset, saving an experiment) it calls the factory once, lays the
content out to fill the page and emits :attr:`built`.

:class:`LazyTabs` is a QTabWidget that sees through its lazy pages: ``widget``,
``currentWidget``, ``indexOf`` and ``setCurrentWidget`` speak of the content (built when
asked for), so code written for plain pages keeps working.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

__all__ = ["LazyPage", "LazyTabs", "content_of"]


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
            # Qt shows a widget added to a visible page only on a later pass of the event
            # loop: made in showEvent, it would miss the page's first paint.
            explicitly_hidden = content.testAttribute(Qt.WA_WState_ExplicitShowHide) and content.isHidden()
            if self.isVisible() and not explicitly_hidden:
                content.show()
            self.built.emit(content)
        return self._content

    def showEvent(self, event) -> None:  # noqa: N802
        # Built before the page paints: the first frame shows the content, not a blank.
        self.ensure_built()
        super().showEvent(event)


def content_of(page: QWidget) -> QWidget:
    """A tab widget's page as its content: a lazy page is built, any other returned as is."""
    return page.ensure_built() if isinstance(page, LazyPage) else page


class LazyTabs(QTabWidget):
    """Tabs whose pages may be :class:`LazyPage` s, answered for by their content."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._by_key: dict[str, LazyPage] = {}

    def add_lazy_tab(self, factory: Callable[[], QWidget], title: str, key: str | None = None) -> LazyPage:
        """A tab whose content ``factory`` makes on first show; ``key`` names it for :meth:`content`."""
        page = LazyPage(factory)
        self.addTab(page, title)
        if key is not None:
            self._by_key[key] = page
        return page

    def content(self, key: str | None = None) -> QWidget:
        """The content shown now, or that of the tab added with ``key``: built now if need be;
        ValueError, naming the keys there are, for a key there is not."""
        if key is None:
            return self.currentWidget()
        if not isinstance(key, str) or key not in self._by_key:  # an experiment file may hold anything here
            raise ValueError(f"No page {key!r}; choose one of {', '.join(self._by_key)}")
        return self._by_key[key].ensure_built()

    def page_at(self, index: int) -> QWidget | None:
        """The page itself (its stand-in while lazy and not built), building nothing."""
        return super().widget(index)

    def is_built(self, index: int) -> bool:
        page = self.page_at(index)
        return not isinstance(page, LazyPage) or page.is_built

    def widget(self, index: int) -> QWidget | None:  # the content, built now if need be
        page = self.page_at(index)
        return None if page is None else content_of(page)

    def currentWidget(self) -> QWidget | None:  # noqa: N802
        return self.widget(self.currentIndex())

    def indexOf(self, widget: QWidget) -> int:  # noqa: N802
        for i in range(self.count()):
            page = self.page_at(i)
            if page is widget or (isinstance(page, LazyPage) and page.content is widget):
                return i
        return -1

    def setCurrentWidget(self, widget: QWidget) -> None:  # noqa: N802
        index = self.indexOf(widget)
        if index >= 0:
            self.setCurrentIndex(index)
