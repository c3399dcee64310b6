"""The project's own data files, named once for every package.

In db/, the bottom layer, because eval/ and train/ need them and may not import
app/; ``app.settings`` re-exports them next to the settings. Paths are absolute
(from this checkout), so they do not depend on the working directory.
"""

from pathlib import Path

__all__ = ["CULTSET", "DATA_DIR", "GOVSET", "IFT_TEST", "IFT_TRAIN", "PROJECT_ROOT", "SHARED_DATA", "STOPWORDS"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
IFT_TRAIN = DATA_DIR / "ift" / "train.jsonl"  # instruction pairs for fine-tuning
IFT_TEST = DATA_DIR / "ift" / "test.jsonl"  # held-out pairs: evaluation, the arena's gold controls and seed tasks
GOVSET = DATA_DIR / "govset" / "govset.jsonl"  # grounding corpora (BM25-RAG)
CULTSET = DATA_DIR / "cultset" / "cultset.jsonl"
STOPWORDS = DATA_DIR / "stopwords" / "stop_words.txt"
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"  # real data sets beside the checkout: KazQAD, FLORES-200, ...
