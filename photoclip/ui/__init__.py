"""The PySide6 desktop app: windows, widgets and the thin QObjects that run the core's engine
in background threads. Only this package and ``photoclip.app`` import Qt."""
