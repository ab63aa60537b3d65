"""The info panel (I): what photoclip knows about one photo — name and full path (copyable),
folder, size, dimensions, format, when it was taken and how that is known, camera, GPS
position, the albums it is in — with Copy Path and Show in Folder. Read in the task pool."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from . import format as fmt
from .tasks import run_task

if TYPE_CHECKING:
    from ..store import Store

PANEL_WIDTH = 290
SOURCES = {
    "exif": "from the photo's EXIF data",
    "file": "from the file's time (the photo has no date of its own)",
    "mtime": "from the file's time (the photo has no date of its own)",
}


@dataclass(frozen=True)
class PhotoInfo:
    photo_id: int
    path: str
    size: int | None = None
    width: int | None = None
    height: int | None = None
    format: str = ""
    taken_at: str = ""
    taken_at_source: str = ""
    camera: str = ""
    latitude: float | None = None
    longitude: float | None = None
    albums: list[str] = field(default_factory=list)
    on_disk: bool = True


def read_info(store: Store, photo_id: int) -> PhotoInfo | None:
    """Everything the panel shows, from the library (and whether the file is still there)."""
    row = store.photo(photo_id)
    if row is None:
        return None
    albums: list[str] = []
    finder = getattr(store, "albums_of_photo", None)
    if finder is not None:
        albums = [a.name for a in finder(photo_id)]
    return PhotoInfo(
        photo_id=photo_id,
        path=row["path"],
        size=row.get("size"),
        width=row.get("width"),
        height=row.get("height"),
        format=row.get("format") or "",
        taken_at=row.get("taken_at") or "",
        taken_at_source=row.get("taken_at_source") or "",
        camera=row.get("camera") or "",
        latitude=row.get("latitude"),
        longitude=row.get("longitude"),
        albums=albums,
        on_disk=os.path.exists(row["path"]),
    )


def file_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{n:,} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def gps_words(lat: float | None, lon: float | None) -> str:
    """ "48.85837° N, 2.29448° E"; "" without a position."""
    if lat is None or lon is None:
        return ""
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "W"
    return f"{abs(lat):.5f}° {ns}, {abs(lon):.5f}° {ew}"


def taken_words(info: PhotoInfo) -> tuple[str, str]:
    """(when, how it is known)."""
    if not info.taken_at:
        return "Unknown", ""
    source = SOURCES.get(info.taken_at_source, info.taken_at_source)
    return fmt.taken(info.taken_at), source


class InfoPanel(QFrame):
    """Shows ``show_photo(photo_id)``; ``showInFolder(path)`` for the button."""

    showInFolder = Signal(str)
    closed = Signal()

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.photo_id = -1
        self.info: PhotoInfo | None = None
        self.setObjectName("infoPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(PANEL_WIDTH)
        title = QLabel("Info")
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        title.setFont(font)
        close = QPushButton("×")
        close.setFlat(True)
        close.setFixedWidth(28)
        close.setToolTip("Hide the info panel (I)")
        close.clicked.connect(self.closed)
        head = QHBoxLayout()
        head.addWidget(title, 1)
        head.addWidget(close)
        self.fields: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for key, label in (
            ("name", "Name"), ("path", "Path"), ("folder", "Folder"), ("size", "Size"),
            ("dimensions", "Dimensions"), ("format", "Format"), ("taken", "Taken"),
            ("source", "Date from"), ("camera", "Camera"), ("gps", "Location"),
            ("albums", "Albums"),
        ):  # fmt: skip
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(
                Qt.TextInteractionFlag.TextSelectableByMouse
                | Qt.TextInteractionFlag.TextSelectableByKeyboard
            )
            value.setAccessibleName(label)
            self.fields[key] = value
            form.addRow(label, value)
        body = QWidget()
        body.setLayout(form)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self.copy_button = QPushButton("Copy Path")
        self.copy_button.setToolTip("Copy the photo's full path")
        self.show_button = QPushButton("Show in Folder")
        self.copy_button.clicked.connect(self.copy_path)
        self.show_button.clicked.connect(
            lambda: self.info and self.showInFolder.emit(self.info.path)
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.show_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addLayout(head)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self.placeholder = "Select a photo to see its details."
        self._clear(self.placeholder)

    def show_photo(self, photo_id: int) -> None:
        """Read ``photo_id``'s facts (in the pool) and show them; -1 clears."""
        self.photo_id = photo_id
        if photo_id < 0:
            self._clear(self.placeholder)
            return
        if self.isVisible():
            run_task(read_info, self.store, photo_id, on_done=self._on_info)

    def refresh(self) -> None:
        self.show_photo(self.photo_id)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.refresh()  # it may have been asked for while hidden

    def copy_path(self) -> None:
        if self.info is not None:
            QGuiApplication.clipboard().setText(self.info.path)

    def _on_info(self, info: PhotoInfo | None) -> None:
        if info is None:
            if self.photo_id >= 0:
                self._clear("This photo is no longer in the library.")
            return
        if info.photo_id != self.photo_id:
            return  # an older request
        self.info = info
        when, source = taken_words(info)
        dims = f"{info.width:,} × {info.height:,} pixels" if info.width and info.height else ""
        if info.width and info.height:
            mp = info.width * info.height / 1e6
            dims += f" ({mp:.1f} MP)" if mp >= 0.1 else ""
        values = {
            "name": fmt.file_name(info.path),
            "path": info.path + ("" if info.on_disk else "\n(not found on disk right now)"),
            "folder": os.path.dirname(info.path),
            "size": file_size(info.size),
            "dimensions": dims,
            "format": info.format,
            "taken": when,
            "source": source,
            "camera": info.camera or "Unknown",
            "gps": gps_words(info.latitude, info.longitude) or "None recorded",
            "albums": ", ".join(info.albums) or "None",
        }
        for key, label in self.fields.items():
            label.setText(values.get(key, ""))
        self.copy_button.setEnabled(True)
        self.show_button.setEnabled(info.on_disk)

    def _clear(self, message: str) -> None:
        self.info = None
        for key, label in self.fields.items():
            label.setText(message if key == "name" else "")
        self.copy_button.setEnabled(False)
        self.show_button.setEnabled(False)

    def text(self) -> str:
        """Everything shown, one "Label: value" a line (for tests and accessibility)."""
        return "\n".join(
            f"{label.accessibleName()}: {label.text()}" for label in self.fields.values()
        )
