"""Words and numbers as the app shows them: counts, durations, dates."""

from __future__ import annotations

import os
from datetime import datetime


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``count(1, "photo")`` -> "1 photo"; ``count(1234, "photo")`` -> "1,234 photos"."""
    word = singular if n == 1 else (plural or singular + "s")
    return f"{n:,} {word}"


def duration(seconds: float | None) -> str:
    """ "3 min", "1.5 h"; "" when unknown."""
    if seconds is None:
        return ""
    if seconds < 90 * 60:
        return f"{max(1, round(seconds / 60))} min"
    return f"{seconds / 3600:.1f} h"


def taken(taken_at: str | None) -> str:
    """ "2024-06-01T14:03:00" -> "1 Jun 2024, 14:03"."""
    if not taken_at:
        return ""
    try:
        dt = datetime.fromisoformat(taken_at)
    except ValueError:
        return taken_at
    return f"{dt.day} {dt:%b %Y, %H:%M}"


def file_name(path: str) -> str:
    return os.path.basename(path) or path


def indexing_line(done: int, total: int, rate: float, eta_s: float | None) -> str:
    """ "Indexing 1,234 of 5,000 · 21 photos/s · about 3 min left"."""
    parts = [f"Indexing {done:,} of {total:,}"]
    if rate > 0:
        parts.append(f"{rate:.0f} photos/s" if rate >= 10 else f"{rate:.1f} photos/s")
    if eta_s is not None and done < total:
        parts.append("less than a minute left" if eta_s < 60 else f"about {duration(eta_s)} left")
    return " · ".join(parts)
