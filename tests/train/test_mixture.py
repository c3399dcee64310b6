"""--mix: parsing, the FLORES translation instructions, and sampling to the ratio with a seed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from train.formatting import check_record, save_jsonl
from train.general import DIRECTIONS, FLORES_DEV, LANGUAGES, load_flores, translation_instructions
from train.mixture import load_mixture, parse_mix

ROW = {"id": "7", "kk": "Сәлем, әлем.", "en": "Hello, world.", "ru": "Привет, мир."}


def test_parse_mix_normalises_and_refuses_clearly() -> None:
    assert parse_mix("ours=0.8,general=0.2") == {"ours": 0.8, "general": 0.2}
    assert parse_mix(" ours = 3 , general = 1 ") == {"ours": 0.75, "general": 0.25}
    assert parse_mix("ours=1") == {"ours": 1.0}
    with pytest.raises(ValueError, match=r"unknown component 'alpaca' \(known: ours, general\)"):
        parse_mix("ours=0.5,alpaca=0.5")
    for spec, message in [
        ("ours", "NAME=WEIGHT"),
        ("ours=x", "not a number"),
        ("ours=1,general=0", "must be positive"),
        ("ours=1,ours=2", "given twice"),
        ("general=1", "'ours'"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_mix(spec)


def test_translation_instructions_are_kazakh_seeded_and_cover_every_direction() -> None:
    rows = [dict(ROW, id=str(i)) for i in range(200)]
    records = translation_instructions(rows, seed=3)
    assert records == translation_instructions(rows, seed=3)
    assert records != translation_instructions(rows, seed=4)
    directions = Counter(r["source"].rsplit("/", 1)[1] for r in records)
    assert set(directions) == {f"{s}-{t}" for s, t in DIRECTIONS} and min(directions.values()) > 30
    assert len({r["instruction"].split("\n\n")[0] for r in records}) >= 12  # several phrasings per direction
    for record in records:
        check_record(record)
        src, tgt = record["source"].rsplit("/", 1)[1].split("-")
        assert record["instruction"].endswith("\n\n" + ROW[src]) and record["output"] == ROW[tgt]
        assert (
            f"{LANGUAGES[tgt]} тіліне" in record["instruction"]
            or f"{LANGUAGES[tgt]} тіліндегі" in record["instruction"]
        )


def test_the_real_flores_dev_file() -> None:
    rows = load_flores(FLORES_DEV)
    assert len(rows) == 997 and all(r["kk"] and r["en"] and r["ru"] for r in rows)


def test_mixture_keeps_all_of_ours_and_samples_general_to_the_ratio(tmp_path: Path) -> None:
    ours = [{"instruction": f"Сұрақ {i}", "output": f"Жауап {i}"} for i in range(80)]
    data = save_jsonl(tmp_path / "ours.jsonl", ours)
    records, info = load_mixture(data, "ours=0.8,general=0.2", seed=0)
    assert info["counts"] == {"ours": 80, "general": 20} and len(records) == 100
    assert [r for r in records if "source" not in r] != ours  # shuffled together
    assert sorted(r["output"] for r in records if "source" not in r) == sorted(r["output"] for r in ours)
    assert info["sources"]["general"]["path"] == str(FLORES_DEV) and info["weights"]["general"] == 0.2
    again, _ = load_mixture(data, "ours=0.8,general=0.2", seed=0)
    other, _ = load_mixture(data, "ours=0.8,general=0.2", seed=1)
    assert again == records and other != records
    alone, alone_info = load_mixture(data, None, seed=0)
    assert alone == ours and set(alone_info["sources"]) == {"ours"}
