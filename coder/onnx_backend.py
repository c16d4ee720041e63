"""A faster CPU backend: the packaged model exported to ONNX, int8-quantised, run with onnxruntime.

The first use exports the model from its local folder (``torch.onnx.export``, no network) and
quantises its matrix multiplications to int8 with per-channel weights
(``onnxruntime.quantization.quantize_dynamic``). The result is cached under
``$XDG_CACHE_HOME/coder/onnx`` (default ``~/.cache/coder/onnx``), keyed by the weights' hash, so
later runs load it in a fraction of a second. Tokenisation (the model's own ``tokenizer.json``,
truncated at its maximum sequence length) and mean pooling are done here, as sentence-transformers
does them.

int8 is fast only where the CPU has VNNI instructions (AVX512-VNNI or AVX-VNNI); elsewhere it is no
faster than torch, so :func:`int8_is_fast` lets callers fall back. Embeddings differ slightly from
torch fp32 (mean cosine 0.99 measured), so they are stored under their own model id and never mixed
with fp32 ones in the cache.

Dynamic quantisation scales activations per batch, so a text's vector depends a little on the texts
batched with it (cosine ≥ 0.98 measured between batchings). The same texts give the same batches
(they are sorted by length), and coder embeds each text once and caches it, so a project's
suggestions are reproducible; the same sentence embedded in another corpus may differ slightly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from coder.embed_base import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MODEL,
    DEFAULT_MODEL_NAME,
    default_model_path,
    model_id_for,
    normalise,
    set_offline_env,
    user_cache,
)
from coder.errors import ModelError

SUFFIX = "+onnx-int8"


def cache_dir() -> Path:
    return user_cache("onnx")


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def int8_is_fast(flags: set[str] | None = None) -> bool:
    """int8 matrix products pay off with VNNI (x86) or the dot-product extension (ARM)."""
    flags = cpu_flags() if flags is None else flags
    return bool(flags & {"avx512_vnni", "avx_vnni", "asimddp"})


def available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def _require() -> None:
    set_offline_env()  # before the import: onnxruntime's telemetry reads it
    try:
        import onnxruntime

        onnxruntime.disable_telemetry_events()
    except ImportError:
        raise ModelError(
            "the onnx backend needs onnxruntime and onnx",
            hint="pip install 'onnxruntime==1.31.1' 'onnx==1.23.2' (make install does), or use --backend torch",
        ) from None


def export(folder: Path, target: Path) -> None:
    """Export the model in ``folder`` to an int8 ONNX file at ``target`` (atomically)."""
    import logging
    import tempfile
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    set_offline_env()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    from transformers import AutoModel

    target.parent.mkdir(parents=True, exist_ok=True)
    import shutil
    import time

    for stale in target.parent.glob("tmp*"):  # left by an export that was killed
        if stale.is_dir() and time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fp32 = Path(tmp) / "model.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bert = AutoModel.from_pretrained(str(folder), local_files_only=True)
            bert.eval()

            class Hidden(torch.nn.Module):  # keyword arguments: positional order differs across versions
                def __init__(self) -> None:
                    super().__init__()
                    self.bert = bert

                def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                    out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
                    return out.last_hidden_state

            ids = torch.ones((2, 8), dtype=torch.long)
            torch.onnx.export(
                Hidden(),
                (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                str(fp32),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "seq"},
                    "attention_mask": {0: "batch", 1: "seq"},
                    "token_type_ids": {0: "batch", 1: "seq"},
                    "last_hidden_state": {0: "batch", 1: "seq"},
                },
                opset_version=17,
                dynamo=False,
            )
        part = Path(tmp) / "model-int8.onnx"
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantiser advises pre-processing on every run
        try:
            quantize_dynamic(
                str(fp32), str(part), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
            )
        finally:
            root.setLevel(level)
        os.replace(part, target)


def _check_modules(path: Path) -> None:
    """This backend re-implements Transformer → mean pooling → normalise; refuse any other model layout,
    and any architecture but BERT's, the only one whose int8 vectors were checked against torch's (an
    MPNet model's came out at mean cosine 0.84 to them: its suggestions would silently change)."""
    config = path / "config.json"
    kind = json.loads(config.read_text()).get("model_type") if config.is_file() else None
    if kind not in (None, "bert"):
        raise ModelError(
            f"the onnx backend is checked on BERT models only (this one is '{kind}'; an int8 export of "
            "all-mpnet-base-v2 gave vectors far from its own)",
            path=path,
            hint="use --backend torch for this model",
        )
    modules = path / "modules.json"
    if not modules.is_file():
        return  # a bare transformers folder: sentence-transformers would also mean-pool it
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in json.loads(modules.read_text())]
    ok = kinds[:2] == ["Transformer", "Pooling"] and all(k == "Normalize" for k in kinds[2:])
    for m in json.loads(modules.read_text()):
        if m.get("type", "").endswith("Pooling"):
            cfg = path / m.get("path", "") / "config.json"
            conf = json.loads(cfg.read_text()) if cfg.is_file() else {}
            modes = [k for k, v in conf.items() if k.startswith("pooling_mode") and v]
            ok = ok and modes in ([], ["pooling_mode_mean_tokens"])
    bert_cfg = path / "sentence_bert_config.json"
    if bert_cfg.is_file() and json.loads(bert_cfg.read_text()).get("do_lower_case"):
        ok = False
    if not ok:
        raise ModelError(
            f"the onnx backend handles Transformer + mean pooling models only (this one: {' + '.join(kinds)})",
            path=path,
            hint="use --backend torch for this model",
        )


