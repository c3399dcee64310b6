"""Agreement among annotators when a statistic is undefined: strict JSON, and the reason kept."""

import json

from arena.agreement.annotators import annotator_agreement


def test_kappa_undefined_when_everyone_used_one_label_is_null_with_its_reason_never_bare_nan():
    # two annotators, three shared battles, all voted "model_a": expected agreement is 1, kappa is 0/0
    rows = [{"question_id": q, "annotator": who, "winner_content": "model_a"} for q in "xyz" for who in ("ana", "bek")]
    report = annotator_agreement(rows, "content")
    pair = report["pairwise_cohen"][0]
    assert pair["kappa"] is None and pair["observed"] == 1.0 and "undefined" in pair["note"]
    text = json.dumps(report, allow_nan=False)  # raises on NaN or inf: the report must be strict JSON
    assert json.loads(text)["pairwise_cohen"][0]["note"] == pair["note"]
    assert report["fleiss_kappa"] is None or isinstance(report["fleiss_kappa"], float)
