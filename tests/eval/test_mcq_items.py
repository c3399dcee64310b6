"""MCQ loaders on the real rows in ../shared/data: local JSONL, the Hub schemas, and the Hub code path."""

import json

import pytest

from db.paths import SHARED_DATA
from eval.mcq import HUB_DATASETS, DatasetUnavailable, HubDataset, item_from_row, load_mcq
from eval.mcq.items import load_hub, resolve_hub

SAMPLES = SHARED_DATA / "hf_schema_samples"
UNT10 = SHARED_DATA / "unt_mcq" / "human_society_rights_10.jsonl"


def test_local_jsonl_keeps_the_zero_based_answer_and_subject():
    ds = load_mcq(str(UNT10))
    raw = [json.loads(line) for line in UNT10.read_text(encoding="utf-8").splitlines()]
    assert len(ds) == 10 and ds.name == "human_society_rights_10"
    for item, row in zip(ds.items, raw, strict=True):
        assert item.id == row["id"] and item.question == row["question"]
        assert item.choices == tuple(row["choices"]) and item.answer == row["answer"]
        assert item.subject == "human_society_rights"  # from provenance.subject
    assert ds.items[0].choices[ds.items[0].answer] == "мәдени дәстүр"
    assert len(load_mcq(str(UNT10), limit=3)) == 3


def test_constitution_schema():
    (item,) = load_mcq(str(SAMPLES / "kazakh_constitution_mc.sample.jsonl")).items
    assert item.question == "Қазақстан Республикасы өзін қандай мемлекет ретінде орнықтырады?"
    assert item.choices == ("Автократиялық", "Демократиялық, зайырлы, құқықтық және әлеуметтік", "Тоталитарлық",
                            "Монархиялық")
    assert item.answer == 1  # "Correct Answer": "B"
    assert item.subject == "I бөлім ЖАЛПЫ ЕРЕЖЕЛЕР"  # the Title: the constitution's section


def test_unt_schema_drops_null_options_and_maps_letters():
    items = load_mcq(str(SAMPLES / "kazakh_unt_mc_kazakh_and_literature.sample.jsonl")).items
    assert len(items) == 6
    assert all(len(i.choices) == 5 for i in items)  # A..E filled, F..H null
    assert [i.answer for i in items] == [3, 3, 0, 3, 1, 4]  # D D A D B E
    assert items[5].choices[items[5].answer] == "Ш. Уәлиханов."
    assert {i.subject for i in items} == {"kazakh"}


def test_kazmmlu_csv_schema_with_empty_fifth_option():
    items = load_mcq(str(SAMPLES / "kazmmlu_kazakh_history_dev.sample.csv")).items
    assert [i.id for i in items] == ["8589", "8590", "8591"]
    assert [len(i.choices) for i in items] == [4, 5, 4]  # Option E empty in rows 1 and 3
    assert [i.answer for i in items] == [2, 0, 3]  # C A D
    assert items[2].choices[3] == "Н.Назарбаев" and items[0].subject == "Kazakh_History"


def test_string_none_options_and_gaps_are_dropped():
    row = {"subject": "x", "question": "Q?", "correct_answer": "D", "A": "a", "B": "None", "C": None, "D": "d",
           "E": "", "F": None, "G": None, "H": None}
    item = item_from_row(row, "row", "id0")
    assert item.choices == ("a", "d") and item.answer == 1


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"question": "Q", "choices": ["a", "b"], "answer": 2}, "0-based index below 2"),
        ({"question": "Q", "choices": ["a", "b"], "answer": "B"}, "0-based index"),
        ({"question": "Q", "choices": ["a"], "answer": 0}, "at least 2"),
        ({"question": "", "choices": ["a", "b"], "answer": 0}, "empty question"),
        ({"Question": "Q", "Correct Answer": "E", "Option A": "a", "Option B": "b"}, "not one of the non-empty"),
        ({"subject": "s", "question": "Q", "correct_answer": "B", "A": "a", "B": None}, "not one of the non-empty"),
        ({"prompt": "Q", "label": 1}, "unknown multiple-choice schema"),
    ],
)
def test_bad_rows_are_refused_with_the_row_named(row, message):
    with pytest.raises(ValueError, match=message):
        item_from_row(row, "file.jsonl row 7", "id")
    with pytest.raises(ValueError, match="file.jsonl row 7"):
        item_from_row(row, "file.jsonl row 7", "id")


def test_dataset_names_resolve_to_hub_ids_splits_and_configs():
    assert resolve_hub("constitution").path == "kz-transformers/kazakh-constitution-mc"
    assert resolve_hub("dastur").path == "kz-transformers/kazakh-dastur-mc"
    hsr = resolve_hub("unt-human-society-rights")
    assert (hsr.path, hsr.split) == ("kz-transformers/kazakh-unified-national-testing-mc", "human_society_rights")
    assert resolve_hub("unt").split is None  # every subject
    assert resolve_hub("unt:kazakh_and_literature").split == "kazakh_and_literature"
    kaz = resolve_hub("kazmmlu:Kazakh History (High School in kaz)")
    assert (kaz.path, kaz.config, kaz.split, kaz.language) == (
        "MBZUAI/KazMMLU", "Kazakh History (High School in kaz)", "test", "Kazakh")
    assert resolve_hub("someone/some-mc").path == "someone/some-mc"
    assert resolve_hub("nonsense") is None
    assert set(HUB_DATASETS) >= {"dastur", "constitution", "unt", "unt-human-society-rights", "kazmmlu"}


def test_hub_code_path_through_datasets_load_dataset(tmp_path):
    """The real ``datasets.load_dataset`` on a local folder laid out like the Hub repos."""
    repo = tmp_path / "unt-mc"
    repo.mkdir()
    unt = (SAMPLES / "kazakh_unt_mc_kazakh_and_literature.sample.jsonl").read_text(encoding="utf-8").splitlines()
    (repo / "test.jsonl").write_text("\n".join(unt[:4]) + "\n", encoding="utf-8")
    (repo / "train.jsonl").write_text("\n".join(unt[4:]) + "\n", encoding="utf-8")
    test_only = load_hub(HubDataset(str(repo), split="test"), "unt")
    every = load_hub(HubDataset(str(repo), split=None), "unt")
    assert len(test_only) == 4 and len(every) == 6
    assert {i.question for i in every} == {json.loads(line)["question"] for line in unt}

    kaz = tmp_path / "kazmmlu"
    kaz.mkdir()
    csv_text = (SAMPLES / "kazmmlu_kazakh_history_dev.sample.csv").read_text(encoding="utf-8")
    lines = csv_text.splitlines()
    russian = lines[1].replace(",Kazakh", ",Russian").replace("8589", "9999")
    (kaz / "test.csv").write_text("\n".join([*lines, russian]) + "\n", encoding="utf-8")
    items = load_hub(HubDataset(str(kaz), language="Kazakh"), "kazmmlu")
    assert [i.id for i in items] == ["8589", "8590", "8591"]  # the Russian row is left out


def test_unreachable_dataset_says_what_to_do(tmp_path):
    with pytest.raises(DatasetUnavailable, match="unknown dataset"):
        load_mcq("no-such-benchmark")
    with pytest.raises(DatasetUnavailable, match="no such file"):
        load_mcq(str(tmp_path / "missing.jsonl"))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(DatasetUnavailable, match="no items"):
        load_mcq(str(empty))
