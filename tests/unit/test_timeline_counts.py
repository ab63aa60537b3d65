"""The timeline's counts from the store: photos per year, month and day, with the grid's
filters, undated photos under ""."""

from __future__ import annotations

import pytest

from tests.unit.test_store import add_photos, made

DATES = [
    "2024-03-05T10:00:00", "2024-03-05T11:00:00", "2024-03-20T09:00:00",
    "2024-01-02T08:00:00", "2023-12-31T23:59:00", None,
]  # fmt: skip


@pytest.fixture
def dated(library, tmp_path):
    folder = library.add_folder(made(tmp_path / "a"))
    other = library.add_folder(made(tmp_path / "b"))
    for i, taken in enumerate(DATES):
        add_photos(library, folder, [tmp_path / "a" / f"{i}.jpg"], taken_at=taken)
    add_photos(library, other, [tmp_path / "b" / "x.jpg"], taken_at="2024-03-06T00:00:00")
    add_photos(library, folder, [tmp_path / "a" / "bad.jpg"], status="error",
               taken_at="2024-03-05T12:00:00")  # fmt: skip
    return library, folder


def test_counts_per_year_month_and_day(dated):
    library, _ = dated
    assert library.date_counts(4) == {"2024": 5, "2023": 1, "": 1}
    assert library.date_counts(7) == {"2024-03": 4, "2024-01": 1, "2023-12": 1, "": 1}
    days = library.date_counts(10)
    assert days["2024-03-05"] == 2 and days["2024-03-06"] == 1 and days[""] == 1
    assert sum(days.values()) == library.count_photos()


def test_counts_follow_the_grid_filters(dated):
    library, folder = dated
    assert library.date_counts(7, folder_id=folder) == {
        "2024-03": 3, "2024-01": 1, "2023-12": 1, "": 1,
    }  # fmt: skip
    assert library.date_counts(7, date_from="2024-01-01", date_to="2024-03-05") == {
        "2024-03": 2, "2024-01": 1,
    }  # fmt: skip


def test_only_year_month_or_day(dated):
    library, _ = dated
    with pytest.raises(ValueError):
        library.date_counts(5)
