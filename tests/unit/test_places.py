"""The sidebar's places on a real library: each names itself, counts its photos and holds the
photos its scope says, and a new kind of place is one registered source."""

from __future__ import annotations

import pytest

from photoclip import places
from photoclip.places import ALBUMS, LIBRARY, Place, Scope
from tests.unit.test_store import add_photos, made


@pytest.fixture
def photos(library, tmp_path) -> list[int]:
    folder = library.add_folder(made(tmp_path / "photos"))
    paths = [tmp_path / "photos" / f"{n}.jpg" for n in "abc"]
    days = ["2024-01-01T10:00:00", "2024-02-01T10:00:00", "2024-03-01T10:00:00"]
    return [
        add_photos(library, folder, [p], taken_at=d)[0] for p, d in zip(paths, days, strict=True)
    ]


def test_library_and_album_places_count_and_hold_their_photos(library, photos):
    a, b, c = photos
    trip = library.create_album("Trip")
    library.add_to_album(trip, [a, c])
    library.create_album("Empty")
    library.set_favourite([b])
    found = places.collect(library)
    everything, favourites = found[LIBRARY]
    assert (everything.name, everything.count) == ("All photos", 3)
    assert (favourites.name, favourites.count) == ("Favourites", 1)
    assert [(p.name, p.count) for p in found[ALBUMS]] == [("Empty", 0), ("Trip", 2)]
    trip_place = found[ALBUMS][1]
    assert trip_place.key == f"album:{trip}" and trip_place.editable and trip_place.accepts_photos
    assert trip_place.photo_ids(library) == [c, a]
    assert favourites.photo_ids(library) == [b]
    assert everything.photo_ids(library, newest_first=False) == [a, b, c]


def test_folder_places_say_when_a_folder_is_missing(library, photos):
    (folder,) = library.folders()
    (place,) = places.folder_places([folder])
    assert place.count == 3 and place.folder_id == folder.id and place.path == folder.path
    assert not place.muted
    gone = places.folder_places([type(folder)(folder.id, folder.path, 3, 0, missing=True)])[0]
    assert gone.muted and "Missing" in gone.tooltip


def test_a_registered_source_adds_a_section(library, photos, monkeypatch):
    monkeypatch.setattr(places, "_SOURCES", list(places._SOURCES))
    monkeypatch.setattr(places, "SECTIONS", list(places.SECTIONS))

    class Newest:
        section = "Recent"

        def places(self, store):
            return [Place("recent", "recent", "Newest", "Recent", 1, scope=Scope())]

    places.register_source(Newest())
    assert places.SECTIONS[-1] == "Recent"
    assert [p.name for p in places.collect(library)["Recent"]] == ["Newest"]
