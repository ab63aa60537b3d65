"""``photoclip``: with a command, the CLI; with nothing (or only folders), the desktop app."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from .cli import command_position

    app_option = args and args[0].split("=", 1)[0] in ("--library", "--model", "--weights")
    has_command = command_position(args) is not None
    if args and (has_command or (args[0].startswith("-") and not app_option)):
        from .cli import main as cli_main

        return cli_main(args)
    from .app import main as app_main

    return app_main(args)


if __name__ == "__main__":
    sys.exit(main())
