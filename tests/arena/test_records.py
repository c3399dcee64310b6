"""Votes in the database become LMArena-schema rows; banned and gold votes are left out."""

from arena.battle_table import prepare_battles
from arena.ratings.leaderboard import build_leaderboard
from arena.records import voted_battle_rows
from db.models import Annotator, Battle, Vote
from db.session import session_scope


def _fill(url):
    with session_scope(url) as s:
        honest = Annotator(username="asel", password_hash="x")
        banned = Annotator(username="troll", password_hash="x", banned=True, ban_reason="random votes")
        s.add_all([honest, banned])
        s.flush()
        for i in range(6):
            gold = i == 5
            b = Battle(model_a="good", model_b="bad", position="b", sampling_prob=0.5, topic="pension", gold=gold,
                       gold_better="model_a" if gold else None, turn=1,
                       conversation_a=[{"role": "user", "content": "Сұрақ"}, {"role": "assistant", "content": "Жауап"}],
                       conversation_b=[{"role": "user", "content": "Сұрақ"}, {"role": "assistant", "content": "?"}])
            s.add(b)
            s.flush()
            s.add(Vote(battle_id=b.id, annotator_id=honest.id, idempotency_key=f"h{i}", winner_content="model_a",
                       winner_language="tie", winner_overall="model_a", winner="model_a"))
            s.add(Vote(battle_id=b.id, annotator_id=banned.id, idempotency_key=f"t{i}", winner_content="model_b",
                       winner_language="model_b", winner="model_b"))


def test_rows_exclude_banned_and_gold_by_default(db_url):
    _fill(db_url)
    with session_scope(db_url) as s:
        rows = list(voted_battle_rows(session=s))
        everything = list(voted_battle_rows(session=s, include_banned=True, include_gold=True))
    assert len(rows) == 5 and len(everything) == 12
    assert {r["winner"] for r in rows} == {"model_a"} and not any(r["banned"] for r in rows)
    r = rows[0]
    assert (r["model_a"], r["model_b"], r["position"], r["topic"], r["sampling_prob"]) == ("good", "bad", "b", "pension", 0.5)
    assert r["conversation_a"][1]["content"] == "Жауап" and r["winner_language"] == "tie"


def test_leaderboard_from_database_rows_ranks_the_honest_winner_first(db_url):
    _fill(db_url)
    with session_scope(db_url) as s:
        rows = list(voted_battle_rows(session=s))
    board = build_leaderboard(prepare_battles(rows, dimension="content"), ci="sandwich")
    assert board.rows[0].model == "good" and board.rows[0].wins == 5
