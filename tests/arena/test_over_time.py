"""Ratings over time and the change alarm, on simulated weeks with known strengths."""

import io
from dataclasses import dataclass, replace

import numpy as np
import pytest
from scipy import stats

from arena.ratings.bradley_terry import ELO_PER_NAT, fit_bradley_terry, to_ratings
from arena.ratings.over_time import change_alarms, change_tests, ratings_over_time
from arena.ratings.pairs import PairCounts
from arena.ratings.plot import plot_ratings_over_time
from arena.ratings.sandwich import bradley_terry_covariance
from arena.ratings.simulate import simulate_battles

MODELS = ("a", "b", "c", "d", "e")
THETA = np.array([-0.6, -0.2, 0.0, 0.3, 0.5])
MONDAY = np.datetime64("2024-01-01T00:00:00", "s")  # the first day of ISO week 2024-W01
JUMP = 150.0 / ELO_PER_NAT  # model c, from week 3 on
WEEK = np.timedelta64(7, "D")


@dataclass(frozen=True)
class Weeks:
    model_a: np.ndarray
    model_b: np.ndarray
    outcome: np.ndarray
    timestamp: np.ndarray
    week: np.ndarray  # 0-based week of each battle

    @property
    def arrays(self):
        return self.model_a, self.model_b, self.outcome, self.timestamp


