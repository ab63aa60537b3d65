"""photoclip: find any photo by describing it. The core (scan, decode, embed, store, search)
lives in this package's flat modules; the Qt desktop app lives in ``photoclip.app`` and
``photoclip.ui`` and is the only code that imports PySide6."""

__version__ = "0.1.0"
APP_NAME = "photoclip"
