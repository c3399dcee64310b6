"""Reading and checking battle rows (arena.battle_table)."""

import json

import numpy as np
import pandas as pd
import pytest

from arena.battle_table import A_WINS, B_WINS, TIE, NoBattlesError, prepare_battles, read_battles, topics

ROWS = [
    {"model_a": "x", "model_b": "y", "winner": "model_a", "winner_content": "model_b", "topic": "gov"},
    {"model_a": "y", "model_b": "z", "winner": "tie (bothbad)", "winner_content": None, "topic": "culture"},
    {"model_a": "z", "model_b": "x", "winner": "model_b", "winner_content": "tie", "topic": "gov"},
]


def test_overall_reads_winner_and_encodes_outcomes():
    table = prepare_battles(ROWS)
    assert table.models == ("x", "y", "z")
    assert table.model_a.tolist() == [0, 1, 2]
    assert table.model_b.tolist() == [1, 2, 0]
    assert table.outcome.tolist() == [A_WINS, TIE, B_WINS]
    assert table.weight.tolist() == [1.0, 1.0, 1.0]
    assert table.len_a is None


def test_dimension_picks_its_column_and_skips_rows_without_a_vote():
    table = prepare_battles(ROWS, dimension="content")
    assert table.outcome.tolist() == [B_WINS, TIE]
    assert table.skipped.no_vote == 1


def test_overall_column_falls_back_to_winner_row_by_row():
    rows = [dict(r) for r in ROWS]
    rows[0]["winner_overall"] = "model_b"  # overrides `winner` for this row only
    table = prepare_battles(rows, dimension="overall")
    assert table.outcome.tolist() == [B_WINS, TIE, B_WINS]


def test_topic_filter_and_topic_list():
    assert topics(ROWS) == ["culture", "gov"]
    table = prepare_battles(ROWS, topic="gov")
    assert table.n_battles == 2 and table.skipped.other_topic == 1
    with pytest.raises(ValueError, match="topics present"):
        prepare_battles(ROWS, topic="sport")


def test_unknown_label_names_the_row_or_is_dropped_with_a_count():
    rows = ROWS + [{"model_a": "x", "model_b": "z", "winner": "left", "question_id": "q9"}]
    with pytest.raises(ValueError, match=r"row 3 \(question_id=q9\).*unknown winner label 'left'"):
        prepare_battles(rows)
    table = prepare_battles(rows, drop_invalid=True)
    assert table.n_battles == 3 and table.skipped.invalid == 1


def test_self_battle_is_an_error_naming_the_row():
    rows = ROWS + [{"model_a": "x", "model_b": "x", "winner": "tie"}]
    with pytest.raises(ValueError, match="row 3: model 'x' battles itself"):
        prepare_battles(rows)
    assert prepare_battles(rows, drop_invalid=True).skipped.invalid == 1


def test_empty_input_and_unknown_dimension_are_clear_errors():
    with pytest.raises(ValueError, match="no battle rows"):
        prepare_battles([])
    with pytest.raises(ValueError, match="unknown dimension 'style'"):
        prepare_battles(ROWS, dimension="style")
    with pytest.raises(ValueError, match="no 'winner_language' column"):
        prepare_battles(ROWS, dimension="language")
    with pytest.raises(NoBattlesError):
        prepare_battles([{"model_a": "x", "model_b": "y", "winner": None}])
    with pytest.raises(ValueError, match="required column"):
        prepare_battles([{"model_a": "x", "winner": "tie"}])


def test_ipw_weights_are_inverse_probabilities_scaled_to_mean_one():
    rows = [dict(r, sampling_prob=p) for r, p in zip(ROWS, [0.5, 0.25, 0.25], strict=True)]
    table = prepare_battles(rows, ipw=True)
    np.testing.assert_allclose(table.weight, np.array([2.0, 4.0, 4.0]) / (10.0 / 3.0))
    assert table.ipw
    with pytest.raises(ValueError, match="sampling_prob must be in"):
        prepare_battles([dict(rows[0], sampling_prob=0.0)], ipw=True)
    with pytest.raises(ValueError, match="needs a 'sampling_prob' column"):
        prepare_battles(ROWS, ipw=True)


def test_lengths_come_from_conversations_assistant_turns_only():
    conv_a = [{"role": "user", "content": "Сәлем"}, {"role": "assistant", "content": "Сәлеметсіз бе!"}]
    conv_b = [{"role": "user", "content": "Сәлем"}, {"role": "assistant", "content": [{"type": "text", "text": "Сәлем"}]}]
    table = prepare_battles([{"model_a": "x", "model_b": "y", "winner": "tie", "conversation_a": conv_a, "conversation_b": conv_b}])
    assert table.len_a.tolist() == [len("Сәлеметсіз бе!")]
    assert table.len_b.tolist() == [len("Сәлем")]


def test_jsonl_and_parquet_files_round_trip(tmp_path):
    jsonl = tmp_path / "battles.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS), encoding="utf-8")
    parquet = tmp_path / "battles.parquet"
    pd.DataFrame(ROWS).to_parquet(parquet)
    for path in (jsonl, parquet):
        table = prepare_battles(read_battles(path), dimension="content")
        assert table.outcome.tolist() == [B_WINS, TIE]
    with pytest.raises(ValueError, match="not found"):
        read_battles(tmp_path / "missing.jsonl")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(ValueError, match="not a readable parquet"):
        read_battles(tmp_path / "broken.parquet")
    (tmp_path / "b.csv").write_text("model_a,model_b,winner\n")
    with pytest.raises(ValueError, match="unsupported battles format"):
        read_battles(tmp_path / "b.csv")
