"""The research export on SQLite and PostgreSQL: every config loads with `datasets`, nothing
personal survives, exclusions and flags, hashing, windows, determinism, incremental writing."""

import json

import datasets
import pyarrow.parquet as pq
import pytest
import yaml

from arena.export import ExportOptions, export_dataset
from arena.export.schema import CONFIGS
from db.session import session_scope
from eval.langid import detect_language
from tests.utils.export_data import (
    ANSWER_B,
    PROMPT,
    expected_judge,
    fill,
    folder_files,
    leaks,
)

SALT = "test-salt-7f3a-91c2-e5d0"
SCRUBBED_PROMPT = "Сәлеметсіз бе! Менің ЖСН-ім [IIN], телефоным [PHONE]. Зейнетақыны қалай алуға болады?"
SCRUBBED_ANSWER_A = "Зейнетақы туралы ақпаратты [EMAIL] мекенжайына жазыңыз немесе eGov порталына кіріңіз."


def run(url, out, salt=SALT, **options):
    with session_scope(url) as session:
        return export_dataset(session=session, out_dir=out, options=ExportOptions(**options), salt=salt,
                              language_of=detect_language)


def load(out, config, cache):
    return datasets.load_dataset(str(out), config, split="train", cache_dir=str(cache)).to_list()


def test_every_config_round_trips_through_load_dataset(db_url, tmp_path):
    filled = fill(db_url)
    asel = filled.annotator_ids["asel_nurlankyzy"]
    out = tmp_path / "export"
    summary = run(db_url, out)
    assert summary.counts == {"battles": 3, "votes": 3, "turn_feedback": 1, "judgments": 3, "annotators": 1, "dpo": 2,
                              "contestants": 3, "contestant_events": 6}
    rows = {name: load(out, name, tmp_path / "hf") for name in CONFIGS}
    assert {name: len(r) for name, r in rows.items()} == summary.counts
    for name, spec in CONFIGS.items():
        assert list(rows[name][0]) == list(spec.names), name

    b1, b2, b3 = rows["battles"]
    assert {b["vote_id"] for b in rows["battles"]} == filled.default_votes
    assert b1["conversation_a"] == [{"role": "user", "content": SCRUBBED_PROMPT},
                                    {"role": "assistant", "content": SCRUBBED_ANSWER_A}]
    assert b1["conversation_b"][1]["content"] == ANSWER_B  # years and tenge amounts are not personal
    assert (b1["model_a"], b1["model_b"], b1["winner"], b1["winner_content"], b1["winner_language"]) == (
        "kaz-7b", "qwen-0.5b", "model_a", "model_a", "tie")
    assert (b1["judge"], b1["turn"], b1["anony"], b1["language"], b1["position"], b1["sampling_prob"]) == (
        expected_judge(SALT, asel), 1, True, "kk-cyrl", "b", 0.25)
    assert (b1["model_a_revision"], b1["model_b_revision"], b1["topic"], b1["tstamp"]) == ("r1", "r2", "pension", 1772366400.0)
    assert json.loads(b1["sampling_params_a"]) == {"stop": ["write to [EMAIL]"], "temperature": 0.9, "top_p": 0.95}
    assert (b2["mode"], b2["source_set"], b2["winner"]) == ("continuation", "cultset", "tie")
    assert (b3["turn"], b3["winner_overall"], b3["decided_by"]) == (2, "model_b", "overall")
    assert "[ID_CARD] жеке куәлік" in b3["conversation_a"][2]["content"]
    assert not any(b["gold"] or b["flagged"] for b in rows["battles"])

    v1 = rows["votes"][0]
    assert v1["comment"] == "А жауабы жақсы. Менің картам [CARD], паспорт [PASSPORT] — оны жазбаңыздар."
    assert (v1["consent_version"], v1["seconds_to_vote"], v1["judge"]) == ("2026-11-v1", 12.5, b1["judge"])

    (fb,) = rows["turn_feedback"]
    assert fb["prompt"] == "Жеке куәлігімнің нөмірі [ID_CARD], оны қалай ауыстырамын?"
    assert (fb["feedback"], fb["feedback_reason"]) == (-1, "маған [PHONE] нөміріне хабарласыңыз")
    assert fb["conversation_id"] == expected_judge(SALT, "conversation:chat-1") and "question_id" not in fb
    assert json.loads(fb["sources"]) == [{"id": "gov-12", "title": "Жеке куәлік алу"}]

    judged = rows["judgments"]
    assert [(j["order"], j["verdict"], j["model_a"]) for j in judged] == [
        ("ab", "model_a", "kaz-7b"), ("ba", "model_a", "kaz-7b"), ("ab", "tie", None)]
    assert judged[0]["raw_text"] == "Бірінші жауап жақсы ([EMAIL] көрсетілген). [[1]]"
    assert judged[0]["prompt_hash"] == "p" * 64 and judged[2]["item_id"] == "ift-3"

    (person,) = rows["annotators"]
    assert person == {"judge": expected_judge(SALT, asel), "proficiency": "native", "education": "магистр",
                      "region": "Алматы, тел. [PHONE]", "script": "cyrillic", "consent_version": "2026-11-v1",
                      "n_votes": 3}

    single, multi = rows["dpo"]
    assert single["prompt"] == [{"role": "user", "content": SCRUBBED_PROMPT}]
    assert single["chosen"] == [{"role": "assistant", "content": SCRUBBED_ANSWER_A}]
    assert single["rejected"] == [{"role": "assistant", "content": ANSWER_B}]
    assert (single["chosen_model"], single["rejected_model"], single["decided_by"]) == ("kaz-7b", "qwen-0.5b", "content")
    assert (multi["chosen_model"], multi["decided_by"], len(multi["chosen"]), len(multi["prompt"])) == (
        "qwen-0.5b", "overall", 3, 1)
    assert multi["chosen"][-1]["content"] == "Қайталап жіберіңіз."

    # The ledger covers the whole database (gold, flagged and banned votes count too), whatever the selection.
    kaz, old, qwen = rows["contestants"]
    day = 86400.0
    assert kaz == {"model": "kaz-7b", "kind": "instruct", "revision": "rev-2", "source": "packaged:kaz-7b",
                   "served": True, "arena_weight": 1.0, "added_tstamp": 1772366400.0 - day / 4,
                   "changed_tstamp": 1772366400.0 + 1.75 * day, "retired_tstamp": None,
                   "revision_tstamp": 1772366400.0 + 1.75 * day, "n_revisions": 2,
                   "weight_history": [{"tstamp": 1772366400.0 - day / 4, "arena_weight": 1.0}],
                   "n_battles": 6, "n_votes": 6, "n_votes_current_revision": 4}  # battles of days 3 to 6
    assert (old["served"], old["retired_tstamp"], old["arena_weight"], old["n_votes"]) == (
        False, 1772366400.0 + 3 * day, 0.0, 0)
    assert [w["arena_weight"] for w in old["weight_history"]] == [1.0, 0.0]
    assert [(w["tstamp"], w["arena_weight"]) for w in qwen["weight_history"]] == [
        (1772366400.0 - day / 4, 1.0), (1772366400.0 + 0.75 * day, 2.0)]
    assert (qwen["n_votes_current_revision"], qwen["changed_tstamp"]) == (6, None)
    events = rows["contestant_events"]
    assert [(e["model"], e["event"]) for e in events] == [
        ("kaz-7b", "added"), ("qwen-0.5b", "added"), ("old-model", "added"), ("qwen-0.5b", "weight"),
        ("kaz-7b", "changed"), ("old-model", "retired")]
    assert json.loads(events[4]["settings"]) == {"pipeline": "plain", "system_prompt": "Сұрақтарды [EMAIL] жібер"}

    # Every replacement counted once, where it was found (DPO reuses scrubbed battles).
    assert summary.pii == {"email": 8, "iban": 0, "card": 1, "iin": 4, "phone": 6, "passport": 1, "id_card": 3,
                           "name": 0}


