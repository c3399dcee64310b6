"""Loaders on local files in each dataset's exact column layout; mixtures; the split."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from train.datasets import load_alpaca, load_ift, mix, mixture, split_rows, write_jsonl

ALPACA = [  # Kazakh Alpaca layout: instruction, input, output
    {"instruction": "Берілген сөйлемді аударыңыз.", "input": "Good morning.", "output": "Қайырлы таң."},
    {"instruction": "Қазақстанның астанасы қай қала?", "input": "", "output": "Астана."},
]
IFT = [  # kazakh-ift layout (as data/ift/*.jsonl)
    {"id": "p1", "doc_id": "d1", "set": "govset", "topic": "tax", "category": "factual",
     "instruction": "Салық қашан төленеді?", "output": "Жыл сайын."},
    {"id": "p2", "doc_id": "d1", "set": "govset", "topic": "tax", "category": "explain",
     "instruction": "Түсіндіріңіз: салық.", "output": "Салық - міндетті төлем."},
]


def _write(path: Path, rows: list[dict]) -> Path:
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    elif path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    else:
        write_jsonl(rows, path)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".parquet"])
def test_alpaca_layout_maps_input_into_instruction(tmp_path: Path, suffix: str) -> None:
    rows = load_alpaca(_write(tmp_path / f"kaz_instructions{suffix}", ALPACA))
    assert rows[0] == {"id": "alpaca-0", "instruction": "Берілген сөйлемді аударыңыз.\n\nGood morning.",
                       "output": "Қайырлы таң.", "topic": "general", "source": "kaz_instructions",
                       "doc_id": "alpaca-0"}
    assert rows[1]["instruction"] == "Қазақстанның астанасы қай қала?"  # empty input adds nothing
    assert rows[1]["doc_id"] != rows[0]["doc_id"]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_ift_layout_keeps_topic_and_document(tmp_path: Path, suffix: str) -> None:
    rows = load_ift(_write(tmp_path / f"ift{suffix}", IFT))
    assert [(r["id"], r["doc_id"], r["topic"]) for r in rows] == [("p1", "d1", "tax"), ("p2", "d1", "tax")]
    assert rows[1]["output"] == "Салық - міндетті төлем."


def test_project_ift_sample_loads() -> None:
    rows = load_ift(Path(__file__).parents[2] / "data" / "ift" / "train.jsonl")
    shipped = (Path(__file__).parents[2] / "data" / "ift" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == len(shipped) >= 1500 and all(r["doc_id"].startswith(("govset", "cultset")) for r in rows)


def test_bad_layouts_fail_loudly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Alpaca layout"):
        load_alpaca(_write(tmp_path / "x.jsonl", [{"prompt": "a", "completion": "b"}]))
    with pytest.raises(ValueError, match="row 0"):
        load_ift(_write(tmp_path / "y.jsonl", [{"instruction": "a", "output": ""}]))
    with pytest.raises(ValueError, match="no such file"):
        load_ift(tmp_path / "missing.jsonl")


def _rows(prefix: str, n: int) -> list[dict[str, str]]:
    return [{"id": f"{prefix}{i}", "doc_id": f"{prefix}doc{i // 3}", "instruction": "a", "output": "b"}
            for i in range(n)]


def test_mixture_ratios_are_exact_and_deterministic() -> None:
    sources = {"ours": _rows("o", 100), "alpaca": _rows("a", 1000)}
    mixed = mix(sources, {"ours": 1, "alpaca": 3}, total=200, seed=7)
    counts = Counter(r["id"][0] for r in mixed)
    assert counts == {"o": 50, "a": 150}
    assert len({r["id"] for r in mixed}) == 200  # no row twice
    assert mix(sources, {"ours": 1, "alpaca": 3}, total=200, seed=7) == mixed
    assert mix(sources, {"ours": 1, "alpaca": 3}, total=200, seed=8) != mixed
    # default total: the largest that needs no repeats (ours limits it: 100 / 0.25)
    assert Counter(r["id"][0] for r in mix(sources, {"ours": 1, "alpaca": 3})) == {"o": 100, "a": 300}


def test_mixture_upsamples_with_whole_copies() -> None:
    mixed = mix({"ours": _rows("o", 10)}, {"ours": 1}, total=25, seed=0)
    counts = Counter(r["id"] for r in mixed)
    assert len(mixed) == 25 and set(counts.values()) <= {2, 3} and sum(v == 3 for v in counts.values()) == 5


def test_paper_mixtures() -> None:
    ours, alpaca = _rows("o", 30), _rows("a", 50)
    assert sorted(r["id"] for r in mixture("ours", ours, alpaca)) == sorted(r["id"] for r in ours)
    assert sorted(r["id"] for r in mixture("alpaca", ours, alpaca)) == sorted(r["id"] for r in alpaca)
    both = mixture("alpaca+ours", ours, alpaca, seed=1)
    assert len(both) == 80 and both != ours + alpaca  # all of both, shuffled
    with pytest.raises(ValueError, match="Unknown mixture"):
        mixture("both", ours, alpaca)
    with pytest.raises(ValueError, match="unknown source"):
        mix({"ours": ours}, {"alpaca": 1})


def test_split_of_a_mixture_keeps_documents_whole() -> None:
    mixed = mixture("alpaca+ours", _rows("o", 90), _rows("a", 210), seed=3)
    split = split_rows(mixed)
    assert {r["doc_id"] for r in split.train}.isdisjoint({r["doc_id"] for r in split.test})
    assert len(split.test) == 30
