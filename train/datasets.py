"""Instruction datasets: the Hub sets by id, local files in the same shapes, and the paper's mixtures.

Every loader returns rows of one common shape, `{id, instruction, output, topic, source, doc_id}`
(the trainer reads `instruction`/`output`; `doc_id` drives the leak-free split).

- `nurkhan5l/kazakh-ift` (the paper's IFT pairs): one row per pair with topic metadata.
  Expected columns: `instruction`, `output`, plus `id`, `doc_id`, `topic`, `set`, `category`
  when present (the layout of this project's data/ift/*.jsonl). The Hub repository shows
  no data file or column list publicly, so this layout is an assumption; aliases below
  (`response`/`answer`, `source_id`/`document_id`) widen it.
- `AmanMussa/kazakh-instruction-v2` (Kazakh Alpaca, one file kaz_instructions.json,
  split "train"): Alpaca columns `instruction`, `input`, `output`. A non-empty `input`
  is appended to the instruction after a blank line, the usual Alpaca rendering.
  Each Alpaca row is its own "document" for the split.

Mixtures follow the paper's three settings: Ours, Alpaca, Alpaca + Ours (`MIXTURES`),
with optional ratios, sampled deterministically from a seed.
"""

from __future__ import annotations

import csv
import json
import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from train.data_split import DocumentSplit, split_by_document

logger = logging.getLogger(__name__)

__all__ = ["KAZAKH_ALPACA", "KAZAKH_IFT", "MIXTURES", "load_alpaca", "load_ift", "mix", "read_table",
           "split_rows", "write_jsonl"]

KAZAKH_IFT = "nurkhan5l/kazakh-ift"
KAZAKH_ALPACA = "AmanMussa/kazakh-instruction-v2"
FIELDS = ("id", "instruction", "output", "topic", "source", "doc_id")
# The paper's three training sets; values are the default shares of each source.
MIXTURES: dict[str, dict[str, float] | None] = {
    "ours": {"ours": 1.0},
    "alpaca": {"alpaca": 1.0},
    "alpaca+ours": None,  # None: all of both, as in the paper; pass ratios to rebalance
}
_OUTPUT_ALIASES = ("output", "response", "answer")
_DOC_ALIASES = ("doc_id", "document_id", "source_id")

Row = dict[str, str]


def read_table(path: Path | str) -> list[dict[str, Any]]:
    """Raw records of a local .jsonl, .json (array or JSON lines), .csv or .parquet file."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))
    if suffix not in (".jsonl", ".json"):
        raise ValueError(f"{path}: unsupported file type {suffix!r} (use .jsonl, .json, .csv or .parquet)")
    text = path.read_text(encoding="utf-8")
    if suffix == ".json" and text.lstrip().startswith("["):
        return list(json.loads(text))
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({e.msg})") from e
    return rows


def _hub_rows(dataset_id: str, split: str) -> list[dict[str, Any]]:
    from datasets import load_dataset  # heavy import, and only needed online

    return list(load_dataset(dataset_id, split=split))


def _records(source: Path | str, split: str) -> tuple[list[dict[str, Any]], str]:
    """(raw rows, short source name): a local file when the path exists, else a Hub id."""
    path = Path(source)
    if path.exists():
        return read_table(path), path.stem
    if "/" not in str(source) or str(source).startswith((".", "/")):
        raise ValueError(f"{source}: no such file, and not a Hub dataset id (OWNER/NAME)")
    return _hub_rows(str(source), split), str(source)


def _text(raw: Mapping[str, Any], names: Sequence[str]) -> str:
    for name in names:
        value = raw.get(name)
        if value is not None and str(value).strip() and str(value) != "nan":
            return str(value).strip()
    return ""


def _row(row_id: str, instruction: str, output: str, topic: str, source: str, doc_id: str) -> Row:
    return dict(zip(FIELDS, (row_id, instruction, output, topic, source, doc_id), strict=True))


def ift_rows(records: Iterable[Mapping[str, Any]], source: str) -> list[Row]:
    """Map records in the kazakh-ift layout to common rows; a row without instruction/output is an error."""
    rows = []
    for i, raw in enumerate(records):
        instruction, output = _text(raw, ("instruction",)), _text(raw, _OUTPUT_ALIASES)
        if not instruction or not output:
            raise ValueError(f"{source} row {i}: needs non-empty 'instruction' and 'output' columns, "
                             f"found {sorted(raw)}")
        row_id = _text(raw, ("id",)) or f"{source}-{i}"
        rows.append(_row(row_id, instruction, output, _text(raw, ("topic",)) or "general",
                         source, _text(raw, _DOC_ALIASES) or row_id))
    return rows


def alpaca_rows(records: Iterable[Mapping[str, Any]], source: str) -> list[Row]:
    """Map Alpaca records (instruction, input, output) to common rows, one document each."""
    rows = []
    for i, raw in enumerate(records):
        missing = [c for c in ("instruction", "output") if c not in raw]
        if missing:
            raise ValueError(f"{source} row {i}: not in the Alpaca layout, missing {missing}; found {sorted(raw)}")
        instruction, extra, output = _text(raw, ("instruction",)), _text(raw, ("input",)), _text(raw, ("output",))
        if not instruction or not output:
            logger.debug("%s row %d skipped: empty instruction or output", source, i)
            continue
        if extra:
            instruction = f"{instruction}\n\n{extra}"
        row_id = f"alpaca-{i}"
        rows.append(_row(row_id, instruction, output, "general", source, row_id))
    if not rows:
        raise ValueError(f"{source}: no usable Alpaca rows")
    return rows


def load_ift(source: Path | str = KAZAKH_IFT, *, split: str = "train") -> list[Row]:
    """The paper's IFT pairs (`nurkhan5l/kazakh-ift`) or a local file in that layout."""
    records, name = _records(source, split)
    return ift_rows(records, name)


