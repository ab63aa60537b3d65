"""A download's speed and time left, and its progress in words, for the CLI and the app."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class Throughput:
    """Speed and time left of a download from its progress reports, over the last few
    seconds (bytes a resumed download found already on disk don't count as speed)."""

    def __init__(self, window_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.window_s = window_s
        self.clock = clock
        self.samples: deque[tuple[float, int]] = deque()

    def update(self, done: int) -> None:
        now = self.clock()
        if self.samples and done < self.samples[-1][1]:
            self.samples.clear()  # started again
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window_s:
            self.samples.popleft()

    @property
    def rate(self) -> float | None:
        """Bytes per second, None until there is a measurable interval."""
        if len(self.samples) < 2:
            return None
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 - t0 >= 0.2 else None

    def seconds_left(self, done: int, total: int) -> float | None:
        rate = self.rate
        if not total or not rate:
            return None
        return max(0.0, (total - done) / rate)


def megabytes(n: float) -> str:
    mb = n / 1e6
    return f"{mb:,.1f}" if mb < 10 else f"{mb:,.0f}"


def describe(done: int, total: int, meter: Throughput) -> str:
    """Progress in words: "220 of 605 MB · 11.2 MB/s · about 35 s left"."""
    text = f"{megabytes(done)} of {megabytes(total)} MB" if total else f"{megabytes(done)} MB"
    rate = meter.rate
    if rate:
        text += f" · {rate / 1e6:.1f} MB/s"
        left = meter.seconds_left(done, total) if done < total else None
        if left is not None:
            text += f" · about {duration(left)} left"
    return text


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
