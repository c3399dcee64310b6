"""Multiple-choice items and their loaders (Hub datasets and local files).

Every source is turned into ``MCQItem(question, choices, answer)`` with a 0-based
answer. The row schemas are recognised by their columns, so a local copy of a
Hub dataset (JSONL or CSV) loads exactly like the Hub one:

- local JSONL ``{question, choices, answer}`` (answer a 0-based index; optional
  ``id``, ``subject`` or ``provenance.subject``);
- Constitution-MC / Dastur-MC: ``Question, Correct Answer, Option A..D`` (+ ``Title``,
  used as the subject, and ``Text``, the article, not shown to the model);
- UNT-MC: ``subject, question, correct_answer, A..H``, unused options null or "None";
- KazMMLU: ``ID, Subject, Question, Option A..E, Answer Key, Language`` (E may be empty).

Empty options are dropped and the rest relabelled A, B, ... in their order, so
the answer index always points at a real option.
"""

from __future__ import annotations

import csv
import logging
import math
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from db.jsonl import read_jsonl
from eval.sample import seeded_sample

logger = logging.getLogger(__name__)

LETTERS = string.ascii_uppercase[:8]  # A..H, the most options any supported dataset has
_EMPTY = {"", "none", "null", "nan"}


@dataclass(frozen=True)
class MCQItem:
    id: str
    question: str
    choices: tuple[str, ...]
    answer: int  # 0-based index into choices
    subject: str | None = None


@dataclass(frozen=True)
class MCQDataset:
    name: str
    items: tuple[MCQItem, ...]

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class HubDataset:
    """A Hugging Face dataset and how a ``name:suffix`` spec selects part of it."""

    path: str  # Hub id, or a local folder laid out like the Hub repo
    split: str | None = "test"  # None: every split, concatenated
    config: str | None = None
    suffix: str = "split"  # what "name:SUFFIX" sets: "split" or "config"
    language: str | None = None  # keep only rows whose Language column equals this


# The seed paper's benchmarks. UNT keeps one split per subject (its viewer shows
# config "default", split "kazakh_and_literature", ...); KazMMLU has Kazakh and
# Russian rows, and only the Kazakh ones are kept.
HUB_DATASETS: dict[str, HubDataset] = {
    "dastur": HubDataset("kz-transformers/kazakh-dastur-mc"),
    "constitution": HubDataset("kz-transformers/kazakh-constitution-mc"),
    "unt": HubDataset("kz-transformers/kazakh-unified-national-testing-mc", split=None),
    "unt-human-society-rights": HubDataset(
        "kz-transformers/kazakh-unified-national-testing-mc", split="human_society_rights"
    ),
    "kazmmlu": HubDataset("MBZUAI/KazMMLU", suffix="config", language="Kazakh"),
}


class DatasetUnavailable(RuntimeError):
    """A dataset could not be loaded (offline, unknown name, unreadable file)."""


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return str(value).strip().lower() in _EMPTY


def _from_letters(
    where: str, question: Any, options: Mapping[str, Any], answer_letter: Any
) -> tuple[str, tuple[str, ...], int]:
    """Keep the non-empty options in letter order; map the answer letter onto them."""
    kept = [(letter, str(text).strip()) for letter, text in options.items() if not _is_empty(text)]
    letter = str(answer_letter).strip().upper()
    order = [k for k, _ in kept]
    if letter not in order:
        raise ValueError(f"{where}: answer {answer_letter!r} is not one of the non-empty options {order}")
    return str(question).strip(), tuple(t for _, t in kept), order.index(letter)


