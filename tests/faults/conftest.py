"""Fault-injection suite (issue #7, "Never lose the library"): fixtures, and the session-level
collector behind README's Reliability table.

Each case calls ``reliability(fault)`` once and gets a ``Case``: it counts the faults it
injects (``case.injected += 1``) and runs the shared NOTHING LOST checker through
``case.check(...)``, which adds the photos lost and rows duplicated it finds. At the end of
the session the cases go to ``.cache/reliability.json`` (``python -m tools.reliability_table``
turns that into the table)."""

from __future__ import annotations

import contextlib
import datetime
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import invariants
from .system import Mounts

REPO = Path(__file__).resolve().parents[2]
REPORT = REPO / ".cache" / "reliability.json"


@dataclass
class Case:
    fault: str
    command: str
    test: str
    injected: int = 0
    lost: set[str] = field(default_factory=set)
    duplicated: set[str] = field(default_factory=set)
    checks: int = 0
    outcome: str = "not run"
    note: str = ""

    def check(self, db: Path, roots, **kw) -> invariants.Verdict:
        """The shared NOTHING LOST check; what it finds is counted for this case."""
        verdict = invariants.check(db, roots, **kw)
        self.checks += 1
        self.lost |= verdict.lost
        self.duplicated |= verdict.duplicated
        return verdict

    def as_json(self) -> dict:
        return {
            "fault": self.fault,
            "injected": self.injected,
            "photos_lost": len(self.lost),
            "rows_duplicated": len(self.duplicated),
            "command": self.command,
            "test": self.test,
            "outcome": self.outcome,
            "checks": self.checks,
            "note": self.note,
        }


_CASES: list[Case] = []


@pytest.fixture
def reliability(request) -> Iterator:
    """``reliability("fault name")`` -> a Case recorded for the Reliability table."""
    made: list[Case] = []

    def new(fault: str, note: str = "") -> Case:
        test = request.node.nodeid
        case = Case(fault, f".venv/bin/pytest {test}", test, note=note)
        made.append(case)
        _CASES.append(case)
        return case

    yield new
    rep = getattr(request.node, "rep_call", None) or getattr(request.node, "rep_setup", None)
    for case in made:
        case.outcome = rep.outcome if rep is not None else "error"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


def pytest_sessionfinish(session, exitstatus):
    """Write this session's cases to .cache/reliability.json. A run of only some tests
    replaces their cases and keeps the others' from earlier runs (each case says when)."""
    if not _CASES:
        return
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    ran = {c.test for c in _CASES}
    kept = []
    with contextlib.suppress(OSError, ValueError, KeyError):
        kept = [c for c in json.loads(REPORT.read_text(encoding="utf-8"))["cases"]
                if c["test"] not in ran]  # fmt: skip
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "generated": now,
        "python": sys.version.split()[0],
        "cases": kept + [{**c.as_json(), "run_at": now} for c in _CASES],
    }
    REPORT.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


@pytest.fixture
def mounts() -> Iterator[Mounts]:
    """Real mounts (tmpfs, read-only binds, faultfs) made by the test, all undone after it.
    Skips, saying why, where this machine can't mount (not root, or no permission)."""
    m = Mounts()
    try:
        yield m
    finally:
        m.cleanup()


@pytest.fixture
def photos(tmp_path) -> Path:
    """60 small shape JPEGs (64-128 px: fast to embed) in nested folders."""
    from tools.shapes import write_library

    root = tmp_path / "photos"
    write_library(root, 60, seed=70, min_side=64, max_side=128)
    return root
