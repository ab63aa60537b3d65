"""A second launch for the same library hands its folders to the first window and exits."""

from __future__ import annotations

import os

from guitest import wait_indexed, wait_model

from photoclip import app
from photoclip.ui.single_instance import decode_message, encode_message, server_name


def test_second_instance_hands_its_folder_to_the_first(launch, qtbot, settings, small_shapes_dir,
                                                        tmp_path):  # fmt: skip
    library = tmp_path / "library"
    name = f"photoclip-test-single-{os.getpid()}"
    first = launch(library=library, instance_name=name)
    wait_model(qtbot, first)

    second_options = app.Options([str(small_shapes_dir)], str(library), "tiny-shapes", None)
    with qtbot.waitSignal(first.instance.activated, timeout=10_000) as activated:
        assert app.launch(second_options, settings=settings, instance_name=name) is None
    assert activated.args[0] == [str(small_shapes_dir)]

    wait_indexed(qtbot, first, at_least=40)
    assert [f.path for f in first.store.folders()] == [str(small_shapes_dir)]


def test_server_name_is_per_library_and_message_round_trips(tmp_path):
    a = server_name(tmp_path / "a" / "library.db")
    assert a == server_name(tmp_path / "a" / "library.db")
    assert a != server_name(tmp_path / "b" / "library.db")
    assert len(a) < 64
    assert decode_message(encode_message(["/x", "/ü y"]).rstrip(b"\n")) == ["/x", "/ü y"]
    assert decode_message(b"not json") == []
