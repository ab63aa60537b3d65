"""How a desktop launches an entry, written from the Desktop Entry Specification (1.5) and kept
apart from ``photoclip.desktop`` so the tests check that code against the spec, not itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_STRING_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
_QUOTED_ESCAPES = '"`$\\'
# Field codes that expand to nothing (deprecated) per the spec's "The Exec key".
_DROPPED_CODES = "dDnNvm"


def read_entry(path: Path) -> dict[str, str]:
    """The raw key/values of the ``[Desktop Entry]`` group (no locale keys)."""
    entry: dict[str, str] = {}
    group = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            group = line.strip()[1:-1]
            continue
        if group == "Desktop Entry" and "=" in line:
            key, value = line.split("=", 1)
            entry[key.strip()] = value.strip()
    return entry


def unescape_string(value: str) -> str:
    out, chars = [], iter(value)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append(_STRING_ESCAPES.get(nxt, "\\" + nxt))
        else:
            out.append(ch)
    return "".join(out)


def exec_argv(entry: dict[str, str], files: list[str], desktop_file: Path) -> list[str]:
    """The argv a desktop runs for ``Exec`` when the user opens ``files`` with the entry."""
    command = unescape_string(entry["Exec"])
    argv: list[str] = []
    i, n = 0, len(command)
    while i < n:
        if command[i] == " ":
            i += 1
            continue
        if command[i] == '"':
            arg, i = [], i + 1
            while command[i] != '"':
                if command[i] == "\\" and command[i + 1] in _QUOTED_ESCAPES:
                    i += 1
                arg.append(command[i])
                i += 1
            argv.append(_expand_percent("".join(arg), [], entry, desktop_file, quoted=True)[0])
            i += 1
            continue
        start = i
        while i < n and command[i] != " ":
            i += 1
        argv.extend(_expand_percent(command[start:i], files, entry, desktop_file, quoted=False))
    return argv


def _expand_percent(
    arg: str, files: list[str], entry: dict[str, str], desktop_file: Path, *, quoted: bool
) -> list[str]:
    if not quoted:
        if arg in ("%F", "%U"):
            return list(files)
        if arg == "%i":
            return ["--icon", entry["Icon"]] if "Icon" in entry else []
    out, i = [], 0
    while i < len(arg):
        if arg[i] == "%" and i + 1 < len(arg):
            code = arg[i + 1]
            assert quoted is False or code == "%", f"field code %{code} inside quotes: {arg!r}"
            if code == "%":
                out.append("%")
            elif code in "fu":
                out.append(files[0] if files else "")
            elif code == "c":
                out.append(entry.get("Name", ""))
            elif code == "k":
                out.append(str(desktop_file))
            elif code not in _DROPPED_CODES:
                raise AssertionError(f"unknown field code %{code} in {arg!r}")
            i += 2
        else:
            out.append(arg[i])
            i += 1
    return ["".join(out)]


def require_tool(name: str, package: str) -> str:
    """The path of a validator the packaging tests need. Missing on Linux is a failure (CI
    installs it with `make system-deps`); elsewhere the Linux-only test is skipped."""
    path = shutil.which(name)
    if path:
        return path
    if sys.platform.startswith("linux"):
        pytest.fail(f"{name} is missing: run `make system-deps` (Debian package {package}).")
    pytest.skip(f"{name} is a Linux tool")
    raise AssertionError("unreachable")


def run_tool(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, check=False
    )
