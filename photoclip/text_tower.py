"""A CLIP text tower in numpy, so that a search for a new phrase needs neither torch nor
open_clip (their import alone takes seconds; the whole search then takes a fraction).

When a model is loaded with torch, its text tower is exported once into the cache folder
(its weights as .npy files, exactly as the user's own weights hold them); the export is
checked against torch on a few phrases and used only if the vectors agree. CLIP's text
attention is causal and the vector is read at the end-of-text token, so only the tokens up
to it need computing: a 6-word phrase costs ~10 tokens, not 77."""

from __future__ import annotations

import contextlib
import ctypes
import gzip
import html
import itertools
import json
import logging
import math
import os
import re
import shutil
from collections.abc import Sequence
from functools import cached_property, lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 1
MIN_COSINE = 0.99999  # numpy against torch, both fp32: only summation order differs
_CHECK_PHRASES = ("a photo of a dog", "Kids building a sandcastle on the beach!",
                  "naïve café – 2 people, 1 cake", "x", "a <end_of_text> b")  # fmt: skip


def export_dir(weights_sha256: str, cache: Path | None = None) -> Path:
    from .precision import cache_dir

    return (cache or cache_dir()) / "text" / f"{weights_sha256[:32]}-v{FORMAT}"


# -- tokenizer -----------------------------------------------------------------------------


def _bpe_path() -> str | None:
    spec = find_spec("open_clip")  # open_clip's own vocabulary file, without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz"
    return str(path) if path.is_file() else None


