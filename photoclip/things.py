"""Things: photos labelled by what is in them without any tagging (zero-shot classification).

Each thing is a phrase ("a dog", "snow", "a birthday cake"); its photos are the strong matches
a search for it would find (calibration.py: the strong cut, and only if the phrase is about the
library at all, in its own words and worded as a photo caption), so a thing that nothing in the
library shows has no photos rather than the least unlikely ones. Labelling the whole library is
one matrix product of its vectors with the things' vectors, redone when the library changes;
the things' vectors are embedded once and remembered in the library like search phrases.
Users add their own things (kept in the library's settings)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .calibration import CANDIDATES, about_library, rephrase, strong_cut
from .errors import PhotoclipError, StoreError

if TYPE_CHECKING:
    from .calibration import NeutralBank
    from .search import Searcher

USER_THINGS_SETTING = "things.user"

# Everyday photo subjects, each as the phrase it is searched with; the name shown is the phrase
# without its article. A few hundred, by kind.
BUILT_IN: tuple[str, ...] = (
    # people
    "a baby", "a child", "children playing", "a family", "a group of friends", "a couple",
    "a selfie", "a portrait", "a crowd", "a bride", "a wedding", "an old woman", "a man",
    "a woman", "a teenager", "a team", "people dancing", "people eating", "a smiling face",
    # animals
    "a dog", "a cat", "a puppy", "a kitten", "a horse", "a cow", "a sheep", "a pig",
    "a chicken", "a bird", "a duck", "a swan", "a parrot", "an owl", "a fish", "an aquarium",
    "a rabbit", "a hamster", "a squirrel", "a deer", "a bear", "a lion", "a tiger",
    "an elephant", "a giraffe", "a zebra", "a monkey", "a butterfly", "a bee", "a spider",
    "a snake", "a turtle", "a frog", "a dolphin", "a whale", "a seal", "an insect",
    # landscapes and nature
    "a beach", "the sea", "waves", "a lake", "a river", "a waterfall", "mountains", "a hill",
    "a valley", "a forest", "a jungle", "a desert", "a field", "a meadow", "a cliff", "a cave",
    "an island", "a volcano", "a glacier", "snow", "ice", "rain", "fog", "a storm",
    "lightning", "a rainbow", "clouds", "a blue sky", "a sunset", "a sunrise", "the moon",
    "stars at night", "the night sky", "autumn leaves", "spring blossom", "a tree",
    "a palm tree", "flowers", "a rose", "a sunflower", "tulips", "grass", "a garden",
    "a park", "rocks", "sand", "a countryside",
    # places and buildings
    "a city", "a skyline", "a street", "a road", "a highway", "a bridge", "a tunnel",
    "a building", "a skyscraper", "a house", "an apartment", "a church", "a cathedral",
    "a temple", "a mosque", "a castle", "a palace", "a tower", "a lighthouse", "a monument",
    "a statue", "a fountain", "a museum", "a library", "a school", "a classroom",
    "a hospital", "an office", "a shop", "a market", "a supermarket", "a restaurant",
    "a cafe", "a bar", "a hotel room", "a kitchen", "a living room", "a bedroom",
    "a bathroom", "a staircase", "a window", "a door", "a balcony", "a swimming pool",
    "a playground", "a stadium", "an airport", "a train station", "a harbour", "a farm",
    "a barn", "a village", "ruins", "a campsite", "a tent",
    # food and drink
    "food", "a meal", "breakfast", "a pizza", "a burger", "pasta", "sushi", "a salad",
    "soup", "bread", "a sandwich", "fruit", "vegetables", "an apple", "a banana",
    "strawberries", "a birthday cake", "a cake", "cookies", "ice cream", "chocolate",
    "a cup of coffee", "tea", "a glass of wine", "beer", "a cocktail", "a barbecue",
    "a picnic", "a dinner table",
    # events and activities
    "a birthday party", "a party", "a concert", "a festival", "fireworks", "christmas",
    "a christmas tree", "halloween", "a graduation", "a holiday", "a road trip", "hiking",
    "camping", "skiing", "snowboarding", "surfing", "swimming", "sailing", "fishing",
    "cycling", "running", "a marathon", "football", "basketball", "tennis", "golf",
    "yoga", "dancing", "a game", "a picnic in the park", "a museum visit", "shopping",
    "cooking", "gardening", "reading", "a meeting", "a presentation",
    # vehicles
    "a car", "a vintage car", "a truck", "a bus", "a train", "a tram", "a bicycle",
    "a motorcycle", "a scooter", "a boat", "a sailboat", "a ship", "a plane", "a helicopter",
    "a rocket", "a tractor",
    # things at home and about
    "a sofa", "a chair", "a table", "a bed", "a lamp", "a clock", "a mirror", "a painting",
    "a poster", "a bookshelf", "books", "a laptop", "a computer", "a phone", "a tablet",
    "a television", "a camera", "headphones", "a guitar", "a piano", "a violin", "drums",
    "a toy", "a teddy bear", "lego", "a ball", "balloons", "a gift", "candles", "a bag",
    "shoes", "a dress", "a hat", "sunglasses", "jewellery", "a watch", "keys", "a bottle",
    "a plant", "a vase", "a car interior",
    # paper and screens
    "a document", "a receipt", "an invoice", "a letter", "a form", "a ticket", "a passport",
    "an id card", "a business card", "a map", "a menu", "a sign", "a whiteboard",
    "handwriting", "a drawing", "a diagram", "a chart", "a spreadsheet", "a screenshot",
    "a text message", "a web page", "a meme", "a qr code", "a barcode", "a book page",
    "a newspaper", "a calendar", "a note",
    # how a photo looks
    "a black and white photo", "a blurry photo", "a dark photo", "an aerial view",
    "an underwater photo", "a close-up", "a panorama", "a night photo", "a long exposure",
    "a reflection", "a silhouette", "a pattern", "graffiti", "art", "a sculpture",
)  # fmt: skip


def thing_name(phrase: str) -> str:
    """The name shown for a thing: its phrase without a leading article."""
    for article in ("a ", "an ", "the "):
        if phrase.lower().startswith(article):
            return phrase[len(article) :]
    return phrase


@dataclass(frozen=True)
class Thing:
    name: str  # what the user sees ("dog")
    phrase: str  # what it is searched with ("a dog")
    user: bool = False  # added by the user


@dataclass
class Labels:
    """The library labelled with things: per thing, its photos (best first)."""

    photos: dict[str, np.ndarray]  # thing name -> photo ids, best first
    rows: int  # library size they were made for
    views: int = 0  # and its extra views (preprocess.extra_view_boxes)

    def counts(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in self.photos.items()}

    def things_of(self, photo_id: int) -> list[str]:
        return [name for name, ids in self.photos.items() if photo_id in ids]


class Things:
    """The things of one library with one searcher (its vectors, model and neutral captions)."""

    def __init__(self, searcher: Searcher, built_in: Sequence[str] = BUILT_IN) -> None:
        self.searcher = searcher
        self.store = searcher.store
        self.built_in = tuple(built_in)
        self._labels: Labels | None = None
        self._lock = threading.Lock()

    # -- which things ----------------------------------------------------------------------

    def things(self) -> list[Thing]:
        user = self._user_phrases()
        out = {thing_name(p).lower(): Thing(thing_name(p), p) for p in self.built_in}
        for p in user:
            out[thing_name(p).lower()] = Thing(thing_name(p), p, user=True)
        return sorted(out.values(), key=lambda t: t.name.lower())

    def thing(self, name: str) -> Thing | None:
        wanted = thing_name(name.strip()).lower()
        return next((t for t in self.things() if t.name.lower() == wanted), None)

    def add(self, phrase: str) -> Thing:
        """A thing of the user's: a word or phrase ("my red bike"); labelled from then on."""
        phrase = " ".join(phrase.split())
        if not phrase:
            raise PhotoclipError("A thing needs a name: a word or a short phrase.")
        if len(phrase) > 100:
            raise PhotoclipError("That's too long for a thing: use a short phrase.")
        user = [p for p in self._user_phrases() if p.lower() != phrase.lower()]
        self.store.set_setting(USER_THINGS_SETTING, json.dumps([*user, phrase]))
        self._labels = None
        return Thing(thing_name(phrase), phrase, user=True)

    def remove(self, name: str) -> bool:
        """Forget a thing the user added; False if there is none by that name."""
        wanted = thing_name(name.strip()).lower()
        user = self._user_phrases()
        kept = [p for p in user if thing_name(p).lower() != wanted]
        if len(kept) == len(user):
            return False
        self.store.set_setting(USER_THINGS_SETTING, json.dumps(kept))
        self._labels = None
        return True

    def _user_phrases(self) -> list[str]:
        raw = self.store.get_setting(USER_THINGS_SETTING)
        try:
            found = json.loads(raw) if raw else []
        except ValueError:
            return []
        return [str(p) for p in found if isinstance(p, str) and p.strip()]

    # -- labelling -------------------------------------------------------------------------

    def labels(self, stop: threading.Event | None = None) -> Labels | None:
        """Every thing's photos, remade when the library has changed since; None if stopped.
        Embeds (once) the phrases of things whose vectors the library doesn't have yet."""
        index = self.searcher.index
        index.refresh()
        ids, mat = index.snapshot()
        with self._lock:
            if self._labels is not None and (self._labels.rows, self._labels.views) == (
                len(ids),
                index.view_count(),
            ):
                return self._labels
        things = self.things()
        vectors = self._phrase_vectors([t.phrase for t in things], stop)
        if vectors is None or not self.searcher.prepare(stop):  # the neutral captions
            return None
        bank = self.searcher.neutral_bank(mat)
        photos = {t.name: np.zeros(0, np.int64) for t in things}
        if len(ids) and bank is not None:
            texts = np.stack([vectors[t.phrase] for t in things])
            # (photos, things): one product; a photo scores its best view
            ids, mat, scores = index.scores(np.ascontiguousarray(texts.T))
            for k, t in enumerate(things):
                if stop is not None and stop.is_set():
                    return None
                photos[t.name] = self._photos_of(
                    ids, mat, scores[:, k], [vectors[t.phrase], vectors[rephrase(t.phrase)]], bank
                )
        labels = Labels(photos, len(ids), index.view_count())
        with self._lock:
            self._labels = labels
        return labels

    @staticmethod
    def _photos_of(
        ids: np.ndarray,
        mat: np.ndarray,
        scores: np.ndarray,
        phrasings: list[np.ndarray],
        bank: NeutralBank,
    ) -> np.ndarray:
        strong = np.flatnonzero(scores >= strong_cut(scores))
        strong = strong[np.argsort(-scores[strong], kind="stable")]
        if not len(strong) or not about_library(phrasings, mat[strong[:CANDIDATES]], bank):
            return np.zeros(0, np.int64)
        return ids[strong]

    def _phrase_vectors(
        self, phrases: Sequence[str], stop: threading.Event | None
    ) -> dict[str, np.ndarray] | None:
        """The vectors of the phrases and their caption wordings: remembered in the library,
        else embedded a few at a time (stoppable) and remembered."""
        texts = list(dict.fromkeys([*phrases, *(rephrase(p) for p in phrases)]))
        model_id = self.searcher.model_id
        known: dict[str, np.ndarray] = {}
        for start in range(0, len(texts), 400):
            known.update(self.store.text_vectors(model_id, texts[start : start + 400]))
        missing = [t for t in texts if t not in known]
        for start in range(0, len(missing), 32):
            if stop is not None and stop.is_set():
                return None
            chunk = missing[start : start + 32]
            fresh = dict(zip(chunk, self.searcher.embedder.encode_text(chunk), strict=True))
            with contextlib.suppress(StoreError):  # a busy library: embedded again next time
                self.store.remember_text_vectors(model_id, fresh)
            known.update(fresh)
        return known
