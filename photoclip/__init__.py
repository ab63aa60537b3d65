"""photoclip: find any photo by describing it. The core (scan, decode, embed, store, search)
lives in this package's flat modules; the Qt desktop app lives in ``photoclip.app`` and
``photoclip.ui`` and is the only code that imports PySide6."""

import os as _os

__version__ = "0.1.0"
APP_NAME = "photoclip"

# onnxruntime (1.29 on) sends usage events to Microsoft from Linux and macOS, and keeps a
# device identifier and an event queue in the user's cache folder, unless this is set before
# it is imported. photoclip promises no telemetry; every photoclip process imports this
# package before anything imports onnxruntime (tests/e2e/test_download.py checks).
_os.environ["ORT_DISABLE_TELEMETRY"] = "1"
