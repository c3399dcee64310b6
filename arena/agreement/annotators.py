"""Agreement among annotators on the battles the arena sent to several of them.

Rows are voted battles in the LMArena schema (arena.records.voted_battle_rows):
copies of one battle share a `question_id`, and `annotator` names the voter.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from arena.agreement.kappa import json_number
from arena.agreement.multi import (
    fleiss_kappa_from_ratings,
    krippendorff_alpha_from_ratings,
    pairwise_cohen_kappa,
)

WINNER_COLUMN = {"content": "winner_content", "language": "winner_language", "overall": "winner_overall"}


def annotator_agreement(rows: Iterable[Mapping[str, Any]], dimension: str = "content") -> dict[str, Any]:
    """Pairwise Cohen's kappa, Fleiss' kappa and Krippendorff's alpha on items voted by 2+ people."""
    if dimension not in WINNER_COLUMN:
        raise ValueError(f"unknown dimension {dimension!r}; choose content, language or overall")
    column = WINNER_COLUMN[dimension]
    ratings = [(r["question_id"], r["annotator"], r[column]) for r in rows if r.get(column)]
    by_item: dict[Any, set[Any]] = {}
    for item, who, _ in ratings:
        by_item.setdefault(item, set()).add(who)
    shared = {item for item, who in by_item.items() if len(who) >= 2}
    ratings = [r for r in ratings if r[0] in shared]
    out: dict[str, Any] = {"dimension": dimension, "items": len(shared), "ratings": len(ratings)}
    if not shared:
        out["note"] = "no battle was voted by two or more annotators yet"
        return out
    out["pairwise_cohen"] = [{"annotator_a": p.annotator_a, "annotator_b": p.annotator_b, "n": p.n_items,
                              "kappa": json_number(p.result.kappa), "observed": json_number(p.result.observed_agreement)}
                             | ({"note": p.result.note} if p.result.note else {})
                             for p in pairwise_cohen_kappa(ratings)]
    try:
        fleiss = fleiss_kappa_from_ratings(ratings)
        out["fleiss_kappa"] = json_number(fleiss.kappa)
    except ValueError as exc:  # different numbers of raters per item: alpha covers that case
        out["fleiss_kappa"], out["fleiss_note"] = None, str(exc)
    out["krippendorff_alpha_nominal"] = json_number(krippendorff_alpha_from_ratings(ratings, level="nominal").alpha)
    out["krippendorff_alpha_ordinal"] = json_number(krippendorff_alpha_from_ratings(ratings, level="ordinal").alpha)
    return out