def item_from_row(row: Mapping[str, Any], where: str, fallback_id: str) -> MCQItem:
    """One item from a row in any supported schema; ``where`` names the row in errors."""
    if "choices" in row:
        choices = row["choices"]
        answer = row.get("answer")
        if not isinstance(choices, list) or len(choices) < 2:
            raise ValueError(f"{where}: 'choices' must be a list of at least 2 options")
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
            raise ValueError(f"{where}: 'answer' must be a 0-based index below {len(choices)}, got {answer!r}")
        provenance = row.get("provenance") or {}
        subject = row.get("subject") or (provenance.get("subject") if isinstance(provenance, dict) else None)
        question = str(row.get("question", "")).strip()
        item_id = str(row.get("id") or fallback_id)
        return _checked(where, MCQItem(item_id, question, tuple(str(c).strip() for c in choices), answer, subject))
    if "Correct Answer" in row or "Answer Key" in row:  # Constitution/Dastur-MC, KazMMLU
        answer_key = row["Correct Answer"] if "Correct Answer" in row else row["Answer Key"]
        options = {k.removeprefix("Option ").strip(): v for k, v in row.items() if k.startswith("Option ")}
        question, choices, answer = _from_letters(where, row.get("Question", ""), options, answer_key)
        subject = row.get("Subject") or row.get("Title")
        item_id = str(row.get("ID") or fallback_id)
        return _checked(where, MCQItem(item_id, question, choices, answer, str(subject) if subject else None))
    if "correct_answer" in row:  # UNT-MC
        options = {k: row[k] for k in LETTERS if k in row}
        question, choices, answer = _from_letters(where, row.get("question", ""), options, row["correct_answer"])
        subject = row.get("subject")
        item_id = str(row.get("id") or fallback_id)
        return _checked(where, MCQItem(item_id, question, choices, answer, str(subject) if subject else None))
    raise ValueError(f"{where}: unknown multiple-choice schema (columns: {', '.join(map(str, row))})")


def _checked(where: str, item: MCQItem) -> MCQItem:
    if not item.question:
        raise ValueError(f"{where}: empty question")
    if len(item.choices) < 2:
        raise ValueError(f"{where}: fewer than 2 options")
    if len(item.choices) > len(LETTERS):
        raise ValueError(f"{where}: more than {len(LETTERS)} options")
    return item


def items_from_rows(
    rows: Iterable[Mapping[str, Any]], source: str, *, language: str | None = None
) -> list[MCQItem]:
    items = []
    for i, row in enumerate(rows):
        if language is not None and "Language" in row and row["Language"] != language:
            continue
        items.append(item_from_row(row, f"{source} row {i + 1}", fallback_id=f"{source}#{i}"))
    return items


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a local ``.jsonl`` or ``.csv`` file."""
    if not path.is_file():
        raise DatasetUnavailable(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    if path.suffix.lower() != ".jsonl":
        raise DatasetUnavailable(f"{path}: expected a .jsonl or .csv file")
    return read_jsonl(path)


def load_hub(hub: HubDataset, source: str) -> list[MCQItem]:
    """Items of a Hub dataset through ``datasets.load_dataset`` (or the local cache)."""
    import datasets  # heavy; only when a Hub dataset is asked for

    try:
        loaded = datasets.load_dataset(hub.path, hub.config, split=hub.split)
    except Exception as e:  # offline, unknown split/config, gated: all end here
        raise DatasetUnavailable(
            f"cannot load {hub.path} (config {hub.config}, split {hub.split}): {e}. Without the Hub, "
            "pass a local .jsonl/.csv copy with the same columns instead."
        ) from e
    parts = loaded.values() if isinstance(loaded, datasets.DatasetDict) else [loaded]
    return [item for part in parts for item in items_from_rows(part, source, language=hub.language)]


def resolve_hub(spec: str) -> HubDataset | None:
    """``name`` or ``name:SUFFIX`` from HUB_DATASETS, or a raw Hub id ``owner/name``."""
    name, _, suffix = spec.partition(":")
    hub = HUB_DATASETS.get(name)
    if hub is not None:
        if not suffix:
            return hub
        return replace(hub, split=suffix) if hub.suffix == "split" else replace(hub, config=suffix)
    if "/" in spec and not spec.startswith((".", "/")):
        return HubDataset(spec)
    return None


def load_mcq(spec: str, *, limit: int | None = None, seed: int = 0) -> MCQDataset:
    """A dataset by name (see HUB_DATASETS), ``name:SUFFIX``, Hub id, or local file path."""
    path = Path(spec)
    if path.suffix.lower() in {".jsonl", ".csv"} or path.exists():
        items = items_from_rows(read_rows(path), path.name)
        name = path.stem
    else:
        hub = resolve_hub(spec)
        if hub is None:
            raise DatasetUnavailable(
                f"unknown dataset {spec!r}: give a file path or one of {', '.join(HUB_DATASETS)}"
            )
        items = load_hub(hub, spec)
        name = spec
    if not items:
        raise DatasetUnavailable(f"{spec}: no items")
    items = seeded_sample(items, limit, seed)
    logger.info("loaded %d items from %s", len(items), spec)
    return MCQDataset(name=name, items=tuple(items))
