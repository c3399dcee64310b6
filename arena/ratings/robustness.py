"""How many rigged votes would swap two neighbours on the board, and which voters look coordinated.

Reference: Min et al. (2025), "Improving Your Model Ranking on Chatbot Arena by Vote
Rigging" (ICML 2025). They show that a few hundred targeted votes move a model's
Bradley-Terry rank on Chatbot Arena, and that "omnipresent" rigging (votes on battles
not involving the target) works too, because every vote moves the joint fit.

Two tools:

- ``flip_margins``: for each pair of models adjacent on the board, the smallest number
  of *added* decisive votes ("w beats v", any ordered pair the attacker likes) after
  which the refitted rating of the lower model is at least the upper one's. A small
  margin means the order is fragile, whatever its confidence interval says: the
  interval treats votes as honest samples, this treats some as adversarial.
- ``coordinated_voters``: per annotator and model, the model's score in that
  annotator's battles against the score expected from a fit on everybody else's votes
  (leave-annotator-out, so a voter cannot hide in their own influence on the fit),
  tested exactly and corrected for multiple testing. Two or more annotators pushing
  the same model the same way form a group.

Flip-margin search: greedy by the exact refit gain of one more vote of each type (a
full refit, not a linearisation, because the gain of a vote type shrinks as it is
repeated and mixes of types interact), in batches while far from the flip; then
trimmed one vote at a time, moving votes between types to make the smaller attack
work. This is a heuristic; when the multisets of fewer votes are few enough
(``verify_budget`` refits) an exhaustive search confirms the count, or replaces it by
the smaller one it finds, and the margin is marked ``exact``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement
from math import comb

import numpy as np

from arena.battle_table import A_WINS, B_WINS
from arena.ratings.bradley_terry import DEFAULT_ALPHA, ELO_PER_NAT, fit_theta
from arena.ratings.pairs import PairCounts

__all__ = ["CoordinatedGroup", "CoordinationReport", "FlipMargin", "VoterFlag", "coordinated_voters", "flip_margins"]

# Ratings count as equal below this many Elo points: refits with different warm starts
# agree to ~1e-8, and an exact tie produced by the votes must not fail on round-off.
FLIP_TOL = 1e-6
# Up to this many models every ordered pair is a candidate vote type (n * (n - 1)); beyond,
# only votes touching the pair (lower beats x, x beats upper): they have the first-order
# effect and keep each greedy step linear in n.
FULL_SEARCH_MODELS = 8
MAX_SWAP_ROUNDS = 50
DEFAULT_CAP_PER_VOTE = 10  # max_votes defaults to 10x the real votes

Vote = tuple[int, int]  # (winner, loser) indices


@dataclass(frozen=True)
class FlipMargin:
    """Votes needed to lift ``lower`` to ``upper``'s rating (adjacent on the board).

    ``votes``: size of the smallest attack found, None when none was found within
    ``max_votes``. ``exact``: exhaustive search confirmed it (no smaller attack exists;
    for None, no attack of at most ``max_votes`` votes exists). ``attack``: (winner,
    loser, count) of the added votes, largest count first (when ``votes`` is None, the
    best partial attack, which does not flip). ``rating_gap`` and ``gap_after``: upper
    minus lower rating (Elo) before and after adding them. ``votes_per_pair_battle`` and
    ``share_of_votes``: ``votes`` over the pair's real battles and over all real votes.
    """

    upper: str
    lower: str
    rating_gap: float
    votes: int | None
    exact: bool
    max_votes: int
    attack: tuple[tuple[str, str, int], ...]
    gap_after: float
    pair_battles: int
    votes_per_pair_battle: float
    share_of_votes: float

    def needed(self) -> str:
        """The votes it takes, and how sure that count is."""
        if self.votes is not None:
            return f"{self.votes} votes" + ("" if self.exact else " (not proven minimal)")
        if self.exact:
            return f"more than {self.max_votes} votes"
        return f"no attack found within {self.max_votes} votes"

    def describe(self) -> str:
        return f"{self.lower} -> {self.upper}: {self.needed()}"


class _PairSearch:
    """Refits of ``base + added`` for one (upper, lower) pair, warm-started from the last fit."""

    def __init__(self, base: np.ndarray, upper: int, lower: int, alpha: float, theta0: np.ndarray):
        self.base, self.upper, self.lower, self.alpha = base, upper, lower, alpha
        self.theta = theta0

    def gap(self, added: np.ndarray) -> float:
        """Upper minus lower rating (Elo) after adding ``added[w, v]`` votes "w beats v"."""
        self.theta = fit_theta(self.base + added, alpha=self.alpha, initial=self.theta)  # next trial is close
        return float((self.theta[self.upper] - self.theta[self.lower]) * ELO_PER_NAT)

    def best(self, attacks: list[np.ndarray]) -> tuple[np.ndarray, float]:
        gaps = [self.gap(a) for a in attacks]
        i = int(np.argmin(gaps))
        return attacks[i], gaps[i]


def _vote_types(n: int, upper: int, lower: int) -> list[Vote]:
    if n <= FULL_SEARCH_MODELS:
        return [(w, v) for w in range(n) for v in range(n) if w != v]
    return [(lower, x) for x in range(n) if x != lower] + [(x, upper) for x in range(n) if x not in (upper, lower)]


def _with(added: np.ndarray, vote: Vote, k: int = 1) -> np.ndarray:
    out = added.copy()
    out[vote] += k
    return out


def _present(added: np.ndarray) -> list[Vote]:
    return [(int(w), int(v)) for w, v in np.argwhere(added > 0)]


def _greedy(search: _PairSearch, gap: float, types: list[Vote], cap: int) -> tuple[np.ndarray, float]:
    """Add the best vote type until the gap closes or ``cap`` votes are spent; returns (added, gap)."""
    added = np.zeros_like(search.base)
    while gap > FLIP_TOL and added.sum() < cap:
        trial, trial_gap = search.best([_with(added, t) for t in types])
        drop = gap - trial_gap
        if drop <= 0:  # no single vote helps: more of the same cannot either
            break
        if trial_gap <= FLIP_TOL:
            return trial, trial_gap
        # Far from the flip one vote per step costs len(types) refits per vote. The gain of
        # a repeated vote shrinks as its pair's win probability saturates, so gap / drop
        # overstates the need; half of it rarely overshoots and still halves the distance.
        # An overshoot is harmless: _trim takes the surplus votes back.
        step = int(min(max(1, 0.5 * gap / drop), cap - added.sum()))
        vote = _present(trial - added)[0]
        added = _with(added, vote, step)
        gap = trial_gap if step == 1 else search.gap(added)
    return added, gap


def _swap_to_flip(search: _PairSearch, added: np.ndarray, gap: float, types: list[Vote]) -> tuple[np.ndarray, float]:
    """Move single votes between types while that shrinks the gap, until it closes."""
    for _ in range(MAX_SWAP_ROUNDS):
        swaps = [_with(_with(added, p, -1), t) for p in _present(added) for t in types if t != p]
        if gap <= FLIP_TOL or not swaps:
            break
        swap, swap_gap = search.best(swaps)
        if swap_gap >= gap - 1e-12:
            break
        added, gap = swap, swap_gap
    return added, gap


def _trim(search: _PairSearch, added: np.ndarray, types: list[Vote]) -> np.ndarray:
    """From a working attack, drop the vote that hurts least and repair by swaps; repeat
    while the smaller attack still flips."""
    while added.sum() > 0:
        trial, gap = search.best([_with(added, p, -1) for p in _present(added)])
        trial, gap = _swap_to_flip(search, trial, gap, types)
        if gap > FLIP_TOL:
            break
        added = trial
    return added


def _exhaustive(search: _PairSearch, n: int, max_size: int) -> np.ndarray | None:
    """The first attack of 1..max_size votes of any type, by increasing size; None if there is none."""
    types = [(w, v) for w in range(n) for v in range(n) if w != v]
    for size in range(1, max_size + 1):
        for combo in combinations_with_replacement(types, size):
            added = np.zeros((n, n))
            np.add.at(added, tuple(np.array(combo).T), 1.0)
            if search.gap(added) <= FLIP_TOL:
                return added
    return None


def flip_margins(
    pairs: PairCounts,
    *,
    alpha: float = DEFAULT_ALPHA,
    max_votes: int | None = None,
    verify_budget: int = 500,
) -> tuple[FlipMargin, ...]:
    """Flip margin of every adjacent pair on the board (sorted by fitted rating), top pair first.

    Added votes weigh 1 each (the scale of unweighted battles; inverse-propensity weights
    have mean 1). ``max_votes`` caps each search (default: 10x the real votes).
    ``verify_budget``: the most refits per pair an exhaustive check may cost (0: never).
    """
    cap = DEFAULT_CAP_PER_VOTE * pairs.n_battles if max_votes is None else max_votes
    if cap < 0:
        raise ValueError(f"max_votes must be >= 0, got {max_votes}")
    base = pairs.win_matrix()
    theta0 = fit_theta(base, alpha=alpha)
    order = np.argsort(-theta0, kind="stable")
    battles = pairs.battle_matrix()
    out = []
    for upper, lower in zip(order[:-1], order[1:], strict=True):
        search = _PairSearch(base, int(upper), int(lower), alpha, theta0)
        gap0 = float((theta0[upper] - theta0[lower]) * ELO_PER_NAT)
        votes, exact, added = _search_pair(search, gap0, pairs.n_models, cap, verify_budget)
        out.append(
            FlipMargin(
                upper=pairs.models[upper],
                lower=pairs.models[lower],
                rating_gap=gap0,
                votes=votes,
                exact=exact,
                max_votes=cap,
                attack=_attack(added, pairs.models),
                gap_after=search.gap(added),
                pair_battles=int(battles[upper, lower]),
                votes_per_pair_battle=_ratio(votes, battles[upper, lower]),
                share_of_votes=_ratio(votes, pairs.n_battles),
            )
        )
    return tuple(out)


def _search_pair(
    search: _PairSearch, gap0: float, n: int, cap: int, budget: int
) -> tuple[int | None, bool, np.ndarray]:
    """(votes or None, exact, added votes) for one pair."""
    if gap0 <= FLIP_TOL:
        return 0, True, np.zeros((n, n))
    types = _vote_types(n, search.upper, search.lower)
    added, gap = _greedy(search, gap0, types, cap)
    found = gap <= FLIP_TOL
    if found:
        added = _trim(search, added, types)
    votes = int(added.sum()) if found else None
    limit = votes - 1 if votes is not None else cap
    if comb(n * (n - 1) + limit, limit) - 1 > budget:  # multisets of 1..limit votes
        return votes, False, added
    smaller = _exhaustive(search, n, limit)
    if smaller is None:
        return votes, True, added
    return int(smaller.sum()), True, smaller  # exhaustive search is by increasing size: minimal


def _attack(added: np.ndarray, models: tuple[str, ...]) -> tuple[tuple[str, str, int], ...]:
    votes = [(models[w], models[v], int(added[w, v])) for w, v in _present(added)]
    return tuple(sorted(votes, key=lambda t: (-t[2], t[0], t[1])))


def _ratio(votes: int | None, real: float) -> float:
    if votes is None:
        return float("nan")
    if not real:
        return 0.0 if votes == 0 else float("inf")
    return float(votes / real)


# --- coordinated voting ------------------------------------------------------------


@dataclass(frozen=True)
class VoterFlag:
    """One annotator whose votes for ``model`` stand out; ``direction`` +1 for it, -1 against."""

    annotator: str
    model: str
    direction: int
    n_battles: int
    observed: float
    expected: float
    z: float
    p_value: float


@dataclass(frozen=True)
class CoordinatedGroup:
    """Two or more annotators flagged for the same model in the same direction."""

    model: str
    direction: int
    annotators: tuple[str, ...]


@dataclass(frozen=True)
class CoordinationReport:
    """Per annotator x model arrays of shape (n_annotators, n_models).

    ``observed``: the model's score in the annotator's battles (win 1, tie 1/2);
    ``expected``: its sum of win probabilities under the leave-annotator-out fit;
    ``z``: the standardised residual (observed - expected) / sqrt(sum p (1 - p)), the
    Bernoulli variance, which ties only shrink; ``p_value``: exact two-sided (see
    ``_score_p_value``), NaN where not tested (fewer than ``min_battles``);
    ``flagged``: rejected by ``correction`` ("bh" or "bonferroni") at level ``alpha``
    over the ``n_tests`` tested cells.
    """

    annotators: tuple[str, ...]
    models: tuple[str, ...]
    n_battles: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    flagged: np.ndarray
    alpha: float
    correction: str
    n_tests: int
    flags: tuple[VoterFlag, ...]
    groups: tuple[CoordinatedGroup, ...]

    @property
    def flagged_annotators(self) -> tuple[str, ...]:
        return tuple(a for a, f in zip(self.annotators, self.flagged.any(axis=1), strict=True) if f)


def _score_p_value(prob: np.ndarray, observed: float) -> float:
    """Two-sided p-value of a score sum (win 1, tie 1/2) over independent battles won with ``prob``.

    The normal approximation is far too optimistic in the tails that multiple testing
    looks at when an annotator has a few battles at lopsided odds, so the test is exact.
    Replacing each tie by a fair coin makes the score B ~ Poisson-binomial(prob) exactly
    (a tie is worth half a win on average), and the coin lands at or above the tie's
    half point at least half the time, so P(S >= s) <= 2 P(B >= s): valid whatever the
    tie rates, at the price of a factor 2 (then 2 more for two sides).
    """
    pmf = np.ones(1)
    for p in prob:
        pmf = np.convolve(pmf, (1.0 - p, p))
    halves = int(round(2.0 * observed))
    upper, lower = pmf[(halves + 1) // 2 :].sum(), pmf[: halves // 2 + 1].sum()
    return float(min(1.0, 4.0 * min(upper, lower)))


def _reject(p: np.ndarray, alpha: float, correction: str) -> np.ndarray:
    """Rejections among the finite p-values (NaN: no test)."""
    tested = np.isfinite(p)
    out = np.zeros(p.shape, dtype=bool)
    values = p[tested]
    m = values.size
    if m == 0:
        return out
    if correction == "bonferroni":
        out[tested] = values <= alpha / m
        return out
    # Benjamini-Hochberg step-up: reject the r smallest, r the largest with p_(r) <= r alpha / m.
    ranked = np.sort(values)
    below = np.flatnonzero(ranked <= alpha * np.arange(1, m + 1) / m)
    if below.size:
        out[tested] = values <= ranked[below[-1]]
    return out


def coordinated_voters(
    model_a: np.ndarray,
    model_b: np.ndarray,
    outcome: np.ndarray,
    annotator: np.ndarray,
    models: tuple[str, ...],
    *,
    alpha: float = 0.01,
    correction: str = "bh",
    min_battles: int = 5,
    bt_alpha: float = DEFAULT_ALPHA,
) -> CoordinationReport:
    """Test every annotator x model for a score out of line with everybody else's votes.

    Arrays of shape (n_battles,): ``model_a``/``model_b`` index into ``models``, ``outcome``
    uses A_WINS/B_WINS/TIE, ``annotator`` one id per battle (any values; reported as
    strings). One Bradley-Terry fit (regularisation ``bt_alpha``) per annotator, on all
    battles but theirs. Bonferroni holds under any dependence between the tests; BH (the
    default) is the usual, more powerful choice.
    """
    if correction not in ("bh", "bonferroni"):
        raise ValueError(f"correction must be 'bh' or 'bonferroni', got {correction!r}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    model_a = np.asarray(model_a, dtype=np.int64)
    model_b = np.asarray(model_b, dtype=np.int64)
    outcome = np.asarray(outcome, dtype=np.int64)
    annotator = np.asarray(annotator)
    if not (model_a.shape == model_b.shape == outcome.shape == annotator.shape):
        raise ValueError("model_a, model_b, outcome and annotator must have the same shape (n_battles,)")
    if model_a.size == 0:
        raise ValueError("no battles")
    n = len(models)
    names, who = np.unique(annotator.astype(str), return_inverse=True)
    score_a = np.select([outcome == A_WINS, outcome == B_WINS], [1.0, 0.0], 0.5)

    # Per-annotator win matrices, so each leave-one-out fit is a subtraction, not a pass over the battles.
    per = np.zeros((names.size, n, n))
    np.add.at(per, (who, model_a, model_b), score_a)
    np.add.at(per, (who, model_b, model_a), 1.0 - score_a)
    total = per.sum(axis=0)
    theta_all = fit_theta(total, alpha=bt_alpha)

    shape = (names.size, n)
    count, observed, expected, variance = (np.zeros(shape) for _ in range(4))
    p_value = np.full(shape, np.nan)
    order = np.argsort(who, kind="stable")
    for g, mine in enumerate(np.split(order, np.cumsum(np.bincount(who))[:-1])):
        theta = fit_theta(total - per[g], alpha=bt_alpha, initial=theta_all)
        a, b, s = model_a[mine], model_b[mine], score_a[mine]
        p = 1.0 / (1.0 + np.exp(theta[b] - theta[a]))  # P(a beats b) without this annotator
        side, score, prob = np.concatenate([a, b]), np.concatenate([s, 1.0 - s]), np.concatenate([p, 1.0 - p])
        for m in np.unique(side):
            cell = side == m
            count[g, m], observed[g, m], expected[g, m] = cell.sum(), score[cell].sum(), prob[cell].sum()
            variance[g, m] = (prob[cell] * (1.0 - prob[cell])).sum()
            if count[g, m] >= min_battles:
                p_value[g, m] = _score_p_value(prob[cell], observed[g, m])

    with np.errstate(divide="ignore", invalid="ignore"):  # untested cells: z stays NaN
        z = np.where(np.isfinite(p_value), (observed - expected) / np.sqrt(variance), np.nan)
    flagged = _reject(p_value, alpha, correction)
    annotators = tuple(str(x) for x in names)
    flags = tuple(
        VoterFlag(
            annotator=annotators[g],
            model=models[m],
            direction=1 if observed[g, m] > expected[g, m] else -1,
            n_battles=int(count[g, m]),
            observed=float(observed[g, m]),
            expected=float(expected[g, m]),
            z=float(z[g, m]),
            p_value=float(p_value[g, m]),
        )
        for g, m in np.argwhere(flagged)
    )
    return CoordinationReport(
        annotators=annotators,
        models=tuple(models),
        n_battles=count.astype(np.int64),
        observed=observed,
        expected=expected,
        z=z,
        p_value=p_value,
        flagged=flagged,
        alpha=alpha,
        correction=correction,
        n_tests=int(np.isfinite(p_value).sum()),
        flags=flags,
        groups=_groups(flags, tuple(models)),
    )


def _groups(flags: tuple[VoterFlag, ...], models: tuple[str, ...]) -> tuple[CoordinatedGroup, ...]:
    groups = []
    for model in models:
        for direction in (1, -1):
            members = tuple(f.annotator for f in flags if f.model == model and f.direction == direction)
            if len(members) >= 2:
                groups.append(CoordinatedGroup(model=model, direction=direction, annotators=members))
    return tuple(groups)
