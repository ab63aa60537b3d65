"""The frozen app's entry point. ``photoclip-gui`` opens the app (like the pip gui-script);
``photoclip`` is ``python -m photoclip``: a command runs the CLI, no command (or only folders)
opens the app."""

from __future__ import annotations

import multiprocessing
import os
import sys


def run() -> int:
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            # A windowed build has no console; libraries that print progress (tqdm) would crash.
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    if os.path.basename(sys.executable).lower().startswith("photoclip-gui"):
        from photoclip.app import main
    else:
        from photoclip.__main__ import main
    return int(main() or 0)


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(run())
