"""The arena's active policy: votes in the database become the pair counts the active sampler reads."""

import numpy as np
import pytest

from app.services.battles import _voted_pairs
from arena.active_sampler import active_pair_probabilities
from arena.battle_table import A_WINS, B_WINS, TIE
from arena.ratings.pairs import PairCounts
from db.models import Vote
from db.session import session_scope
from tests.conftest import make_settings
from tests.utils.arena import annotator, ready_battle


def _vote(url, battle_id, annotator_id, winner):
    with session_scope(url) as s:
        s.add(Vote(battle_id=battle_id, annotator_id=annotator_id, idempotency_key=f"{battle_id}-{annotator_id}",
                   winner_content="tie", winner_language="tie", winner=winner))


def test_votes_become_pair_counts_and_gold_is_left_out(sqlite_url):
    who, _ = annotator(sqlite_url)
    plan = [("m1", "m2", "model_a")] * 3 + [("m2", "m3", "model_b")] * 2 + [("m1", "m3", "tie (bothbad)")]
    for a, b, winner in plan:
        _vote(sqlite_url, ready_battle(sqlite_url, who, model_a=a, model_b=b, state="voted"), who, winner)
    _vote(sqlite_url, ready_battle(sqlite_url, who, model_a="m3", model_b="m1", state="voted", gold=True), who, "model_a")
    _vote(sqlite_url, ready_battle(sqlite_url, who, model_a="m1", model_b="retired", state="voted"), who, "model_a")
    with session_scope(sqlite_url) as s:
        pairs = _voted_pairs(s, ["m3", "m1", "m2"])
        assert _voted_pairs(s, ["nobody", "else"]) is None
    expected = PairCounts.from_arrays(("m1", "m2", "m3"), np.array([0, 0, 0, 1, 1, 0]), np.array([1, 1, 1, 2, 2, 2]),
                                      np.array([A_WINS] * 3 + [B_WINS] * 2 + [TIE]))
    assert pairs.models == expected.models
    np.testing.assert_array_equal(pairs.win_matrix(), expected.win_matrix())
    # What the arena draws from under the active policy:
    probs = active_pair_probabilities(["m1", "m2", "m3"], pairs, floor=0.2)
    assert sum(probs.values()) == pytest.approx(1.0) and min(probs.values()) >= 0.2 / 3 - 1e-12


def test_the_policy_is_a_setting_with_a_checked_floor(sqlite_url):
    assert make_settings(sqlite_url).arena_policy == "balanced"
    assert make_settings(sqlite_url, arena_policy="active").arena_active_floor == 0.2
    with pytest.raises(ValueError, match="arena_policy"):
        make_settings(sqlite_url, arena_policy="greedy")
    with pytest.raises(ValueError, match="arena_active_floor"):
        make_settings(sqlite_url, arena_policy="active", arena_active_floor=0.0)


def test_the_draw_follows_the_configured_policy(sqlite_url):
    """_draw with a stand-in for the model manager (our own collaborator): the stored probability is the policy's."""
    from types import SimpleNamespace

    from app.services.battles import _draw

    who, _ = annotator(sqlite_url)
    for _ in range(12):
        _vote(sqlite_url, ready_battle(sqlite_url, who, model_a="m1", model_b="m2", state="voted"), who, "model_a")
    _vote(sqlite_url, ready_battle(sqlite_url, who, model_a="m2", model_b="m3", state="voted"), who, "model_b")
    manager = SimpleNamespace(contestants={m: SimpleNamespace(arena_weight=1.0) for m in ("m1", "m2", "m3")},
                              resolve=lambda name: None)
    for policy in ("active", "balanced"):
        runtime = SimpleNamespace(manager=manager, rng=np.random.default_rng(0),
                                  settings=make_settings(sqlite_url, arena_policy=policy))
        with session_scope(sqlite_url) as s:
            draw = _draw(runtime, s)
            pairs = _voted_pairs(s, ["m1", "m2", "m3"])
        if policy == "active":
            expected = active_pair_probabilities(["m1", "m2", "m3"], pairs, floor=0.2)
        else:  # 1 / (1 + votes): m1-m2 has 12, m2-m3 one, m1-m3 none
            raw = {("m1", "m2"): 1 / 13, ("m1", "m3"): 1.0, ("m2", "m3"): 1 / 2}
            expected = {k: v / sum(raw.values()) for k, v in raw.items()}
        assert draw.probability == pytest.approx(expected[(draw.model_a, draw.model_b)])
