import json
from pathlib import Path

import numpy as np

from arena.gold import corrupt_numbers, make_gold_item
from arena.integrity import identity_leaks

IFT = Path(__file__).resolve().parents[2] / "data" / "ift" / "train.jsonl"


def test_identity_leaks_find_whole_word_model_and_vendor_names():
    assert identity_leaks("Мен Qwen, Alibaba Cloud жасаған модельмін.") == ["qwen", "alibaba"]
    assert identity_leaks("I am Gemma, made by Google DeepMind; Gemma again") == ["gemma", "google", "deepmind"]
    assert identity_leaks("Жеке куәлік ХҚКО-да беріледі.") == []
    assert identity_leaks("qwenish googleplex") == []  # parts of other words do not count


def test_number_corruption_changes_every_number_and_nothing_else():
    rng = np.random.default_rng(1)
    text = "Құжат 10 жұмыс күні ішінде, 2 данада, 16 жастан бастап беріледі."
    bad = corrupt_numbers(text, rng)
    nums = [int(x) for x in __import__("re").findall(r"\d+", bad)]
    assert nums != [10, 2, 16] and all(a != b for a, b in zip(nums, [10, 2, 16], strict=True))
    assert __import__("re").sub(r"\d+", "#", bad) == __import__("re").sub(r"\d+", "#", text)


def test_gold_items_from_the_real_ift_sample():
    pairs = [json.loads(line) for line in IFT.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = np.random.default_rng(0)
    items = [make_gold_item(pairs, i, rng) for i in range(len(pairs))]
    assert {it.corruption for it in items} == {"numbers", "swapped"}
    for it in items:
        assert it.good != it.bad and it.prompt
        if it.corruption == "swapped":
            source_topic = next(p["topic"] for p in pairs if p["id"] == it.item_id)
            assert next(p["topic"] for p in pairs if p["output"] == it.bad) != source_topic
