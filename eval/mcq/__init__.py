"""Zero-shot multiple-choice evaluation by log-likelihood (and its BM25-RAG baseline).

Typical use:

    dataset = load_mcq("unt-human-society-rights")          # or a local .jsonl/.csv
    scorer = CompletionsScorer(openai.OpenAI(base_url=..., api_key=...), "model-name")
    predictions = evaluate_items(dataset.items, scorer)
    scores = score_predictions(predictions, seed=0)
"""

from eval.mcq.items import (
    HUB_DATASETS,
    DatasetUnavailable,
    HubDataset,
    MCQDataset,
    MCQItem,
    item_from_row,
    load_mcq,
)
from eval.mcq.rag import RagPrefix, build_rag_index, ift_documents
from eval.mcq.scoring import (
    CompletionsScorer,
    LoglikelihoodScorer,
    MCQPrediction,
    continuation_logprob,
    continuations,
    evaluate_items,
    format_prompt,
    predict,
)
from eval.mcq.stats import (
    Accuracy,
    Majority,
    MCQScores,
    bootstrap_accuracy,
    majority_baseline,
    score_predictions,
)

__all__ = [
    "HUB_DATASETS",
    "Accuracy",
    "CompletionsScorer",
    "DatasetUnavailable",
    "HubDataset",
    "LoglikelihoodScorer",
    "MCQDataset",
    "MCQItem",
    "MCQPrediction",
    "MCQScores",
    "Majority",
    "RagPrefix",
    "bootstrap_accuracy",
    "build_rag_index",
    "continuation_logprob",
    "continuations",
    "evaluate_items",
    "format_prompt",
    "ift_documents",
    "item_from_row",
    "load_mcq",
    "majority_baseline",
    "predict",
    "score_predictions",
]