def test_nothing_personal_survives_in_any_file(db_url, tmp_path):
    fill(db_url)
    out = tmp_path / "all"
    summary = run(db_url, out, fmt="both", include_banned=True, include_gold=True, include_flagged=True)
    files = folder_files(out)
    assert set(files) == {*(f"{c}/train.{ext}" for c in CONFIGS for ext in ("parquet", "jsonl")), "README.md"}
    assert summary.counts["votes"] == 6  # everything, the banned voter's comment with an e-mail included
    assert leaks(files) == []
    assert leaks(files, (SALT, "random clicks")) == []  # nor the salt, nor the ban reason
    columns = {name for config in CONFIGS for name in pq.read_schema(out / f"{config}/train.parquet").names}
    assert not columns & {"username", "password_hash", "email", "ip", "ban_reason", "annotator_id", "annotator"}
    assert leaks({"raw": PROMPT.encode()}) != []  # the scanner itself does find planted data


@pytest.mark.parametrize("flag", ["", "include_gold", "include_flagged", "include_banned"])
def test_banned_gold_and_flagged_are_excluded_by_default_and_included_with_flags(db_url, tmp_path, flag):
    filled = fill(db_url)
    extra = {"": set(), "include_gold": {filled.gold_vote}, "include_flagged": {filled.flagged_vote},
             "include_banned": {filled.banned_vote}}[flag]
    out = tmp_path / "x"
    run(db_url, out, **({flag: True} if flag else {}))
    votes = pq.read_table(out / "votes/train.parquet").to_pylist()
    battles = pq.read_table(out / "battles/train.parquet").to_pylist()
    assert {v["vote_id"] for v in votes} == {b["vote_id"] for b in battles} == set(filled.default_votes) | extra
    annotators = pq.read_table(out / "annotators/train.parquet").column("judge").to_pylist()
    bolat = expected_judge(SALT, filled.annotator_ids["bolat.troll"])
    assert (bolat in annotators) == (flag == "include_banned")
    judged = pq.read_table(out / "judgments/train.parquet").num_rows
    assert judged == (4 if flag == "include_gold" else 3)
    gold_rows = [b for b in battles if b["gold"]]
    assert [b["gold_better"] for b in gold_rows] == (["model_a"] if flag == "include_gold" else [])


