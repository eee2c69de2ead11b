"""Preferences and window state, declared once, typed and versioned, kept in QSettings.

The store is an INI file: the per-user default location, or the file named by the
``DLLAB_SETTINGS`` environment variable (the tests point it into a temporary folder,
so they never read or write the user's real settings). A value of the wrong type, an
unknown version or an unreadable file falls back to the defaults.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace

from PySide6.QtCore import QByteArray, QSettings

__all__ = ["Preferences", "SettingsStore", "SETTINGS_VERSION"]

SETTINGS_VERSION = 1


@dataclass(frozen=True)
class Preferences:
    theme: str = "light"  # "light" | "dark"
    font_scale: float = 1.0
    presentation: bool = False
    device: str = "auto"
    last_tab: str = ""

    def validated(self) -> "Preferences":
        p = self
        if p.theme not in ("light", "dark"):
            p = replace(p, theme="light")
        if not 0.5 <= p.font_scale <= 3.0:
            p = replace(p, font_scale=1.0)
        return p


def _coerce(value, default):
    """QSettings INI values come back as strings; turn them into the default's type."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1", "yes"):
            return True
        if str(value).lower() in ("false", "0", "no"):
            return False
        raise ValueError(value)
    if isinstance(default, float):
        return float(value)
    if isinstance(default, int):
        return int(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ValueError(value)
        return value
    raise ValueError(value)


MAX_SETTINGS_BYTES = 1 * 2**20


def _set_aside_if_oversized(path: str) -> str:
    """Rename a settings file too large to be ours (start with defaults); its new name, or ""."""
    try:
        too_large = os.path.getsize(path) > MAX_SETTINGS_BYTES
    except OSError:
        return ""
    if not too_large:
        return ""
    aside = path + ".too-large"
    try:
        os.replace(path, aside)
    except OSError:
        return ""
    return aside


class SettingsStore:
    def __init__(self, path: str | None = None):
        path = path or os.environ.get("DLLAB_SETTINGS")

        def open_settings() -> QSettings:
            if path:
                return QSettings(path, QSettings.IniFormat)
            return QSettings(QSettings.IniFormat, QSettings.UserScope, "dllab", "dllab")

        self.qsettings = open_settings()
        # QSettings parses the whole file on first use, on the GUI thread: a 50 MB file
        # delayed the window by half a minute. Real settings are a few kB.
        self.set_aside = _set_aside_if_oversized(self.qsettings.fileName())
        if self.set_aside:
            self.qsettings = open_settings()

    @property
    def path(self) -> str:
        return self.qsettings.fileName()

    def load(self) -> Preferences:
        s = self.qsettings
        if s.status() != QSettings.NoError:
            return Preferences()
        try:
            version = int(s.value("version", SETTINGS_VERSION))
        except (TypeError, ValueError):
            return Preferences()
        if version != SETTINGS_VERSION:
            return Preferences()
        defaults = Preferences()
        values = {}
        for f in fields(Preferences):
            raw = s.value(f"preferences/{f.name}")
            if raw is None:
                continue
            try:
                values[f.name] = _coerce(raw, getattr(defaults, f.name))
            except (TypeError, ValueError):
                pass  # one bad value falls back alone
        return Preferences(**values).validated()

    def save(self, prefs: Preferences) -> None:
        s = self.qsettings
        s.setValue("version", SETTINGS_VERSION)
        for name, value in asdict(prefs).items():
            s.setValue(f"preferences/{name}", value)
        s.sync()

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        geometry = self.qsettings.value("window/geometry")
        state = self.qsettings.value("window/state")
        ok = lambda v: v if isinstance(v, QByteArray) and not v.isEmpty() else None  # noqa: E731
        return ok(geometry), ok(state)

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self.qsettings.setValue("window/geometry", geometry)
        self.qsettings.setValue("window/state", state)
        self.qsettings.sync()

    def value(self, key: str, default=None):
        """Free-form per-tab values (e.g. last folder); typed by the default given."""
        raw = self.qsettings.value(f"tabs/{key}")
        if raw is None or default is None:
            return raw if raw is not None else default
        try:
            return _coerce(raw, default)
        except (TypeError, ValueError):
            return default

    def set_value(self, key: str, value) -> None:
        self.qsettings.setValue(f"tabs/{key}", value)
