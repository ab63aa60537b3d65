"""Vectors held in memory as float16, half the memory of float32 (a million 512-dimension
vectors: 1 GB instead of 2), and multiplied in float32 a cache-sized chunk at a time.

numpy's float16 arithmetic and its float16-to-float32 cast don't use the CPU's vector units
(measured here: 1.2 ns a value, 0.6 s for a million vectors), so a chunk is widened with three
integer passes instead: a float16's bits shifted into a float32's are the same number times
2**-112, which the right-hand side makes up for. Exact: the products are those of the float16
values, which OpenBLAS then sums in float32. A big matrix is split between the CPU's cores."""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import numpy as np

from .text_tower import _blas_threads_setter  # its text tower runs on one BLAS thread too

# Rows widened per step: 2048 x 512 float32 (4 MB) was the fastest of 256 to 32768 here.
CHUNK_ROWS = 2048
_EXPONENT_SHIFT = 2.0**112  # float32's exponent bias (127) less float16's (15)
# After the sign-extending widen and the shift, a negative value's sign bit has spread into
# bits 28-30 (exponent bits of a float32): cleared by this mask, 0x8FFFFFFF.
_KEEP = np.int32(-0x70000001)
# The right-hand side is scaled up by 2**112: past this it would overflow float32.
_MAX_RIGHT = 2.0**15
# A matrix this many rows per core or more is multiplied on several cores (up to _MAX_THREADS).
_ROWS_PER_THREAD = 65_536
_MAX_THREADS = 4


def as_half(rows: np.ndarray) -> np.ndarray:
    """``rows`` as float16, which holds a unit vector's components to about 1 part in 2,000."""
    return np.asarray(rows, np.float16)


def widen(half: np.ndarray) -> np.ndarray:
    """Rows of a float16 matrix as float32 (exact): for the few rows a caller reads."""
    return np.asarray(half, np.float32)


def matmul(half: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``half @ right`` in float32: ``half`` is (n, dim) float16, ``right`` a float32 vector
    (dim,) or matrix (dim, k) of finite values; the result is (n,) or (n, k)."""
    right = np.asarray(right, np.float32)
    n = len(half)
    out = np.empty((n, *right.shape[1:]), np.float32)
    if n == 0:
        return out
    if not np.isfinite(right).all() or float(np.abs(right).max(initial=0.0)) >= _MAX_RIGHT:
        for start in range(0, n, CHUNK_ROWS):  # a rare right-hand side: numpy's own cast
            stop = min(n, start + CHUNK_ROWS)
            np.matmul(widen(half[start:stop]), right, out=out[start:stop])
        return out
    scaled = right * np.float32(_EXPONENT_SHIFT)
    bits = half.view(np.int16)
    parts = max(1, min(_threads(), n // _ROWS_PER_THREAD))
    bounds = [n * i // parts for i in range(parts + 1)]
    if parts == 1:
        _widened_product(bits, scaled, out, 0, n)
    else:  # numpy lets go of the GIL in each step: the parts run on separate cores
        jobs = [
            _pool().submit(_widened_product, bits, scaled, out, start, stop)
            for start, stop in itertools.pairwise(bounds)
        ]
        for job in jobs:
            job.result()
    return out


def _widened_product(
    bits: np.ndarray, scaled: np.ndarray, out: np.ndarray, start: int, stop: int
) -> None:
    """``out[start:stop]`` = rows ``start:stop`` of the float16 matrix (its ``bits``) times
    ``scaled`` (the right-hand side times 2**112), a chunk at a time."""
    buf = np.empty((min(stop - start, CHUNK_ROWS), bits.shape[1]), np.int32)
    with _one_blas_thread():
        for first in range(start, stop, CHUNK_ROWS):
            last = min(stop, first + CHUNK_ROWS)
            chunk = buf[: last - first]
            np.copyto(chunk, bits[first:last])  # sign-extending widen
            np.left_shift(chunk, 13, out=chunk)  # exponent and mantissa into place
            np.bitwise_and(chunk, _KEEP, out=chunk)
            np.matmul(chunk.view(np.float32), scaled, out=out[first:last])


def _threads() -> int:
    return min(_MAX_THREADS, os.cpu_count() or 1)


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_threads(), thread_name_prefix="half-matrix")


class _one_blas_thread:
    """OpenBLAS on one thread (this thread only) for the chunks' products: on a chunk this
    small it would otherwise start its threads for each, which was 10-20 times slower here
    on a busy 2-core machine."""

    def __enter__(self) -> None:
        setter = _blas_threads_setter()
        self._before = setter(1) if setter is not None else None

    def __exit__(self, *exc: Any) -> None:
        setter = _blas_threads_setter()
        if setter is not None and self._before is not None:
            setter(self._before)
