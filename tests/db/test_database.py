"""The schema on real SQLite and real PostgreSQL: migrations, constraints, durability."""

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from db.migrate import current, downgrade, upgrade
from db.models import Annotator, Battle, Vote
from db.session import get_engine, session_scope

TABLES = {"api_keys", "generations", "annotators", "battles", "messages", "votes", "judge_verdicts",
          "annotator_sessions", "conversation_tasks", "eval_results", "annotator_flag_reviews", "export_secret",
          "contestant_events"}


def test_migrations_create_every_table_and_round_trip(db_url):
    assert current(db_url) == "0008"
    assert TABLES <= set(inspect(get_engine(db_url)).get_table_names())
    # 0005 dropped what nothing used: the models table and the battle columns of messages
    assert "models" not in inspect(get_engine(db_url)).get_table_names()
    assert {c["name"] for c in inspect(get_engine(db_url)).get_columns("messages")}.isdisjoint({"battle_id", "side"})
    downgrade(db_url, "0004")
    assert "models" in inspect(get_engine(db_url)).get_table_names()
    upgrade(db_url)
    downgrade(db_url, "base")
    assert not TABLES & set(inspect(get_engine(db_url)).get_table_names())
    upgrade(db_url)
    assert TABLES <= set(inspect(get_engine(db_url)).get_table_names())


def _battle_and_annotator(url):
    with session_scope(url) as s:
        a = Annotator(username="aigerim", password_hash="x", proficiency="native")
        b = Battle(model_a="m1", model_b="m2", conversation_a=[{"role": "user", "content": "Сәлем"}])
        s.add_all([a, b])
        s.flush()
        return a.id, b.id


def test_one_vote_per_battle_per_annotator_is_enforced_by_the_database(db_url):
    annotator, battle = _battle_and_annotator(db_url)
    vote = dict(battle_id=battle, annotator_id=annotator, winner_content="model_a", winner_language="tie",
                winner="model_a")
    with session_scope(db_url) as s:
        s.add(Vote(idempotency_key="k1", **vote))
    with pytest.raises(IntegrityError), session_scope(db_url) as s:
        s.add(Vote(idempotency_key="k2", **vote))
    with session_scope(db_url) as s:
        votes = s.scalars(select(Vote)).all()
        assert len(votes) == 1 and votes[0].idempotency_key == "k1"  # the failed insert left nothing


def test_foreign_keys_are_enforced(db_url):
    with pytest.raises(IntegrityError), session_scope(db_url) as s:
        s.add(Vote(battle_id="missing", annotator_id=999, idempotency_key="k", winner_content="tie",
                   winner_language="tie", winner="tie"))


def test_json_conversations_round_trip_kazakh_text(db_url):
    _, battle = _battle_and_annotator(db_url)
    with session_scope(db_url) as s:
        row = s.get(Battle, battle)
        assert row.conversation_a == [{"role": "user", "content": "Сәлем"}]


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url):
    with get_engine(sqlite_url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_later_migrations_apply_to_a_database_that_already_has_rows(db_url):
    downgrade(db_url, "0002")
    with get_engine(db_url).begin() as conn:
        conn.exec_driver_sql("INSERT INTO battles (id, created_at, mode, model_a, model_b, position, conversation_a, "
                             "conversation_b, params_a, params_b, revision_a, revision_b, turn, state, gold, flagged, timings) "
                             "VALUES ('old', CURRENT_TIMESTAMP, 'prompt', 'a', 'b', 'a', '[]', '[]', '{}', '{}', '', '', 1, "
                             "'voted', false, false, '{}')")
    upgrade(db_url)
    with session_scope(db_url) as s:
        old = s.get(Battle, "old")
        assert old.identity_leak is False and old.events == []


def test_the_migrations_build_exactly_the_schema_of_the_models(db_url):
    """Alembic's autogenerate finds nothing to add: a model changed without a migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from db.models import Base

    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
