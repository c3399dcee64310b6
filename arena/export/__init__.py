"""Export for researchers: Hugging Face `datasets` folders with personal data removed.

``export_dataset`` writes every config (battles, votes, turn_feedback, judgments,
annotators, dpo, and the contestant ledger: contestants, contestant_events) and the
dataset card; ``pii.scrub_text`` is the scrubber.
"""

from arena.export.options import FORMATS, ExportOptions, IdHasher, parse_bound
from arena.export.writer import ExportSummary, export_dataset

__all__ = ["FORMATS", "ExportOptions", "ExportSummary", "IdHasher", "export_dataset", "parse_bound"]