class OnnxEmbedder:
    """all-MiniLM-L6-v2 (or another local BERT-style sentence-transformers folder) on onnxruntime, int8."""

    def __init__(
        self,
        folder: str | Path | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
        on_export: Callable[[Path], None] | None = None,
    ) -> None:
        _require()
        if folder in (None, DEFAULT_MODEL):
            path, name = default_model_path(), DEFAULT_MODEL_NAME
        else:
            path, name = Path(str(folder)).expanduser(), None
        if not (path / "tokenizer.json").is_file():
            raise ModelError(
                "the onnx backend needs the model's tokenizer.json",
                path=path,
                hint="use --backend torch for this model",
            )
        _check_modules(path)
        base_id = model_id_for(path, name)
        self.model_id = base_id + SUFFIX
        self.batch_size = batch_size
        self.path = path
        self.onnx_path = cache_dir() / base_id.replace("@", "-") / "model-int8.onnx"
        self.exported = False
        if not self.onnx_path.is_file():
            if on_export is not None:
                on_export(self.onnx_path.parent)
            try:
                export(path, self.onnx_path)
            except ModelError:
                raise
            except Exception as e:  # the export runs third-party code on the user's model
                raise ModelError(
                    f"could not export the model to ONNX ({str(e).splitlines()[0][:160]})",
                    path=path,
                    hint="use --backend torch",
                ) from None
            self.exported = True
        self._session = self._open(threads)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = self._load_tokenizer(path)
        self.dim = int(self.embed(["x"]).shape[1])

    def _open(self, threads: int | None) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        opts.intra_op_num_threads = threads or usable  # the CPUs this process may use (taskset, cgroups)
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            return ort.InferenceSession(str(self.onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # a damaged cache file: export again next time
            self.onnx_path.unlink(missing_ok=True)
            raise ModelError(
                f"the cached ONNX model does not load ({str(e).splitlines()[0][:120]})",
                path=self.onnx_path,
                hint="it was removed; run the command again to export it afresh",
            ) from None

    @staticmethod
    def _load_tokenizer(path: Path) -> Any:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        max_len = 256
        cfg = path / "sentence_bert_config.json"
        if cfg.is_file():
            max_len = int(json.loads(cfg.read_text()).get("max_seq_length", max_len))
        tok.enable_truncation(max_length=max_len)
        tok.no_padding()
        return tok

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")  # similar lengths share a batch
        chunks = []
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            types = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                e = encodings[i]
                ids[row, : len(e.ids)] = e.ids
                mask[row, : len(e.ids)] = e.attention_mask
                types[row, : len(e.ids)] = e.type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
            chunks.append((idx, pooled))
        dim = chunks[0][1].shape[1]
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for idx, pooled in chunks:
            out[idx] = pooled
        return normalise(out)
