"""Kazakh-aware text normalisation shared by retrieval (BM25) and text metrics.

Lower-case with the Kazakh letters kept (ә ғ қ ң ө ұ ү һ і), punctuation
stripped, split on whitespace. Python's str.lower() already maps the Kazakh
capitals correctly; the regex keeps every Unicode letter and digit, so Cyrillic,
Latin and the Kazakh-specific letters survive while punctuation goes.
"""

import re
from functools import lru_cache
from pathlib import Path

from db.paths import STOPWORDS

_NON_WORD = re.compile(r"[^\w\s]|_", re.UNICODE)

STOPWORDS_PATH = STOPWORDS


def normalize(text: str) -> str:
    """Lower-case and replace punctuation with spaces."""
    return _NON_WORD.sub(" ", text.lower())


def tokenize(text: str) -> list[str]:
    """Kazakh-aware word tokens: lower-cased, punctuation stripped."""
    return normalize(text).split()


@lru_cache
def load_stopwords(path: Path | None = None) -> frozenset[str]:
    """The 372 Kazakh stopwords (qaznltk, MIT); empty set if the file is absent."""
    path = path or STOPWORDS_PATH
    if not path.exists():
        return frozenset()
    words = (line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(w for w in words if w)


def content_tokens(text: str, stopwords: frozenset[str] | None = None) -> list[str]:
    """Tokens with stopwords removed (for retrieval)."""
    stop = load_stopwords() if stopwords is None else stopwords
    return [t for t in tokenize(text) if t not in stop]