def load_alpaca(source: Path | str = KAZAKH_ALPACA, *, split: str = "train") -> list[Row]:
    """Kazakh Alpaca (`AmanMussa/kazakh-instruction-v2`) or a local file in that layout."""
    records, name = _records(source, split)
    return alpaca_rows(records, name)


def mix(
    sources: Mapping[str, Sequence[Row]],
    ratios: Mapping[str, float] | None = None,
    *,
    total: int | None = None,
    seed: int = 0,
) -> list[Row]:
    """A shuffled mixture of named sources.

    `ratios` None: every row of every source. Otherwise each named source gets
    `round(total * share)` rows, drawn without replacement; `total` defaults to the
    largest size that needs no row twice. Asking for more rows than a source has
    repeats whole copies of it (logged). Same inputs and seed -> same list.
    """
    rng = random.Random(seed)
    if ratios is None:
        out = [row for name in sorted(sources) for row in sources[name]]
        rng.shuffle(out)
        return out
    unknown = set(ratios) - set(sources)
    if unknown:
        raise ValueError(f"ratios name unknown source(s) {sorted(unknown)}; have {sorted(sources)}")
    if any(r < 0 for r in ratios.values()) or sum(ratios.values()) <= 0:
        raise ValueError(f"ratios must be >= 0 with a positive sum, got {dict(ratios)}")
    shares = {name: r / sum(ratios.values()) for name, r in ratios.items() if r > 0}
    for name in shares:
        if not sources[name]:
            raise ValueError(f"source {name!r} is empty")
    if total is None:
        total = int(min(len(sources[n]) / s for n, s in shares.items()))
    if total < 1:
        raise ValueError(f"total must be at least 1, got {total}")
    out = []
    for name in sorted(shares):
        rows, want = list(sources[name]), round(total * shares[name])
        copies, rest = divmod(want, len(rows))
        if copies:
            logger.info("mixture repeats source %r %d time(s) to reach %d rows", name, copies, want)
        out.extend(rows * copies + rng.sample(rows, rest))
    rng.shuffle(out)
    return out


def mixture(name: str, ours: Sequence[Row], alpaca: Sequence[Row], *,
            ratios: Mapping[str, float] | None = None, total: int | None = None, seed: int = 0) -> list[Row]:
    """One of the paper's settings by name: "ours", "alpaca" or "alpaca+ours"."""
    if name not in MIXTURES:
        raise ValueError(f"Unknown mixture: {name!r} (choose from {', '.join(MIXTURES)})")
    return mix({"ours": ours, "alpaca": alpaca}, ratios if ratios is not None else MIXTURES[name],
               total=total, seed=seed)


def split_rows(rows: Sequence[Row], *, test_fraction: float = 0.1) -> DocumentSplit:
    """The deterministic by-document split of train/data_split.py (no document on both sides)."""
    return split_by_document(rows, test_fraction=test_fraction, key="doc_id")


def write_jsonl(rows: Iterable[Mapping[str, Any]], path: Path | str) -> int:
    """Write rows as UTF-8 JSON lines; returns the count."""
    n = 0
    with Path(path).open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n
