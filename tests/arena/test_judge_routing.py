"""Tasks in topics where the judge has not earned trust go to people first."""

from types import SimpleNamespace

import numpy as np

from app.services.battles import TRUSTED_TOPICS, _task
from app.services.leaderboard import judge_trusted_topics
from db.models import ConversationTask, JudgeVerdict
from db.session import session_scope
from tests.conftest import make_settings
from tests.eval.test_judge_trust import fill


def _with_language_verdicts(url, n=60):
    """The same verdicts as `fill` gives on content, on the language dimension too (kappa 0.5 on both)."""
    with session_scope(url) as s:
        for v in s.query(JudgeVerdict).filter(JudgeVerdict.dimension == "content").all():
            s.add(JudgeVerdict(battle_id=v.battle_id, item_id=v.item_id, judge_model=v.judge_model, prompt_hash="h",
                               dimension="language", order=v.order, verdict=v.verdict, consistent=True))


def test_trusted_topics_need_the_threshold_on_both_dimensions(sqlite_url):
    with session_scope(sqlite_url) as s:
        assert judge_trusted_topics(session=s, threshold=0.6) is None  # no judge yet: no routing
    fill(sqlite_url)
    with session_scope(sqlite_url) as s:
        assert judge_trusted_topics(session=s, threshold=0.3) == frozenset()  # content only
    _with_language_verdicts(sqlite_url)
    with session_scope(sqlite_url) as s:
        assert judge_trusted_topics(session=s, threshold=0.3) == {"tax"}
        assert judge_trusted_topics(session=s, threshold=0.6) == frozenset()  # kappa 0.5 falls short


def test_untrusted_topics_are_drawn_first(sqlite_url, monkeypatch):
    with session_scope(sqlite_url) as s:
        for i in range(10):
            s.add(ConversationTask(id=f"t{i}", set="govset", topic="tax" if i < 8 else "land", source_id=str(i),
                                   origin="data", messages=[{"role": "user", "content": "Сұрақ"}]))
    monkeypatch.setattr(TRUSTED_TOPICS, "get", lambda runtime, session: frozenset({"tax"}))

    def topics(share):
        runtime = SimpleNamespace(settings=make_settings(sqlite_url, judge_route_share=share),
                                  rng=np.random.default_rng(1), reference_pairs=(), database_url=sqlite_url)
        with session_scope(sqlite_url) as s:
            return [_task(runtime, s).topic for _ in range(60)]

    assert set(topics(1.0)) == {"land"}
    mixed = topics(0.5)
    assert 0.5 < mixed.count("land") / 60 < 0.75  # half routed, the rest uniform: 0.5 + 0.5 * 0.2 = 0.6
    assert topics(0.0).count("land") < 25  # off: uniform over the ten tasks (expected 12)
