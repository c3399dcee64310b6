import numpy as np
import pytest

from arena.protocol import VoteError, resolve
from arena.sampler import draw_pair, pair_probabilities


def test_pair_probabilities_follow_weights_and_balance():
    probs = pair_probabilities(["a", "b", "c"], weights={"a": 2.0}, votes={frozenset(("b", "c")): 3})
    # raw: ab=2, ac=2, bc=1/4 -> total 4.25
    assert probs[("a", "b")] == pytest.approx(2 / 4.25) and probs[("b", "c")] == pytest.approx(0.25 / 4.25)
    assert sum(probs.values()) == pytest.approx(1.0)
    flat = pair_probabilities(["a", "b", "c"], votes={frozenset(("b", "c")): 3}, balance=0)
    assert set(np.round(list(flat.values()), 6)) == {round(1 / 3, 6)}


def test_draw_frequencies_match_probabilities_and_exclusions_are_respected():
    probs = pair_probabilities(["a", "b", "c", "d"], weights={"d": 3.0})
    rng = np.random.default_rng(0)
    draws = [draw_pair(probs, rng) for _ in range(6000)]
    for pair, p in probs.items():
        freq = np.mean([(d.model_a, d.model_b) == pair for d in draws])
        assert abs(freq - p) < 0.025
        assert all(d.probability == pytest.approx(p) for d in draws if (d.model_a, d.model_b) == pair)
    assert 0.45 < np.mean([d.left_is_a for d in draws]) < 0.55
    replaced = [draw_pair(probs, rng, exclude=frozenset({"d"})) for _ in range(200)]
    assert all("d" not in (r.model_a, r.model_b) for r in replaced)
    assert replaced[0].probability == pytest.approx(1 / 3)  # renormalised over a, b, c


def test_sampler_refuses_impossible_requests():
    with pytest.raises(ValueError, match="at least two"):
        pair_probabilities(["only"])
    with pytest.raises(ValueError, match="no pair"):
        draw_pair(pair_probabilities(["a", "b"]), np.random.default_rng(0), exclude=frozenset({"a"}))


@pytest.mark.parametrize(
    ("content", "language", "overall", "both_bad", "left_is_a", "winner", "decided_by"),
    [
        ("left", "left", None, False, True, "model_a", "content+language"),
        ("left", "left", None, False, False, "model_b", "content+language"),  # B was shown on the left
        ("tie", "tie", None, False, True, "tie", "tie"),
        ("tie", "right", None, False, True, "model_b", "content+language"),
        ("left", "tie", None, False, True, "model_a", "content+language"),
        ("left", "right", "right", False, True, "model_b", "overall"),
        ("left", "right", "tie", False, True, "tie", "overall"),
        ("left", "left", None, True, True, "tie (bothbad)", "bothbad"),
    ],
)
def test_basque_protocol(content, language, overall, both_bad, left_is_a, winner, decided_by):
    v = resolve(content, language, overall, both_bad, left_is_a)
    assert (v.winner, v.decided_by) == (winner, decided_by)


def test_disagreement_without_overall_and_bad_labels_are_refused():
    with pytest.raises(VoteError, match="overall") as e:
        resolve("left", "right", None, False, True)
    assert e.value.code == "overall_required"
    with pytest.raises(VoteError):
        resolve("A", "left", None, False, True)
