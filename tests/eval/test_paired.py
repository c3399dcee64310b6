"""Paired bootstrap of a difference in means, checked against independent computations."""

import itertools

import numpy as np
import pytest

from eval.paired import paired_bootstrap, paired_by_group


def brute_force(a, b, rounds, seed, level=0.95):
    """The same bootstrap, one round at a time in a plain loop."""
    rng = np.random.default_rng(seed)
    d = [x - y for x, y in zip(a, b, strict=True)]
    means = []
    for _ in range(rounds):
        idx = rng.integers(0, len(d), size=len(d))
        means.append(sum(d[i] for i in idx) / len(d))
    return float(np.quantile(means, (1 - level) / 2)), float(np.quantile(means, (1 + level) / 2))


def test_matches_a_brute_force_loop_with_the_same_seed():
    a = [0.9, 0.1, 0.5, 0.7, 0.3, 0.8]
    b = [0.4, 0.2, 0.5, 0.1, 0.6, 0.3]
    r = paired_bootstrap(a, b, rounds=500, seed=7)
    assert (r.ci_low, r.ci_high) == pytest.approx(brute_force(a, b, 500, 7), abs=1e-12)
    assert r.diff == pytest.approx(np.mean(a) - np.mean(b)) and r.n == 6
    assert (r.mean_a, r.mean_b) == pytest.approx((np.mean(a), np.mean(b)))
    assert paired_bootstrap(a, b, rounds=500, seed=7) == r  # seeded: the same answer twice


def test_interval_approaches_the_exact_bootstrap_distribution():
    # n = 4: all 4^4 = 256 resamples are equally likely; their means are the exact bootstrap distribution
    d = np.array([1.0, -2.0, 3.0, 6.0])
    exact = np.sort([d[list(idx)].mean() for idx in itertools.product(range(4), repeat=4)])
    low, high = exact[int(0.025 * 256)], exact[int(0.975 * 256)]
    r = paired_bootstrap(d, np.zeros(4), rounds=40_000, seed=1)
    assert r.ci_low == pytest.approx(low, abs=0.26) and r.ci_high == pytest.approx(high, abs=0.26)


def test_a_constant_shift_gives_exactly_that_shift_with_zero_width():
    b = np.array([0.125, 0.5, 0.75, 0.25, 0.0, 1.0, 0.375])
    r = paired_bootstrap(b + 0.25, b, rounds=300, seed=3)
    assert (r.diff, r.ci_low, r.ci_high) == (0.25, 0.25, 0.25)
    assert r.excludes_zero
    same = paired_bootstrap(b, b, rounds=300)
    assert (same.diff, same.ci_low, same.ci_high) == (0.0, 0.0, 0.0) and not same.excludes_zero


def test_a_clear_improvement_excludes_zero_and_noise_does_not():
    rng = np.random.default_rng(0)
    b = rng.uniform(0, 1, 200)  # items differ a lot in difficulty ...
    a = b + 0.05 + rng.normal(0, 0.02, 200)  # ... but A is better on nearly every one
    r = paired_bootstrap(a, b, seed=0)
    assert r.ci_low > 0 and r.excludes_zero
    noise = paired_bootstrap(b + rng.normal(0, 0.1, 200), b, seed=0)
    assert noise.ci_low < 0 < noise.ci_high and not noise.excludes_zero


def test_groups_are_bootstrapped_on_their_own_items():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    b = np.array([0.0, 1.0, 3.0, 4.0, 4.0])
    sets = ["govset", "govset", "cultset", "cultset", "govset"]
    topics = ["pensions", "tax", "music", None, "tax"]
    out = paired_by_group(a, b, {"set": sets, "topic": topics}, rounds=200, seed=5)
    assert [r.subset for r in out] == [None, "set:cultset", "set:govset", "topic:music", "topic:pensions",
                                       "topic:tax"]
    assert [r.n for r in out] == [5, 2, 3, 1, 1, 2]
    gov = out[2]
    assert gov.diff == pytest.approx(1.0) and (gov.ci_low, gov.ci_high) == (1.0, 1.0)
    assert out[1] == paired_bootstrap(a[[2, 3]], b[[2, 3]], rounds=200, seed=5, subset="set:cultset")


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="one length"):
        paired_bootstrap([1, 2], [1])
    with pytest.raises(ValueError, match="zero items"):
        paired_bootstrap([], [])
    with pytest.raises(ValueError, match="finite"):
        paired_bootstrap([1, float("nan")], [1, 2])
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap([1], [1], level=1.5)
    with pytest.raises(ValueError, match="3 set labels for 2 items"):
        paired_by_group([1, 2], [1, 2], {"set": ["a", "b", "c"]})
