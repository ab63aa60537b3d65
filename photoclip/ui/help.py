"""Help windows: Keyboard Shortcuts (also ``?``) and Search Tips (the query algebra), so what
the app can do is discoverable without reading the README."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QScrollArea, QVBoxLayout, QWidget

SHORTCUTS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Searching",
        [
            ("Ctrl+F, Ctrl+L", "Go to the search bar"),
            ("Down, Enter", "From the search bar: go to the first result"),
            ("Esc", "Clear the search"),
            ("Ctrl+Shift+F", "Find photos similar to the selected one"),
            ("Ctrl+1", "All photos, any date"),
            ("Ctrl+2", "Problems"),
        ],
    ),
    (
        "Photos",
        [
            ("Arrows, Home, End", "Move through the photos"),
            ("Enter, double-click", "Open the photo large"),
            ("I", "Show or hide the info panel"),
            ("Ctrl+C", "Copy the image"),
            ("Ctrl+Shift+C", "Copy the path"),
            ("Ctrl+A", "Select all"),
            ("Ctrl++, Ctrl+-", "Larger or smaller thumbnails"),
        ],
    ),
    (
        "In the viewer",
        [
            ("Left, Right, Space", "Previous or next photo"),
            ("+, -, wheel, pinch", "Zoom in or out"),
            ("1", "Actual size (100 %)"),
            ("0", "Fit to the window"),
            ("Drag", "Move around a zoomed photo"),
            ("F, F11, double-click", "Full screen"),
            ("S", "Start or stop the slideshow"),
            ("H", "Favourite (the heart)"),
            ("I", "Info panel"),
            ("Esc", "Leave full screen, then back to the photos"),
        ],
    ),
    (
        "Collecting",
        [
            ("Ctrl+D", "Favourite the selected photos (again: unmark them)"),
            ("Ctrl+Shift+A", "Add the selected photos to an album"),
            ("Drag onto an album", "Add photos to that album"),
            ("Ctrl+E", "Export: copy the original files to a folder"),
            ("Delete", "Move to Trash (asks first)"),
            ("Ctrl+Z", "Undo Move to Trash"),
        ],
    ),
    ("Help", [("?", "This list")]),
]

SEARCH_TIPS = """
<h3>Describe what you're looking for</h3>
<p>Type a few words: <i>a dog on a beach</i>, <i>kids building a sandcastle</i>,
<i>receipt</i>. Photos are ranked by how well they match; the best matches come first, the
rest below them under <i>Other photos</i>.</p>
<h3>Combine</h3>
<table cellspacing="6">
<tr><td><code>beach - people</code></td><td>a beach, and less of people</td></tr>
<tr><td><code>sunset + boat</code></td><td>both together</td></tr>
<tr><td><code>2:sunset + boat</code></td><td>weigh sunset twice as much</td></tr>
<tr><td><code>"a red car"</code></td><td>quotes keep a phrase together, even with - or + in it</td>
</tr>
<tr><td><code>./ref.jpg</code> or <code>/path/photo.jpg</code></td><td>a photo by its path:
photos that look like it (mix it with words: <code>./ref.jpg - text</code>)</td></tr>
</table>
<h3>Find similar</h3>
<p>Right-click a photo and choose <i>Find Similar</i> (Ctrl+Shift+F), or drop an image file
on the search bar.</p>
<h3>Narrow it down</h3>
<p>Pick a folder in the sidebar, or a date range (the <i>Dates</i> button has the last 30
days, this year and any year; <i>Any date</i> resets it). <i>Newest first</i> sorts the
strong matches by date.</p>
"""


def shortcuts_html() -> str:
    rows = []
    for title, keys in SHORTCUTS:
        rows.append(f"<tr><td colspan='2'><h3>{title}</h3></td></tr>")
        rows.extend(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>" for k, what in keys)
    return "<table cellspacing='3'>" + "".join(rows) + "</table>"


class HelpWindow(QDialog):
    """A non-modal window of rich text with a Close button."""

    def __init__(self, title: str, html: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.text = QLabel(html)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setContentsMargins(12, 6, 12, 6)
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setWidget(self.text)
        area.setFrameShape(QScrollArea.Shape.NoFrame)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(area, 1)
        layout.addWidget(buttons)
        self.resize(520, 560)


class Help:
    """Keeps one window of each kind; showing it again brings it to the front."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent
        self.windows: dict[str, HelpWindow] = {}

    def show_shortcuts(self) -> HelpWindow:
        return self._show("Keyboard Shortcuts", shortcuts_html())

    def show_search_tips(self) -> HelpWindow:
        return self._show("Search Tips", SEARCH_TIPS)

    def _show(self, title: str, html: str) -> HelpWindow:
        window = self.windows.get(title)
        if window is None:
            window = self.windows[title] = HelpWindow(title, html, self.parent)
        window.show()
        window.raise_()
        return window
