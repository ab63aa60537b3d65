"""Which vectors answer searches while a library is re-embedded because photoclip now feeds
photos to the same model another way (``photoclip.preprocess``): the older vectors, until the
new ones cover the library. The model's text tower is the same, so its phrases still fit them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import LEGACY_PREPROCESS

if TYPE_CHECKING:
    from .models import ModelIdentity
    from .store import Store


def older_vectors(store: Store, identity: ModelIdentity) -> ModelIdentity | None:
    """The identity of the vectors the same weights made of this library's photos the older
    way, while they cover more of it than ``identity``'s do; else None."""
    if identity.preprocess == LEGACY_PREPROCESS:
        return None
    total = store.count_photos()
    done = store.vector_count(store.model_id(identity))
    if done >= total:
        return None
    older = identity.with_preprocess(LEGACY_PREPROCESS)
    return older if store.vector_count(store.model_id(older)) > done else None


def serving_embedder(store: Store, embedder: Any) -> Any:
    """``embedder``, or the same model fed photos the older way while its older vectors cover
    more of the library (searches by image then make vectors that fit them too)."""
    older = older_vectors(store, embedder.identity)
    return embedder if older is None else embedder.with_preprocess(older.preprocess)