def simulate_weeks(thetas, per_week, seed, *, players=None):
    """Battles per week from the strengths ``thetas[w]`` among ``players[w]`` (model indices; default all)."""
    rng = np.random.default_rng(seed)
    parts = []
    for w, theta in enumerate(thetas):
        who = np.arange(len(theta)) if players is None else np.asarray(players[w])
        sim = simulate_battles(theta[who], per_week, seed=int(rng.integers(2**31)))
        offset = rng.integers(0, 7 * 86_400, per_week).astype("timedelta64[s]")
        parts.append((who[sim.model_a], who[sim.model_b], sim.outcome, MONDAY + w * WEEK + offset, np.full(per_week, w)))
    return Weeks(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def jump_thetas(n_weeks=5, start=2):
    thetas = np.tile(THETA, (n_weeks, 1))
    thetas[start:, 2] += JUMP
    return thetas


@pytest.fixture(scope="module")
def jump():
    return simulate_weeks(jump_thetas(), 2_500, seed=0)


@pytest.fixture(scope="module")
def jump_tests(jump):
    return change_tests(*jump.arrays, MODELS)


def test_the_alarm_fires_for_the_model_that_jumped_in_the_changed_weeks_and_for_no_other(jump_tests):
    alarms = [t for t in jump_tests if t.alarm]
    assert {a.model for a in alarms} == {"c"}
    weeks = {int((a.period_start - MONDAY) // WEEK): a for a in alarms}
    assert {2, 3, 4} <= set(weeks)
    # Every week is compared with the pooled rest, so the changed weeks sit above it and the weeks before below it.
    assert all(weeks[w].shift > 0 and weeks[w].ci_low > 0 for w in (2, 3, 4))
    assert all(a.shift < 0 for w, a in weeks.items() if w < 2)
    # Week 4 against 2 weeks at +0 and 2 at +150: about 150 - 75 = 75 above its rest.
    assert 45 < weeks[3].shift < 105
    assert all(a.n_tests == 25 and a.level == 0.95 and a.p_adjusted == min(1.0, a.p * 25) for a in alarms)
    # c moved first and most, so the others are re-tested with c given one strength per week.
    assert all(t.per_period_models == ("c",) for t in jump_tests if t.model != "c")
    assert all(t.per_period_models == () for t in jump_tests if t.model == "c")


def test_change_alarms_are_the_change_tests_that_fired(jump, jump_tests):
    assert change_alarms(*jump.arrays, MODELS) == tuple(t for t in jump_tests if t.alarm)


def test_without_the_rounds_the_others_would_carry_the_jump_the_other_way(jump, jump_tests):
    # With c at one strength over all weeks, the others' battles against the weaker early c
    # read as the others being stronger in weeks 1-2 (about 30 points); with c per week, not.
    fixed_c = [_split(jump, model=m, week=w, per_week_models=())[0] * ELO_PER_NAT for m in (0, 1, 3, 4) for w in (0, 1)]
    per_week_c = [t.shift for t in jump_tests if t.model != "c" and t.period_start < MONDAY + 2 * WEEK]
    assert np.mean(fixed_c) > 15 and abs(np.mean(per_week_c)) < 10, (np.mean(fixed_c), np.mean(per_week_c))


def _split(weeks, *, model, week, per_week_models):
    """(d, se) from fitting battles with ``model`` renamed in ``week`` (and each of ``per_week_models``
    renamed per week) straight through fit_bradley_terry and bradley_terry_covariance."""
    n, later = len(MODELS), range(1, weeks.week.max() + 1)
    names = [*MODELS, f"{MODELS[model]}@{week}"]
    first = {}  # week 0 keeps the model's own index, later weeks get new ones
    for f in per_week_models:
        first[f] = len(names)
        names += [f"{MODELS[f]}@{w}" for w in later]
    relabelled = []
    for x in (weeks.model_a, weeks.model_b):
        y = np.where((x == model) & (weeks.week == week), n, x)
        for f in per_week_models:
            y = np.where((x == f) & (weeks.week > 0), first[f] + weeks.week - 1, y)
        relabelled.append(y)
    pairs = PairCounts.from_arrays(tuple(names), relabelled[0], relabelled[1], weeks.outcome)
    fit = fit_bradley_terry(pairs)
    cov = bradley_terry_covariance(pairs, fit.theta)
    d = fit.theta[n] - fit.theta[model]
    return d, np.sqrt(cov[n, n] + cov[model, model] - 2.0 * cov[n, model])


@pytest.mark.parametrize(("model", "week", "per_week_models"), [(2, 3, ()), (0, 0, (2,))])
def test_split_fit_difference_equals_renaming_the_model_and_fitting_directly(jump, jump_tests, model, week,
                                                                              per_week_models):
    test = next(t for t in jump_tests if t.model == MODELS[model] and t.period_start == MONDAY + week * WEEK)
    assert test.per_period_models == tuple(MODELS[f] for f in per_week_models)
    d, se = _split(jump, model=model, week=week, per_week_models=per_week_models)
    assert test.shift == pytest.approx(d * ELO_PER_NAT, abs=1e-6)
    assert test.z == pytest.approx(d / se, rel=1e-6)
    half_width = (test.ci_high - test.ci_low) / 2.0 / ELO_PER_NAT
    assert half_width / se == pytest.approx(stats.norm.ppf(1.0 - 0.05 / 2 / 25))  # Bonferroni: 25 tests at 95%


def test_stationary_weeks_raise_false_alarms_within_the_nominal_level():
    seeds, with_alarm, p_values = range(20), 0, []
    for seed in seeds:
        weeks = simulate_weeks(np.tile(THETA, (5, 1)), 1_000, seed=100 + seed)
        tests = change_tests(*weeks.arrays, MODELS)
        assert len(tests) == 25
        with_alarm += any(t.alarm for t in tests)
        p_values += [t.p for t in tests]
    # Family-wise 5% per data set: 20 data sets give 1 on average; P(more than 3) is 1.6% even at exactly 5%.
    assert with_alarm <= 3
    # The single tests are calibrated (500 p-values, correlated within a data set).
    assert 0.02 <= np.mean(np.array(p_values) < 0.05) <= 0.09


def test_per_week_ratings_cover_the_true_strengths_at_about_the_nominal_rate():
    thetas = jump_thetas()
    # Every model plays every week, so the all-time scale is the mean-1000 scale of each week's truth.
    truth = to_ratings(thetas, MODELS)
    covered = []
    for seed in range(30):
        result = ratings_over_time(*simulate_weeks(thetas, 1_000, seed=200 + seed).arrays, MODELS)
        assert result.matrix("rating").shape == truth.shape
        assert result.all_time.mean() == pytest.approx(1000.0)
        covered.append((result.matrix("ci_low") <= truth) & (truth <= result.matrix("ci_high")))
    rate = np.mean(covered)  # 750 intervals, binomial SD 0.8 points at 95%
    assert 0.92 <= rate <= 0.98, rate


def test_a_late_strong_entrant_does_not_move_the_others():
    # e (far ahead) joins in week 4 with a handful of votes, and plays fully in weeks 5-6.
    thetas = np.tile(np.array([-0.6, -0.2, 0.0, 0.3, 1.0]), (6, 1))
    weeks = simulate_weeks(thetas, 1_500, seed=3, players=[range(4)] * 4 + [range(5)] * 2)
    few = simulate_weeks(thetas[:1], 20, seed=4)  # about 8 votes for e
    arrays = [np.concatenate([x, y]) for x, y in zip(weeks.arrays, (*few.arrays[:3], few.timestamp + 3 * WEEK),
                                                     strict=True)]
    result = ratings_over_time(*arrays, MODELS)

    rating = result.matrix("rating")
    assert np.isnan(rating[:3, 4]).all() and np.isfinite(rating[3:, 4]).all()
    ours = rating[4:, :4].mean() - rating[:3, :4].mean()
    naive = []  # each week's models centred at 1000 on their own
    for t in range(6):
        keep = (arrays[3] >= MONDAY + t * WEEK) & (arrays[3] < MONDAY + (t + 1) * WEEK)
        present = np.unique(np.concatenate([arrays[0][keep], arrays[1][keep]]))
        index = np.full(len(MODELS), -1)
        index[present] = np.arange(present.size)
        pairs = PairCounts.from_arrays(tuple(MODELS[i] for i in present), index[arrays[0][keep]],
                                       index[arrays[1][keep]], arrays[2][keep])
        naive.append(fit_bradley_terry(pairs).ratings()[:4].mean())  # a-d are the first four present
    naive_shift = np.mean(naive[4:]) - np.mean(naive[:3])
    assert abs(ours) < 10 and naive_shift < -30, (ours, naive_shift)
    # e's eight votes in week 4 do not set that week's level, so they do not widen the others' intervals.
    width = result.matrix("ci_high") - result.matrix("ci_low")
    assert np.all(width[3, :4] < 1.2 * width[2, :4]) and width[3, 4] > 3 * width[3, :4].max()
    e_week_4 = next(r for r in result.rows if r.model == "e" and r.period_start == MONDAY + 3 * WEEK)
    assert e_week_4.provisional and e_week_4.votes < 30
    assert not any(r.provisional for r in result.rows if r is not e_week_4)
    assert result.to_frame().shape == (len(result.rows), 8)


def test_weeks_are_iso_weeks_in_utc_and_inputs_are_checked():
    a, b, o = np.array([0, 1, 0]), np.array([1, 0, 1]), np.array([0, 1, 2])
    stamps = ["2024-01-07T23:59:59Z", "2024-01-08T00:00:00Z", "2024-01-08T01:30:00+03:00"]  # Sun, Mon, Sun UTC
    result = ratings_over_time(a, b, o, stamps, ("x", "y"), min_votes=1)
    assert list(result.period_starts) == [MONDAY, MONDAY + WEEK]
    assert [r.votes for r in result.rows] == [2, 2, 1, 1]
    # Week 2 is one win of x: separated, so finite points (the regulariser's) with the open side infinite.
    assert all(np.isfinite(r.rating) for r in result.rows)
    assert [(r.unbounded, np.isfinite(r.ci_low), np.isfinite(r.ci_high)) for r in result.rows[2:]] == [
        ("above", True, False), ("below", False, True)]
    with pytest.raises(ValueError, match="same shape"):
        ratings_over_time(a, b, o, stamps[:2], ("x", "y"))
    with pytest.raises(ValueError, match="indices into the 2 models"):
        ratings_over_time(a, np.array([5, 0, 1]), o, stamps, ("x", "y"))
    with pytest.raises(ValueError, match="NaT"):
        ratings_over_time(a, b, o, [stamps[0], None, stamps[2]], ("x", "y"))
    with pytest.raises(ValueError):
        ratings_over_time(a, b, o, stamps, ("x", "y"), period="fortnight")
    with pytest.raises(ValueError, match="Unknown field"):
        result.matrix("wins")


def test_plot_has_one_line_per_model_with_the_given_labels(jump, jump_tests):
    result = ratings_over_time(*jump.arrays, MODELS)
    alarms = tuple(t for t in jump_tests if t.alarm)
    labels = {m: f"модель {m.upper()}" for m in MODELS}
    fig = plot_ratings_over_time(result, alarms, labels=labels, title="Рейтинг по неделям", ylabel="рейтинг",
                                 interval_label="ДИ {level:.0%}", alarm_label="сигнал изменения")
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == [labels[m] for m in MODELS]
    assert all(line.get_xydata().shape == (5, 2) for line in lines)
    assert ax.get_title() == "Рейтинг по неделям" and ax.get_ylabel() == "рейтинг (ДИ 95%)"
    assert "сигнал изменения" in [text.get_text() for text in ax.get_legend().get_texts()]
    rings = next(c for c in ax.collections if c.get_label() == "сигнал изменения")
    assert len(rings.get_offsets()) == len(alarms)
    fig.savefig(io.BytesIO(), format="png")  # draws without error (dates on x, bands)
    with pytest.raises(ValueError, match="no rating"):
        plot_ratings_over_time(result, (replace(alarms[0], model="not-a-model"),))
