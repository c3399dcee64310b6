"""Annotator quality: per-annotator statistics, the sequential outlier test, flags.

Plain rows in (the battles schema with an ``annotator`` column), frozen dataclasses out.
"""

from arena.quality.flags import (
    Flag,
    QualityReport,
    QualityThresholds,
    annotators_to_exclude,
    assess_annotators,
)
from arena.quality.sequential import SequentialResult, sequential_outlier_test
from arena.quality.stats import AnnotatorStats, annotator_stats
from arena.quality.votes import VoteTable, prepare_votes

__all__ = [
    "AnnotatorStats",
    "Flag",
    "QualityReport",
    "QualityThresholds",
    "SequentialResult",
    "VoteTable",
    "annotator_stats",
    "annotators_to_exclude",
    "assess_annotators",
    "prepare_votes",
    "sequential_outlier_test",
]