def test_same_database_and_salt_give_identical_bytes_and_salt_changes_hashes(sqlite_url, tmp_path):
    filled = fill(sqlite_url)
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    run(sqlite_url, first, fmt="both")
    run(sqlite_url, second, fmt="both")
    assert folder_files(first) == folder_files(second)
    run(sqlite_url, other, fmt="both", salt="another-salt-48b1-d9e3")
    judges = {p: set(pq.read_table(p / "votes/train.parquet").column("judge").to_pylist()) for p in (first, other)}
    asel = filled.annotator_ids["asel_nurlankyzy"]
    assert judges[first] == {expected_judge(SALT, asel)}
    assert judges[other] == {expected_judge("another-salt-48b1-d9e3", asel)} != judges[first]


def test_window_and_model_filters(sqlite_url, tmp_path):
    fill(sqlite_url)
    day2 = run(sqlite_url, tmp_path / "d2", since=_utc("2026-03-02"), until=_utc("2026-03-03"))
    assert day2.counts == {"battles": 1, "votes": 1, "turn_feedback": 0, "judgments": 0, "annotators": 1, "dpo": 0,
                           "contestants": 3, "contestant_events": 6}  # the ledger is never windowed
    later = run(sqlite_url, tmp_path / "late", since=_utc("2026-03-07"))
    assert (later.counts["votes"], later.counts["turn_feedback"], later.counts["judgments"]) == (0, 1, 3)
    assert run(sqlite_url, tmp_path / "one", models=("kaz-7b",)).counts["votes"] == 0  # both models must be listed
    both = run(sqlite_url, tmp_path / "two", models=("kaz-7b", "qwen-0.5b"))
    assert (both.counts["votes"], both.counts["turn_feedback"], both.counts["judgments"]) == (3, 0, 2)


def test_parquet_is_written_in_row_groups_and_jsonl_loads_the_same_rows(sqlite_url, tmp_path):
    fill(sqlite_url)
    run(sqlite_url, tmp_path / "pq", row_group_size=2)
    assert pq.ParquetFile(tmp_path / "pq/battles/train.parquet").metadata.num_row_groups == 2  # 2 + 1 rows
    run(sqlite_url, tmp_path / "js", fmt="jsonl")
    for config in ("battles", "dpo", "votes"):
        assert load(tmp_path / "js", config, tmp_path / "hf") == load(tmp_path / "pq", config, tmp_path / "hf")


def test_card_lists_configs_counts_licence_consent_and_pii(sqlite_url, tmp_path):
    fill(sqlite_url)
    out = tmp_path / "card"
    summary = run(sqlite_url, out)
    text = (out / "README.md").read_text(encoding="utf-8")
    _, meta, body = text.split("---\n", 2)
    front = yaml.safe_load(meta)
    assert front["license"] == "cc-by-4.0"
    assert [c["config_name"] for c in front["configs"]] == list(CONFIGS)
    for config in front["configs"]:
        (files,) = config["data_files"]
        assert (out / files["path"]).is_file() and files["split"] == "train"
    assert "| `battles` | 3 |" in body and "| `dpo` | 2 |" in body
    assert "| `contestants` | 3 |" in body and "| `contestant_events` | 6 |" in body
    assert "## Contestant ledger" in body and "whatever the selection" in body
    assert "Votes from 2026-03-01 12:00:00 UTC to 2026-03-03 12:00:00 UTC" in body
    assert "CC BY-SA 4.0" in body and "1 battle rows in this export" in body
    assert "- `2026-11-v1`: 3" in body
    assert "| `[IIN]` | 4 |" in body and "| `[PHONE]` | 6 |" in body and "| `[ID_CARD]` | 3 |" in body
    assert f"key id `{summary.key_id}`" in body and SALT not in text


def test_an_empty_database_gives_typed_empty_files_and_says_so(sqlite_url, tmp_path):
    summary = run(sqlite_url, tmp_path / "empty")
    assert set(summary.counts.values()) == {0}
    for name, spec in CONFIGS.items():
        table = pq.read_table(tmp_path / "empty" / f"{name}/train.parquet")
        assert table.num_rows == 0 and table.schema.names == list(spec.names)
    card = (tmp_path / "empty/README.md").read_text(encoding="utf-8")
    assert "No votes in this export." in card and "cannot load an empty split" in card


def _utc(day):
    from arena.export import parse_bound

    return parse_bound(day)