@lru_cache(maxsize=1)
def _byte_symbols() -> dict[int, str]:
    """CLIP's reversible map from bytes to printable characters."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]  # fmt: skip
    table = {b: chr(b) for b in keep}  # in this order: a symbol's place is its token id
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


# Text that needs neither ftfy nor Unicode classes: printable ASCII, tabs and newlines, no
# "&" (an entity). (Other control characters are ftfy's to remove, not whitespace.)
_PLAIN = re.compile(r"[\t\n -%'-~]*")
# open_clip's pattern where letters are a-z and digits 0-9 (the text is lowercased).
_ASCII_PATTERN = re.compile(
    r"<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+"
)


class Tokenizer:
    """CLIP's byte-level BPE tokenizer (open_clip's SimpleTokenizer with its default "lower"
    cleaning), torch-free. Checked against open_clip's at export time."""

    def __init__(
        self, bpe_path: str, context_length: int, tables: tuple[dict, dict] | None = None
    ) -> None:
        """From open_clip's vocabulary file, or from ``tables`` (:meth:`tables`, as
        :func:`_tokenizer` keeps them): token ids, and merge ranks keyed "left right"."""
        if tables is None:
            with gzip.open(bpe_path, "rt", encoding="utf-8") as f:
                merges = f.read().split("\n")[1 : 49152 - 256 - 2 + 1]
            symbols = list(_byte_symbols().values())
            vocab = symbols + [s + "</w>" for s in symbols] + [m.replace(" ", "") for m in merges]
            vocab += ["<start_of_text>", "<end_of_text>"]
            tables = {tok: i for i, tok in enumerate(vocab)}, {m: i for i, m in enumerate(merges)}
        self.ids, self.ranks = tables
        self.sot, self.eot = self.ids["<start_of_text>"], self.ids["<end_of_text>"]
        self.context_length = context_length
        self._cache: dict[str, list[str]] = {}
        self._pattern: Any = None  # open_clip's, with the regex module (imported when needed)

    def tables(self) -> dict[str, Any]:
        return {"ids": self.ids, "ranks": self.ranks}

    def _bpe(self, token: str) -> list[str]:
        if token in self._cache:
            return self._cache[token]
        word = [*token[:-1], token[-1] + "</w>"]
        ranks = self.ranks
        while len(word) > 1:
            pairs = {f"{a} {b}" for a, b in itertools.pairwise(word)}
            best_key = min(pairs, key=lambda p: ranks.get(p, 1 << 30))
            if best_key not in ranks:
                break
            best = tuple(best_key.split(" "))
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        self._cache[token] = word
        return word

    def encode(self, text: str) -> list[int]:
        if _PLAIN.fullmatch(text):
            # Printable ASCII, tabs and newlines, no "&": ftfy and HTML unescaping leave it
            # as it is, and the pattern's letters and digits are ASCII's. (Importing ftfy and
            # regex takes 50 ms, a tenth of a search command.)
            pieces = _ASCII_PATTERN.findall(" ".join(text.split()).lower())
        else:
            pieces = self._unicode_pieces(text)
        byte_symbols = _byte_symbols()
        out: list[int] = []
        for piece in pieces:
            if piece in ("<start_of_text>", "<end_of_text>"):
                out.append(self.ids[piece])
                continue
            token = "".join(byte_symbols[b] for b in piece.encode("utf-8"))
            out.extend(self.ids[t] for t in self._bpe(token))
        return out

    def _unicode_pieces(self, text: str) -> list[str]:
        import ftfy

        if self._pattern is None:
            import regex

            self._pattern = regex.compile(
                r"<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]"
                r"|[^\s\p{L}\p{N}]+",
                regex.IGNORECASE,
            )
        text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
        return list(self._pattern.findall(" ".join(text.split()).lower()))

    def __call__(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text from start to end-of-text, cut to the context length (the
        padding after the end-of-text token never changes a causal tower's result)."""
        out = []
        for text in texts:
            ids = [self.sot, *self.encode(text), self.eot][: self.context_length]
            ids[-1] = self.eot
            out.append(ids)
        return out


# -- the tower -----------------------------------------------------------------------------


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to ~1e-7 (Abramowitz & Stegun 7.1.26 is 1.5e-7), numpy only."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                + t * 1.061405429))))  # fmt: skip
    return sign * (1.0 - poly * np.exp(-a * a))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


VOCAB = "vocab.json"  # the tokenizer's tables, kept beside the tower (_tokenizer)


def _tokenizer(folder: Path, bpe: str, context_length: int) -> Tokenizer:
    """The tokenizer from the tables kept in ``folder`` when they were made from this very
    vocabulary file, else from the file (its 49k merges: 55-70 ms against 25 ms for the
    kept tables, per new phrase in a search command), keeping the tables for next time."""
    st = os.stat(bpe)
    source = [st.st_size, st.st_mtime_ns]
    kept = folder / VOCAB
    try:
        data = json.loads(kept.read_text(encoding="utf-8"))
        ids, ranks = data["ids"], data["ranks"]
        if data["source"] == source and len(ids) == len(ranks) + 514 and ids.get(
            "<end_of_text>") == len(ids) - 1:  # fmt: skip
            return Tokenizer(bpe, context_length, (ids, ranks))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # not kept yet, or unreadable: made again below
    tokenizer = Tokenizer(bpe, context_length)
    tmp = kept.with_name(f"{VOCAB}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"source": source, **tokenizer.tables()}), encoding="utf-8")
        os.replace(tmp, kept)
    except OSError:  # a read-only or full cache: made from the file each time
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return tokenizer


class TextTower:
    """An exported text tower: ``encode(texts)`` gives unit vectors as the model's would."""

    def __init__(self, folder: Path) -> None:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError("an export of another format")
        self.meta = meta
        self.heads = int(meta["heads"])
        self.layers = int(meta["layers"])
        self.eps = float(meta["eps"])
        self.quick_gelu = bool(meta["quick_gelu"])
        bpe = _bpe_path()
        if bpe is None:
            raise FileNotFoundError("open_clip's vocabulary file")
        self._bpe = bpe
        self._folder = folder
        self._w = {p.stem: np.load(p, mmap_mode="r") for p in folder.glob("*.npy")}
        self.known = _read_known(folder)  # phrases torch embedded at the export (_add_known)

    @cached_property
    def tokenizer(self) -> Tokenizer:
        """Made when a phrase isn't among the known ones (indexing needs only those)."""
        return _tokenizer(self._folder, self._bpe, int(self.meta["context_length"]))

    def _gelu(self, x: np.ndarray) -> np.ndarray:
        if self.quick_gelu:
            return x / (1.0 + np.exp(-1.702 * x))
        return 0.5 * x * (1.0 + _erf(x * (1 / math.sqrt(2.0))))

    def _many(self, rows: list[list[int]]) -> np.ndarray:
        """Phrases as one batch, each row its tokens up to and with its first end-of-text
        (open_clip's argmax pooling; the words "<end_of_text>" in a query are that token
        too: nothing after it matters), all rows equally long -> [rows, dim]."""
        w = self._w
        b, n = len(rows), len(rows[0])
        x = np.asarray(w["token_embedding"][np.asarray(rows)], np.float32)
        x = x + w["positional_embedding"][:n]  # [b, n, d]
        d = x.shape[-1]
        hd = d // self.heads
        mask = np.triu(np.full((n, n), -np.inf, np.float32), 1)

        def linear(h: np.ndarray, name: str) -> np.ndarray:  # one matrix product per batch
            out = h.reshape(b * n, -1) @ w[name + ".w"].T + w[name + ".b"]
            return out.reshape(b, n, -1)

        for i in range(self.layers):
            p = f"l{i}."
            h = _layer_norm(x, w[p + "ln_1.w"], w[p + "ln_1.b"], self.eps)
            qkv = linear(h, p + "in_proj")
            q, k, v = (qkv[..., j * d : (j + 1) * d].reshape(b, n, self.heads, hd)
                       .transpose(0, 2, 1, 3) for j in range(3))  # fmt: skip
            att = q @ k.transpose(0, 1, 3, 2) * (1 / math.sqrt(hd)) + mask
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            out = (att @ v).transpose(0, 2, 1, 3).reshape(b, n, d)
            x = x + linear(out, p + "out_proj") * w.get(p + "ls_1", 1.0)
            h = _layer_norm(x, w[p + "ln_2.w"], w[p + "ln_2.b"], self.eps)
            h = self._gelu(linear(h, p + "c_fc"))
            x = x + linear(h, p + "c_proj") * w.get(p + "ls_2", 1.0)
        last = _layer_norm(x[:, -1], w["ln_final.w"], w["ln_final.b"], self.eps)
        if "proj.w" in w:  # a Linear projection
            return np.asarray(last @ w["proj.w"].T + w.get("proj.b", 0.0), np.float32)
        return np.asarray(last @ w["proj"], np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.known))
        rows = []
        if missing:
            eot = self.tokenizer.eot
            rows = [ids[: ids.index(eot) + 1] for ids in self.tokenizer(missing)]
        by_length: dict[int, list[int]] = {}
        for i, ids in enumerate(rows):
            by_length.setdefault(len(ids), []).append(i)
        set_threads = _blas_threads_setter()
        # A phrase or two is a few rows against each weight matrix: one core is as fast as
        # two, and far faster when the other is busy (measured 35 ms against 90-290 ms).
        # Many phrases of a length are one batch, for all cores (Things: 648 phrases).
        before = set_threads(1) if set_threads and len(missing) <= 4 else None
        try:
            made: dict[str, np.ndarray] = {}
            for group in by_length.values():
                vecs = self._many([rows[i] for i in group])
                made.update((missing[i], v) for i, v in zip(group, vecs, strict=True))
            out = np.stack([self.known[t] if t in self.known else made[t] for t in texts])
        finally:
            if set_threads and before is not None:
                set_threads(before)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


@lru_cache(maxsize=1)
def _blas_threads_setter() -> Any:
    """OpenBLAS's ``openblas_set_num_threads_local`` (this thread only; returns the count it
    replaces) from the library numpy's wheel bundles; None where numpy uses another BLAS."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for so in sorted(libs.glob("lib*openblas*.so*")):
        try:
            fn = ctypes.CDLL(str(so)).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
        return fn
    return None


def load(weights_sha256: str) -> TextTower | None:
    """The exported tower of these weights, or None (not exported, or unreadable)."""
    folder = export_dir(weights_sha256)
    if not (folder / "meta.json").is_file():
        return None
    try:
        return TextTower(folder)
    except (OSError, ValueError, KeyError) as exc:
        log.info("The exported text tower at %s is unusable: %s", folder, exc)
        return None


def export(model: Any, tokenizer: Any, weights_sha256: str) -> bool:
    """Write ``model``'s text tower (an fp32 open_clip CLIP) for :func:`load`, once; True
    when an export is there now. Anything this module can't reproduce exactly (another
    architecture, tokenizer or pooling) is left to torch: the check below refuses it."""
    folder = export_dir(weights_sha256)
    if (folder / "meta.json").is_file():
        if not (folder / KNOWN).is_file():
            _add_known(folder, model, tokenizer)  # an export made before phrases were kept
        return True
    try:
        arrays, meta = _arrays(model, tokenizer)
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        log.info("The text tower stays with torch: %s", exc)
        return False
    tmp = folder.with_name(folder.name + f".{os.getpid()}.tmp")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr, np.float32))
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        tower = TextTower(tmp)
        if not _agrees(tower, model, tokenizer):
            shutil.rmtree(tmp, ignore_errors=True)
            return False
        _add_known(tmp, model, tokenizer)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        return True
    except OSError as exc:  # a full or read-only cache: torch does the text, as before
        log.info("Text tower not exported: %s", exc)
        shutil.rmtree(tmp, ignore_errors=True)
        return False


KNOWN = "known.json"  # phrases embedded by torch at the export; known.vectors their vectors


def _add_known(folder: Path, model: Any, tokenizer: Any) -> None:
    """Embed, with the fp32 model, the phrases every library asks its model for (the neutral
    captions that tell a strong match, calibration.NEUTRAL_CAPTIONS), so that a library
    indexed without torch needn't compute them in numpy (214 phrases one by one: seconds).
    Best effort: without them the tower computes them like any phrase."""
    from .calibration import NEUTRAL_CAPTIONS

    phrases = list(NEUTRAL_CAPTIONS)
    try:
        vecs = torch_vectors(model, tokenizer(phrases))
        tmp = folder / f"known.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            np.save(f, vecs.astype(np.float32))
        os.replace(tmp, folder / "known.vectors")
        (folder / KNOWN).write_text(json.dumps(phrases), encoding="utf-8")  # written last
    except (OSError, RuntimeError) as exc:
        log.info("The text tower's known phrases weren't kept: %s", exc)


def _read_known(folder: Path) -> dict[str, np.ndarray]:
    try:
        phrases = json.loads((folder / KNOWN).read_text(encoding="utf-8"))
        vecs = np.load(folder / "known.vectors")
    except (OSError, ValueError):
        return {}
    if not isinstance(phrases, list) or vecs.shape[0] != len(phrases):
        return {}
    return {str(p): v for p, v in zip(phrases, vecs, strict=True)}


def _arrays(model: Any, tokenizer: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    import torch

    if type(tokenizer).__name__ != "SimpleTokenizer" or tokenizer.reduction_fn is not None:
        raise ValueError(f"tokenizer {type(tokenizer).__name__}")
    if getattr(model, "text_pool_type", None) != "argmax" or model.attn_mask is None:
        raise ValueError("not a causal CLIP text tower pooled at the end-of-text token")

    def t(x: Any) -> np.ndarray:
        return x.detach().float().cpu().numpy()

    blocks = model.transformer.resblocks
    arrays = {
        "token_embedding": t(model.token_embedding.weight),
        "positional_embedding": t(model.positional_embedding),
        "ln_final.w": t(model.ln_final.weight),
        "ln_final.b": t(model.ln_final.bias),
    }
    proj = model.text_projection
    if isinstance(proj, torch.nn.Linear):
        arrays["proj.w"] = t(proj.weight)
        if proj.bias is not None:
            arrays["proj.b"] = t(proj.bias)
    else:
        arrays["proj"] = t(proj)
    gelus = set()
    for i, b in enumerate(blocks):
        p = f"l{i}."
        if getattr(b, "ln_attn", None) is not None and not isinstance(b.ln_attn, torch.nn.Identity):
            raise ValueError("attention layer norm")
        arrays |= {
            p + "ln_1.w": t(b.ln_1.weight), p + "ln_1.b": t(b.ln_1.bias),
            p + "ln_2.w": t(b.ln_2.weight), p + "ln_2.b": t(b.ln_2.bias),
            p + "in_proj.w": t(b.attn.in_proj_weight), p + "in_proj.b": t(b.attn.in_proj_bias),
            p + "out_proj.w": t(b.attn.out_proj.weight), p + "out_proj.b": t(b.attn.out_proj.bias),
            p + "c_fc.w": t(b.mlp.c_fc.weight), p + "c_fc.b": t(b.mlp.c_fc.bias),
            p + "c_proj.w": t(b.mlp.c_proj.weight), p + "c_proj.b": t(b.mlp.c_proj.bias),
        }  # fmt: skip
        for ls in ("ls_1", "ls_2"):
            gamma = getattr(getattr(b, ls, None), "gamma", None)
            if gamma is not None:
                arrays[p + ls] = t(gamma)
        gelus.add(type(b.mlp.gelu).__name__ + str(getattr(b.mlp.gelu, "approximate", "")))
    if gelus not in ({"GELUnone"}, {"QuickGELU"}):
        raise ValueError(f"activation {gelus}")
    meta = {
        "format": FORMAT,
        "layers": len(blocks),
        "heads": int(blocks[0].attn.num_heads),
        "eps": float(blocks[0].ln_1.eps),
        "quick_gelu": gelus == {"QuickGELU"},
        "context_length": int(tokenizer.context_length),
    }
    return arrays, meta


def _agrees(tower: TextTower, model: Any, tokenizer: Any) -> bool:
    import torch

    phrases = list(_CHECK_PHRASES)
    ours = tower.tokenizer(phrases)
    theirs = tokenizer(phrases)
    for mine, row in zip(ours, theirs.tolist(), strict=True):
        if row[: len(mine)] != mine or any(row[len(mine) :]):
            log.info("The text tower stays with torch: its tokens differ")
            return False
    with torch.inference_mode():
        ref = model.encode_text(theirs).float().numpy()
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    cos = float(np.min(np.sum(ref * tower.encode(phrases), axis=1)))
    if cos < MIN_COSINE:
        log.info("The text tower stays with torch: cosine %.6f to torch's", cos)
    return cos >= MIN_COSINE


def torch_vectors(model: Any, tokens: Any) -> np.ndarray:
    """Unit vectors of ``tokens`` (open_clip's, on the model's device) from torch: each
    phrase up to its end-of-text where :func:`encode_trimmed` reproduces the tower, else the
    model's own ``encode_text``."""
    import torch

    from .embedder import unit_rows

    with torch.inference_mode():
        feats = encode_trimmed(model, tokens)
        if feats is None:
            feats = model.encode_text(tokens)
    return unit_rows(feats.float().cpu().numpy())


def encode_trimmed(model: Any, tokens: Any) -> Any:
    """open_clip's ``CLIP.encode_text`` (unnormalised), each phrase computed only up to its
    end-of-text token: causal attention makes what follows irrelevant, and a short phrase is
    ~10 of the 77 positions (the 214 neutral captions: ~6x less work). Phrases are grouped
    by that length, so a phrase's vector never depends on the others in its batch. None for
    a tower this shortcut doesn't reproduce exactly (then the caller runs the model's own)."""
    import torch

    pool = getattr(model, "text_pool_type", None)
    mask = getattr(model, "attn_mask", None)
    transformer: Any = getattr(model, "transformer", None)
    if pool != "argmax" or mask is None or not getattr(transformer, "batch_first", False):
        return None
    ends = tokens.argmax(dim=-1)  # the end-of-text token has the highest id
    cast = transformer.get_cast_dtype()
    out: Any = None
    for end in sorted(set(ends.tolist())):
        rows = (ends == end).nonzero().flatten()
        length = end + 1
        x = model.token_embedding(tokens[rows, :length]).to(cast)
        x = x + model.positional_embedding[:length].to(cast)
        x = transformer(x, attn_mask=mask[:length, :length])
        x = model.ln_final(x)[:, end]
        proj = model.text_projection
        if proj is not None:
            x = proj(x) if isinstance(proj, torch.nn.Linear) else x @ proj
        if out is None:
            out = x.new_empty((tokens.shape[0], x.shape[-1]))
        out[rows] = x
    return out
