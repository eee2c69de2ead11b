"""A log file, and uncaught exceptions shown where the student is looking.

Started from a desktop icon the app has no terminal: an exception in a slot or in a
thread printed to stderr is seen by nobody. Everything goes to a rotating log file in the
user's data folder (Help ▸ About says where), and every uncaught exception, in the GUI
thread or any other, also reaches the current tab's banner with its details to copy.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Signal

__all__ = ["LOG_FILE", "log_folder", "log_path", "install_logging", "ExceptionReporter"]

LOG_FILE = "dllab.log"
LOG_BYTES = 1_000_000
LOG_BACKUPS = 3

log = logging.getLogger("dllab")


def log_folder() -> Path:
    """Where the log lives: ``DLLAB_LOG_DIR``; beside the settings file when the tests point
    ``DLLAB_SETTINGS`` elsewhere (never into the user's folder); else the user's data folder."""
    if os.environ.get("DLLAB_LOG_DIR"):
        return Path(os.environ["DLLAB_LOG_DIR"])
    if os.environ.get("DLLAB_SETTINGS"):
        return Path(os.environ["DLLAB_SETTINGS"]).resolve().parent
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base) if base else Path.home() / ".dllab"


def log_path() -> Path:
    return log_folder() / LOG_FILE


def install_logging() -> Path:
    """Send the lab's log records to the rotating file (once); returns its path."""
    path = log_path()
    for handler in log.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    except OSError as exc:  # a read-only home: the app still runs, the log goes to stderr
        logging.basicConfig()
        log.warning("Cannot write the log file %s: %s", path, exc)
        return path
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return path


class ExceptionReporter(QObject):
    """Catches what nobody else caught, logs it, and emits ``reported`` in the GUI thread.

    Connect ``reported(message, details)`` to a slot of a GUI object (the main window shows
    it in the current tab's banner). Exceptions of other threads arrive through the same
    signal, queued, so the slot never runs in a worker thread."""

    reported = Signal(str, str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._previous = None

    def install(self) -> None:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._on_uncaught
        threading.excepthook = self._on_thread_uncaught

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    def report(self, exc: BaseException, where: str = "") -> None:
        """Log ``exc`` with its traceback and emit it (any thread)."""
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("Uncaught exception%s:\n%s", f" in {where}" if where else "", details.rstrip())
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        message = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        self.reported.emit(f"Something went wrong{f' in {where}' if where else ''}: {message}", details)

    def _on_uncaught(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self.report(exc.with_traceback(tb))

    def _on_thread_uncaught(self, args) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "a thread"
        self.report(args.exc_value.with_traceback(args.exc_traceback), f"thread {name}")
