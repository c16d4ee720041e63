"""The codebooks' exemplar vectors, kept across projects in this user's own cache.

Every new project embedded the codebook's exemplar texts (names, definitions, examples: 445 texts for
the demo codebook) again, 2-3 s of its first ``coder suggest``. They are codebook text, never interview
speech, so they are kept per model in ``$XDG_CACHE_HOME/coder/exemplars/`` (this user's cache, never
shared between users) by text hash. Nothing from a transcript is ever written here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from coder.embed_base import user_cache


def cache_path(model_id: str) -> Path:
    return user_cache("exemplars") / f"{hashlib.sha256(model_id.encode()).hexdigest()[:16]}.npz"


def lookup(model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
    """The cached vectors of those ``hashes`` this model has (a missing or damaged file: none)."""
    try:
        with np.load(cache_path(model_id), allow_pickle=False) as data:
            if str(data["model"]) != model_id:
                return {}
            index = {h: i for i, h in enumerate(data["hashes"].tolist())}
            vectors = data["vectors"]
            return {h: vectors[index[h]] for h in hashes if h in index}
    except (OSError, ValueError, KeyError):
        return {}


def add(model_id: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
    """Keep these exemplar vectors for later projects (the file is rewritten whole, then moved into place)."""
    if not len(hashes):
        return
    path = cache_path(model_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    old_h: list[str] = []
    old_v = np.zeros((0, vectors.shape[1]), dtype=np.float32)
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["model"]) == model_id and data["vectors"].shape[1] == vectors.shape[1]:
                old_h, old_v = data["hashes"].tolist(), data["vectors"]
    except (OSError, ValueError, KeyError):
        pass
    new = set(hashes)
    keep = [i for i, h in enumerate(old_h) if h not in new]
    all_h = [old_h[i] for i in keep] + list(hashes)
    all_v = np.vstack([old_v[keep], np.asarray(vectors, dtype=np.float32)])
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.part.npz")
    np.savez(tmp, model=np.array(model_id), hashes=np.array(all_h), vectors=all_v)
    os.replace(tmp, path)
