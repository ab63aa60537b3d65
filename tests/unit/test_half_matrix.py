"""Vectors held as float16 and multiplied in float32 chunks (photoclip.half_matrix)."""

from __future__ import annotations

import numpy as np
import pytest

from photoclip import half_matrix


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("rows", [1, 7, half_matrix.CHUNK_ROWS, 2 * half_matrix.CHUNK_ROWS + 5])
def test_the_product_is_numpys_float32_product_of_the_float16_values(rows):
    half = half_matrix.as_half(unit_rows(rows, 64))
    right = unit_rows(3, 64, seed=1)

    exact = half.astype(np.float32) @ right[0]
    got = half_matrix.matmul(half, right[0])

    assert got.dtype == np.float32 and got.shape == (rows,)
    np.testing.assert_allclose(got, exact, rtol=0, atol=1e-6)
    # several queries at once (dim x k), as things.py scores every thing in one product
    many = half_matrix.matmul(half, np.ascontiguousarray(right.T))
    assert many.shape == (rows, 3)
    np.testing.assert_allclose(many, half.astype(np.float32) @ right.T, rtol=0, atol=1e-6)


def test_every_kind_of_float16_value_widens_exactly():
    values = np.array(
        [0.0, -0.0, 6e-8, -6e-8, 3e-5, -3e-5, 1e-3, -0.5, 1.0, -1.0, 2.0, 65504.0, -65504.0],
        np.float16,
    )  # zeros, subnormals, normals, the largest
    eye = np.eye(len(values), dtype=np.float32)

    got = half_matrix.matmul(values[None, :], eye)[0]

    np.testing.assert_array_equal(got, values.astype(np.float32))


def test_a_huge_or_non_finite_right_hand_side_still_gives_numpys_answer():
    half = half_matrix.as_half(unit_rows(50, 16))
    big = np.full(16, 1e6, np.float32)  # past what the exponent trick can scale
    np.testing.assert_allclose(
        half_matrix.matmul(half, big), half.astype(np.float32) @ big, rtol=1e-6
    )
    with_nan = np.ones(16, np.float32)
    with_nan[3] = np.nan
    assert np.isnan(half_matrix.matmul(half, with_nan)).all()


def test_unit_vectors_lose_almost_nothing_as_float16():
    rows = unit_rows(1000, 512)
    back = half_matrix.widen(half_matrix.as_half(rows))

    cosine = np.sum(rows * back, axis=1) / np.linalg.norm(back, axis=1)
    assert cosine.min() > 0.99999
    assert half_matrix.as_half(rows).nbytes == rows.nbytes // 2


def test_an_empty_matrix_gives_an_empty_product():
    empty = np.zeros((0, 8), np.float16)
    assert half_matrix.matmul(empty, np.ones(8, np.float32)).shape == (0,)
    assert half_matrix.matmul(empty, np.ones((8, 2), np.float32)).shape == (0, 2)


def test_a_big_matrix_multiplied_on_several_cores_gives_the_same_product(monkeypatch):
    half = half_matrix.as_half(unit_rows(5000, 32))
    right = unit_rows(2, 32, seed=2)
    one = half_matrix.matmul(half, right[0])

    monkeypatch.setattr(half_matrix, "_ROWS_PER_THREAD", 1000)  # 5000 rows: up to 4 parts
    monkeypatch.setattr(half_matrix, "_threads", lambda: 4)

    # the same sums, only cut into other chunks (OpenBLAS may add in another order)
    np.testing.assert_allclose(half_matrix.matmul(half, right[0]), one, rtol=0, atol=1e-6)
    many = half_matrix.matmul(half, np.ascontiguousarray(right.T))
    np.testing.assert_allclose(many[:, 0], one, rtol=0, atol=1e-6)
