"""Text metrics for generation: ROUGE-L, chrF++ and BERTScore.

BERTScore (torch, transformers) is imported lazily from ``eval.metrics.bertscore``
so that ROUGE-L and chrF++ stay light.
"""

from eval.metrics.chrf import ChrfResult, chrf_pp, corpus_chrf_pp
from eval.metrics.rouge import CorpusRougeL, RougeL, corpus_rouge_l, lcs_length, rouge_l

__all__ = [
    "ChrfResult",
    "CorpusRougeL",
    "RougeL",
    "chrf_pp",
    "corpus_chrf_pp",
    "corpus_rouge_l",
    "lcs_length",
    "rouge_l",
]
