"""The library's side of a model switch without downtime, run in the task pool: how far the
new model's vectors cover the library, and the settings that record a switch in progress
(so the next launch resumes it) and its end (the library's model changes only then)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..cli import MODEL_SETTING, PENDING_MODEL_SETTING

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


def settle_first_model(store: Store, key: str) -> str | None:
    """At launch, once ``key`` is loaded: the model a switch left pending (to resume it), or
    None, and then ``key`` is the library's model."""
    pending = store.get_setting(PENDING_MODEL_SETTING)
    if pending and pending != key:
        return pending
    finish_switch(store, key)
    return None
