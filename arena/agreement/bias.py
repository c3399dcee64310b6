"""Judge bias diagnostics on plain rows.

Each diagnostic keeps the decisive verdicts that bear on one question (ties
are counted, not used), and reports the share that went the suspect way with
a two-sided exact binomial test against 1/2 and a Clopper-Pearson interval.
A share far from 1/2 on the first two is a bias in the plain sense; for
length, language and self-preference a share away from 1/2 may also reflect
real quality differences, so compare with the humans' share on the same rows
(``reference_share``) when it is available.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import binomtest

from arena.agreement.labels import normalize_labels


@dataclass(frozen=True)
class PreferenceResult:
    """Share of decisive verdicts that favoured ``preferred`` (e.g. "first shown").

    ``share`` and the interval are NaN when no row was decisive (``note`` says
    so). ``n_ties`` counts tie verdicts among the rows that qualified,
    ``n_skipped`` rows that did not qualify at all (e.g. equal lengths).
    ``reference_share`` is the same share under reference labels (people), if given.
    """

    name: str
    preferred: str
    share: float
    n_preferred: int
    n_decisive: int
    n_ties: int
    n_skipped: int
    p_value: float
    ci_low: float
    ci_high: float
    reference_share: float | None = None
    note: str = ""


def _share(hits: int, n: int) -> tuple[float, float, float, float]:
    if n == 0:
        nan = float("nan")
        return nan, nan, nan, nan
    test = binomtest(hits, n, 0.5)
    ci = test.proportion_ci(confidence_level=0.95, method="exact")
    return hits / n, float(test.pvalue), float(ci.low), float(ci.high)


def _check_lengths(name: str, labels: Sequence[object], *columns: Sequence[object]) -> list[str]:
    out = normalize_labels(labels)
    for column in columns:
        if len(column) != len(out):
            raise ValueError(f"{name}: every column needs one entry per verdict ({len(out)})")
    if not out:
        raise ValueError(f"{name}: no verdicts")
    return out


def _preference(
    name: str,
    preferred: str,
    labels: list[str],
    favoured: Sequence[str | None],
    reference: list[str] | None = None,
) -> PreferenceResult:
    """favoured[i] is the label ("A"/"B") that counts as the suspect side, None if row i doesn't qualify."""
    hits = decisive = ties = skipped = 0
    ref_hits = ref_decisive = 0
    for i, (label, side) in enumerate(zip(labels, favoured, strict=True)):
        if side is None:
            skipped += 1
            continue
        if label == "tie":
            ties += 1
        else:
            decisive += 1
            hits += label == side
        if reference is not None and reference[i] != "tie":
            ref_decisive += 1
            ref_hits += reference[i] == side
    share, p_value, low, high = _share(hits, decisive)
    note = "" if decisive else "no decisive verdict among the qualifying rows"
    ref_share = None
    if reference is not None:
        ref_share = ref_hits / ref_decisive if ref_decisive else float("nan")
    return PreferenceResult(
        name=name,
        preferred=preferred,
        share=share,
        n_preferred=hits,
        n_decisive=decisive,
        n_ties=ties,
        n_skipped=skipped,
        p_value=p_value,
        ci_low=low,
        ci_high=high,
        reference_share=ref_share,
        note=note,
    )


def position_preference(shown_labels: Sequence[object]) -> PreferenceResult:
    """Share of decisive verdicts for the answer shown first.

    shown_labels: verdicts in the order the judge saw the answers, so ``A`` means
    "the first-shown answer won". When each pair is judged in both orders, pass
    the verdicts of both passes.
    """
    labels = _check_lengths("position preference", shown_labels)
    return _preference("position", "first shown", labels, ["A"] * len(labels))


def length_preference(
    labels: Sequence[object],
    length_a: Sequence[float],
    length_b: Sequence[float],
    *,
    reference_labels: Sequence[object] | None = None,
) -> PreferenceResult:
    """Share of decisive verdicts won by the longer answer (rows of equal length skipped).

    Lengths are precomputed (characters or tokens, the caller's choice).
    """
    cols: list[Sequence[object]] = [length_a, length_b]
    if reference_labels is not None:
        cols.append(reference_labels)
    verdicts = _check_lengths("length preference", labels, *cols)
    longer = [
        None if la == lb else ("A" if la > lb else "B") for la, lb in zip(length_a, length_b, strict=True)
    ]
    reference = None if reference_labels is None else normalize_labels(reference_labels)
    return _preference("length", "longer answer", verdicts, longer, reference)


def language_preference(
    labels: Sequence[object],
    language_a: Sequence[str],
    language_b: Sequence[str],
    *,
    reference_labels: Sequence[object] | None = None,
    kazakh: str = "kk",
    russian: str = "ru",
) -> PreferenceResult:
    """Share of decisive verdicts won by the Kazakh answer when the other one is Russian.

    language_a/b: a precomputed language tag per answer (e.g. "kk", "ru", "en").
    Only rows with exactly one Kazakh and one Russian answer qualify.
    """
    cols: list[Sequence[object]] = [language_a, language_b]
    if reference_labels is not None:
        cols.append(reference_labels)
    verdicts = _check_lengths("language preference", labels, *cols)
    favoured: list[str | None] = []
    for la, lb in zip(language_a, language_b, strict=True):
        if (la, lb) == (kazakh, russian):
            favoured.append("A")
        elif (la, lb) == (russian, kazakh):
            favoured.append("B")
        else:
            favoured.append(None)
    reference = None if reference_labels is None else normalize_labels(reference_labels)
    return _preference("language", "Kazakh answer", verdicts, favoured, reference)


def self_preference(
    labels: Sequence[object],
    model_a: Sequence[str],
    model_b: Sequence[str],
    judge_model: str,
    *,
    reference_labels: Sequence[object] | None = None,
) -> PreferenceResult:
    """Share of decisive verdicts for the judge's own model, on battles it took part in.

    Battles of the judge model against itself are skipped.
    """
    cols: list[Sequence[object]] = [model_a, model_b]
    if reference_labels is not None:
        cols.append(reference_labels)
    verdicts = _check_lengths("self preference", labels, *cols)
    favoured: list[str | None] = []
    for ma, mb in zip(model_a, model_b, strict=True):
        if ma == judge_model and mb != judge_model:
            favoured.append("A")
        elif mb == judge_model and ma != judge_model:
            favoured.append("B")
        else:
            favoured.append(None)
    reference = None if reference_labels is None else normalize_labels(reference_labels)
    return _preference("self", f"judge's own model ({judge_model})", verdicts, favoured, reference)
