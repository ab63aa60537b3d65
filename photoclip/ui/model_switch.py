"""The library's side of a model switch without downtime, run in the task pool: how far the
new model's vectors cover the library, the settings that record a switch in progress (so the
next launch resumes it) and its end (the library's model changes only then), and what serves
searches at launch (``photoclip.serving``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..cli import MODEL_SETTING, PENDING_MODEL_SETTING
from ..serving import serving_embedder

if TYPE_CHECKING:
    from ..models import ModelIdentity
    from ..store import Store


@dataclass(frozen=True)
class Coverage:
    done: int  # indexed photos with a vector of the new model
    total: int  # indexed photos

    @property
    def complete(self) -> bool:
        return self.done >= self.total


def coverage(store: Store, identity: ModelIdentity) -> Coverage:
    # vector_count counts indexed photos' vectors only (a photo that turned unreadable keeps
    # its vectors but isn't searchable), so it is how many of them the new model has done.
    return Coverage(store.vector_count(store.model_id(identity)), store.count_photos())


def finish_switch(store: Store, key: str) -> None:
    """``key`` is the library's model (the CLI's too) and no switch is pending."""
    if store.get_setting(MODEL_SETTING) != key:
        store.set_setting(MODEL_SETTING, key)
    if store.get_setting(PENDING_MODEL_SETTING) is not None:
        store.set_setting(PENDING_MODEL_SETTING, None)


@dataclass(frozen=True)
class Launch:
    loaded: Any  # the model loaded at launch
    serving: Any  # what answers searches: ``loaded``, or it fed photos the older way
    pending: str | None  # the model key a switch left pending, to resume

    @property
    def upgrading(self) -> bool:
        """The library is re-embedded with ``loaded`` while its older vectors serve."""
        return self.serving is not self.loaded


def settle_first_model(store: Store, loaded: Any) -> Launch:
    """At launch, once ``loaded`` is: what serves searches, and the model a switch left
    pending (to resume it). A library whose vectors the same weights made by feeding photos
    another way is re-embedded while those serve: that is found from the vectors themselves,
    not from a setting, so a close mid-way always resumes it. Without a pending switch,
    ``loaded`` is the library's model."""
    serving = serving_embedder(store, loaded)
    pending = store.get_setting(PENDING_MODEL_SETTING)
    if pending and pending != loaded.spec.key:
        return Launch(loaded, serving, pending)
    finish_switch(store, loaded.spec.key)
    return Launch(loaded, serving, None)
