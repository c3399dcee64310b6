"""ROUGE-L (LCS by hand) and chrF++ on English and real Kazakh sentences."""

import json

import pytest

from db.paths import SHARED_DATA
from eval.metrics import chrf_pp, corpus_chrf_pp, corpus_rouge_l, lcs_length, rouge_l

FLORES = SHARED_DATA / "flores" / "kk_en_ru_dev.jsonl"


def flores_kk(ids: list[str]) -> dict[str, str]:
    rows = (json.loads(line) for line in FLORES.read_text(encoding="utf-8").splitlines())
    wanted = {row["id"]: row["kk"] for row in rows if row["id"] in ids}
    assert len(wanted) == len(ids)
    return wanted


def test_lcs_textbook_case():
    # CLRS: LCS of ABCBDAB and BDCABA has length 4 (e.g. BCBA).
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4
    assert lcs_length([], ["a"]) == 0
    assert lcs_length(list("abc"), list("abc")) == 3


def test_rouge_l_lin_2004_example():
    # Lin (2004): reference "police killed the gunman"; S2 "police kill the gunman" has
    # LCS "police the gunman" (3/4), S3 "the gunman kill police" only "the gunman" (2/4).
    s2 = rouge_l("police kill the gunman", "police killed the gunman")
    s3 = rouge_l("the gunman kill police", "police killed the gunman")
    assert (s2.lcs, s2.f1) == (3, pytest.approx(0.75))
    assert (s3.lcs, s3.f1) == (2, pytest.approx(0.5))


def test_rouge_l_kazakh_by_hand():
    # Candidate tokens: ол сейсенбі күні осағада қайтыс болды (6)
    # Reference tokens: ол осағада сейсенбіде қайтыс болды (5)
    # LCS: ол осағада қайтыс болды = 4 -> P = 4/6, R = 4/5, F = 2PR/(P+R) = 8/11.
    score = rouge_l("Ол сейсенбі күні Осағада қайтыс болды.", "Ол Осағада сейсенбіде қайтыс болды.")
    assert (score.lcs, score.n_candidate, score.n_reference) == (4, 6, 5)
    assert score.precision == pytest.approx(4 / 6)
    assert score.recall == pytest.approx(4 / 5)
    assert score.f1 == pytest.approx(8 / 11)


def test_rouge_l_uses_kazakh_tokenization_and_beta():
    # Case and punctuation do not matter; Kazakh letters are kept (қ is not к).
    assert rouge_l("ҚАЗАҚСТАН, Астана!", "қазақстан астана").f1 == pytest.approx(1.0)
    assert rouge_l("қазақ", "казак").f1 == 0.0
    # beta = 2 weights recall: P = 1/1, R = 1/2 -> F = 5 * 0.5 / (0.5 + 4) = 5/9.
    assert rouge_l("астана", "астана қаласы", beta=2).f1 == pytest.approx(5 / 9)
    empty = rouge_l("", "астана")
    assert (empty.precision, empty.recall, empty.f1) == (0.0, 0.0, 0.0)


def test_corpus_rouge_l_is_mean_of_items():
    result = corpus_rouge_l(
        ["police kill the gunman", "the gunman kill police"],
        ["police killed the gunman", "police killed the gunman"],
    )
    assert result.n == 2 and result.f1 == pytest.approx((0.75 + 0.5) / 2)
    with pytest.raises(ValueError, match="one reference per candidate"):
        corpus_rouge_l(["a"], [])


# Real FLORES Kazakh sentences; the paraphrases are written for this test.
PARAPHRASES = {
    "212": "Пәтер ішінде ешкім болмаған.",
    "307": "Ол Осағада сейсенбіде қайтыс болды.",
    "340": "Апат кезінде Заят жарақаттанбады.",
}
UNRELATED = "556"  # "Атом барлық материяның негізі болып табылады."


def test_chrf_identical_is_100_and_paraphrase_beats_unrelated_on_kazakh():
    sentences = flores_kk([*PARAPHRASES, UNRELATED])
    for item, paraphrase in PARAPHRASES.items():
        reference = sentences[item]
        assert chrf_pp(reference, reference) == pytest.approx(100.0)
        assert chrf_pp(paraphrase, reference) > chrf_pp(sentences[UNRELATED], reference) + 10


def test_corpus_chrf_signature_and_sentence_scores():
    sentences = flores_kk(list(PARAPHRASES))
    refs = [sentences[i] for i in PARAPHRASES]
    result = corpus_chrf_pp(list(PARAPHRASES.values()), refs)
    assert result.n == 3 and len(result.sentence_scores) == 3
    assert "nw:2" in result.signature  # word bigrams: chrF++, not plain chrF
    assert 0 < result.score < 100
    assert corpus_chrf_pp(refs, refs).score == pytest.approx(100.0)
    with pytest.raises(ValueError, match="no candidates"):
        corpus_chrf_pp([], [])
