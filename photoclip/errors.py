"""Errors a user can act on. Anything else that escapes is a bug.

Each ``PhotoclipError`` carries a sentence that says what happened and what to do, fit to
show in a dialog or print on a terminal as it is."""


class PhotoclipError(Exception):
    """An environment or input problem explained in words for the user."""


class StoreError(PhotoclipError):
    """The library database can't be used (disk full, read-only, corrupt, too new)."""


class LibraryBusyError(StoreError):
    """Another photoclip process is writing to the same library."""


class FolderError(PhotoclipError):
    """A path given as a library folder that isn't one."""


class DamagedLibraryError(StoreError):
    """The library file is damaged (not a database any more, or malformed pages); photoclip
    can move it aside and rebuild the library from its folders."""


class NetworkLibraryError(StoreError):
    """The library is on a network file system, where SQLite's write-ahead log isn't safe."""


class ModelUnavailableError(PhotoclipError):
    """The CLIP model's weights are neither cached nor downloadable right now."""


class QueryError(PhotoclipError):
    """A search query that can't be understood."""


class AlbumError(PhotoclipError):
    """An album that can't be made or found as asked (a name taken, an album gone)."""
