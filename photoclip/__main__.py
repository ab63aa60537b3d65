"""``photoclip``: with a command, the CLI; with nothing (or only folders), the desktop app."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from .cli import command_position

    app_option = args and args[0].split("=", 1)[0] in ("--library", "--model", "--weights")
    at = command_position(args)
    if args and (at is not None or (args[0].startswith("-") and not app_option)):
        from .cli import main as cli_main

        code = cli_main(args)
        # The program itself (not a caller's call): one that loaded a model's runtime, or ran
        # a command on the everyday path, which never leaves work to the clean-up (no
        # threads, temporary files or open writers outlive it).
        runtime = "torch" in sys.modules or "onnxruntime" in sys.modules
        if argv is None and (runtime or (at is not None and args[at] in _QUICK_EXIT)):
            _leave_now(code)
        return code
    from .app import main as app_main

    return app_main(args)


# Commands that end without the interpreter's clean-up even without a model runtime: its
# 0.04 s is an eighth of a search command.
_QUICK_EXIT = frozenset({"index", "search", "similar"})


def _leave_now(code: int) -> None:
    """End a command that imported torch or onnxruntime without the interpreter's clean-up:
    tearing down torch's thousands of modules and thread pools takes about a second, and
    onnxruntime's session and threads 0.09 s of a cold index, after the command's work is
    done and committed. Output is flushed first; nothing else is pending (the library's
    transactions are committed; the libraries still open are closed here)."""
    import gc
    import logging
    import os

    from .store.base import close_all

    close_all()
    gc.collect()  # a library's connections dropped without close() (a cycle) close now
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
