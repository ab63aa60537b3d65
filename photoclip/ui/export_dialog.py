"""Export…: choose a folder and how to lay the copies out, then copy (export.py) off the GUI
thread with a progress dialog that can stop it. Originals are never moved or overwritten."""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import PhotoclipError
from ..export import BY_DATE, FLAT, FOLDERS, ExportReport, export, items_for

LAST_FOLDER_KEY = "export/folder"
LAST_STRUCTURE_KEY = "export/structure"


class ExportDialog(QDialog):
    """Where to and how; ``choice()`` once accepted."""

    def __init__(
        self, count: int, folder: str = "", structure: str = FLAT, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        what = f"{count:,} photo{'s' if count != 1 else ''}"
        intro = QLabel(
            f"Copy the original files of {what} to a folder. The originals stay where they are."
        )
        intro.setWordWrap(True)
        self.folder = QLineEdit(folder or _pictures())
        self.folder.setAccessibleName("Folder to copy to")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.structures = QButtonGroup(self)
        options = (
            (FLAT, "All in that folder"),
            (FOLDERS, "Keep the library's folders (Pictures/2024/Rome/…)"),
            (BY_DATE, "By date taken (2024/2024-06/…)"),
        )
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(QLabel("Folder:"))
        layout.addLayout(row)
        layout.addSpacing(6)
        self._buttons: dict[str, QRadioButton] = {}
        for key, label in options:
            button = QRadioButton(label)
            self._buttons[key] = button
            self.structures.addButton(button)
            layout.addWidget(button)
        self._buttons.get(structure, self._buttons[FLAT]).setChecked(True)
        note = QLabel("A name already taken gets a number, “IMG_1 (2).jpg”: nothing is replaced.")
        note.setWordWrap(True)
        note.setEnabled(False)
        layout.addWidget(note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(480, self.sizeHint().height())

    def choice(self) -> tuple[str, str]:
        structure = next(k for k, b in self._buttons.items() if b.isChecked())
        return os.path.expanduser(self.folder.text().strip()), structure

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if chosen:
            self.folder.setText(chosen)


def _pictures() -> str:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return os.path.join(base or os.path.expanduser("~"), "photoclip export")


class ExportJob(QObject):
    """One export in a thread of its own (it may take minutes: not the small-task pool)."""

    progress = Signal(int, int, str)
    finished = Signal(object)  # ExportReport
    failed = Signal(str)

    def __init__(self, store: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.stop = threading.Event()
        self.worker: threading.Thread | None = None

    def start(self, photo_ids: Sequence[int], folder: str, structure: str) -> None:
        ids = list(photo_ids)
        self.worker = threading.Thread(
            target=self._run, args=(ids, folder, structure), name="photoclip-export", daemon=True
        )
        self.worker.start()

    def _run(self, ids: list[int], folder: str, structure: str) -> None:
        try:
            items = items_for(self.store, ids)
            report = export(items, folder, structure=structure,
                            on_progress=self.progress.emit, stop=self.stop)  # fmt: skip
        except PhotoclipError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug: say so rather than die silently
            traceback.print_exc()
            self.failed.emit(f"The export failed unexpectedly: {exc}. Please report this.")
        else:
            self.finished.emit(report)


class Exporter(QObject):
    """Export… from the window: the dialog, the job, its progress and its report."""

    message = Signal(str)
    done = Signal(object)  # ExportReport

    def __init__(self, store: Any, settings: Any, host: QWidget) -> None:
        super().__init__(host)
        self.store = store
        self.settings = settings
        self.host = host
        self.dialog: ExportDialog | None = None
        self.progress: QProgressDialog | None = None
        self.report_box: QMessageBox | None = None
        self.job: ExportJob | None = None

    def ask(self, photo_ids: Sequence[int]) -> None:
        ids = list(photo_ids)
        if not ids:
            return
        if self.job is not None:
            self.message.emit("An export is under way; wait for it to finish.")
            return
        folder = str(self.settings.value(LAST_FOLDER_KEY, "") or "")
        structure = str(self.settings.value(LAST_STRUCTURE_KEY, FLAT) or FLAT)
        dialog = ExportDialog(len(ids), folder, structure, self.host)

        def answered(result: int) -> None:
            self.dialog = None
            if result == QDialog.DialogCode.Accepted:
                where, how = dialog.choice()
                if where:
                    self.settings.setValue(LAST_FOLDER_KEY, where)
                    self.settings.setValue(LAST_STRUCTURE_KEY, how)
                    self.start(ids, where, how)
            dialog.deleteLater()

        dialog.finished.connect(answered)
        self.dialog = dialog
        dialog.open()

    def start(self, photo_ids: Sequence[int], folder: str, structure: str) -> None:
        job = ExportJob(self.store, self)
        self.job = job
        progress = QProgressDialog("Copying…", "Stop", 0, len(photo_ids), self.host)
        progress.setWindowTitle("Export")
        progress.setWindowModality(Qt.WindowModality.NonModal)
        progress.setMinimumDuration(400)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        progress.canceled.connect(job.stop.set)
        self.progress = progress
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.start(photo_ids, folder, structure)

    def _on_progress(self, done: int, total: int, name: str) -> None:
        if self.progress is not None:
            self.progress.setMaximum(total)
            self.progress.setValue(done)
            self.progress.setLabelText(f"Copying {name}…" if name else "Done")

    def _close_progress(self) -> None:
        self.job = None
        if self.progress is not None:
            self.progress.close()
            self.progress.deleteLater()
            self.progress = None

    def _on_finished(self, report: ExportReport) -> None:
        self._close_progress()
        self.message.emit(report.summary())
        self.done.emit(report)
        if report.problems:
            box = QMessageBox(self.host)
            box.setIcon(QMessageBox.Icon.Warning)
            box.setWindowTitle("Export")
            box.setText(report.summary())
            shown = report.problems[:12]
            more = len(report.problems) - len(shown)
            box.setInformativeText(
                "\n".join(p.reason for p in shown) + (f"\n…and {more} more." if more else "")
            )
            self.report_box = box
            box.open()

    def _on_failed(self, message: str) -> None:
        self._close_progress()
        self.message.emit(message)
        box = QMessageBox(self.host)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Export")
        box.setText(message)
        self.report_box = box
        box.open()
