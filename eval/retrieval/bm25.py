"""BM25 over 256-character chunks, with Kazakh-aware tokens, persisted as JSON.

Each chunk is indexed as its document title followed by its text: a piece cut
from the middle of "Жеке куәлік алу" rarely repeats the words "жеке куәлік",
and the title is what ties it to the question. The index file holds the
tokenized corpus (not the fitted BM25 object): refitting BM25Okapi from tokens
takes about a second at 10k chunks, and JSON, unlike pickle, cannot run code
when loaded.

Tokenizers are named ("kazakh_prefix5" by default, "kazakh", "whitespace" for
the plain baseline) and the name is stored in the file, so queries are always
tokenized the way the corpus was.
"""

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi
from scipy import sparse
from tqdm import tqdm

from eval.retrieval.chunking import CHUNK_CHARS, Chunk, chunk_documents
from eval.retrieval.documents import Document, documents_hash
from eval.text import content_tokens

log = logging.getLogger(__name__)

INDEX_FORMAT = "kazarena-bm25"
INDEX_FORMAT_VERSION = 1


PREFIX_CHARS = 5
DEFAULT_TOKENIZER = "kazakh_prefix5"


def whitespace_tokens(text: str) -> list[str]:
    """The plain baseline: split on whitespace, nothing else (case and punctuation kept)."""
    return text.split()


def prefix_tokens(text: str) -> list[str]:
    """Kazakh content tokens cut to their first 5 characters.

    Kazakh is agglutinative: "куәлік", "куәлікті", "куәлігін" are one word to a
    reader but three tokens to BM25. Keeping a fixed-length prefix is a crude
    stemmer that merges most such forms; on KazQAD's 764 questions it lifts
    recall@5 from 0.65 to 0.78 over plain content tokens (bench/retrieval.py
    measures both; prefixes of 4 and 5 were best, 6 and 7 worse).
    """
    return [t[:PREFIX_CHARS] for t in content_tokens(text)]


# Named, so the index file can record which one built it and queries use the same.
TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "kazakh_prefix5": prefix_tokens,
    "kazakh": content_tokens,  # lower-case, Kazakh letters kept, punctuation and stopwords out
    "whitespace": whitespace_tokens,
}


class IndexUnavailable(RuntimeError):
    """The index file is missing or unusable; str(e) is ready to show to a user."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"grounding unavailable: {reason} ({path})")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    rank: int  # 1 = best


def _tokenizer(name: str) -> Callable[[str], list[str]]:
    if name not in TOKENIZERS:
        raise ValueError(f"Unknown tokenizer: {name!r} (known: {', '.join(TOKENIZERS)})")
    return TOKENIZERS[name]


def _indexed_text(chunk: Chunk) -> str:
    return f"{chunk.title} {chunk.text}"


def _term_weights(bm25: BM25Okapi) -> tuple[dict[str, int], sparse.csr_matrix]:
    """BM25Okapi's per-(term, chunk) score contributions as a sparse (terms x chunks) matrix.

    BM25Okapi.get_scores loops in Python over every chunk for every query
    word (about 30 queries/s at 10k chunks); summing precomputed rows gives the
    same scores (tests check equality) hundreds of times faster.
    """
    vocab = {term: i for i, term in enumerate(bm25.idf)}
    k1, b = bm25.k1, bm25.b
    norm = k1 * (1 - b + b * np.asarray(bm25.doc_len) / bm25.avgdl)
    rows, cols, vals = [], [], []
    for d, freqs in enumerate(bm25.doc_freqs):
        for term, tf in freqs.items():
            rows.append(vocab[term])
            cols.append(d)
            vals.append(bm25.idf[term] * tf * (k1 + 1) / (tf + norm[d]))
    shape = (len(vocab), len(bm25.doc_freqs))
    return vocab, sparse.csr_matrix((vals, (rows, cols)), shape=shape, dtype=np.float64)


def _payload_hash(chunks: list[dict], tokens: list[list[str]]) -> str:
    blob = json.dumps([chunks, tokens], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class BM25Index:
    """A fitted BM25Okapi plus the chunks it ranks. Build with `build`, or `load` a file."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        tokens: Sequence[list[str]],
        *,
        tokenizer: str = DEFAULT_TOKENIZER,
        docs_hash: str = "",
        chunk_chars: int = CHUNK_CHARS,
    ) -> None:
        if len(chunks) != len(tokens):
            raise ValueError(f"{len(chunks)} chunks but {len(tokens)} token lists")
        if not chunks:
            raise ValueError("cannot build a BM25 index over zero chunks")
        if not any(tokens):
            raise ValueError("every chunk tokenized to nothing; nothing to index")
        self.chunks = list(chunks)
        self.tokens = [list(t) for t in tokens]
        self.tokenizer = tokenizer
        self.docs_hash = docs_hash
        self.chunk_chars = chunk_chars
        self.tokenize = _tokenizer(tokenizer)  # the same function for chunks and queries
        self.okapi = BM25Okapi(self.tokens)  # the fitted rank_bm25 model; scores come from _weights
        self._vocab, self._weights = _term_weights(self.okapi)

    @classmethod
    def build(
        cls,
        docs: Iterable[Document],
        *,
        tokenizer: str = DEFAULT_TOKENIZER,
        chunk_chars: int = CHUNK_CHARS,
        progress: bool = False,
    ) -> "BM25Index":
        """Chunk and tokenize `docs`; `progress` shows a tqdm bar over the chunks."""
        docs = list(docs)
        tokenize = _tokenizer(tokenizer)
        chunks = chunk_documents(docs, chunk_chars)
        tokens = [
            tokenize(_indexed_text(c))
            for c in tqdm(chunks, desc="tokenizing chunks", unit="chunk", disable=not progress)
        ]
        return cls(
            chunks,
            tokens,
            tokenizer=tokenizer,
            docs_hash=documents_hash(docs),
            chunk_chars=chunk_chars,
        )

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def n_docs(self) -> int:
        return len({c.doc_id for c in self.chunks})

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The k best chunks with a positive score (fewer if fewer match), best first.

        Ties keep corpus order, so results are deterministic.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        query_tokens = self.tokenize(query)
        if not query_tokens:
            return []
        scores = self.scores(query_tokens)
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            Hit(chunk=self.chunks[i], score=float(scores[i]), rank=rank)
            for rank, i in enumerate((int(i) for i in order if scores[i] > 0), start=1)
        ]

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk, shape (n_chunks,); same as BM25Okapi.get_scores."""
        rows = [self._vocab[t] for t in query_tokens if t in self._vocab]  # repeats count twice
        if not rows:
            return np.zeros(len(self.chunks))
        return np.asarray(self._weights[rows].sum(axis=0)).ravel()

    # ---------------------------------------------------------------- persistence

    def save(self, path: Path | str) -> Path:
        """Write the index as JSON; atomic, so a crash never leaves half a file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        chunks = [asdict(c) for c in self.chunks]
        payload = {
            "format": INDEX_FORMAT,
            "format_version": INDEX_FORMAT_VERSION,
            "tokenizer": self.tokenizer,
            "chunk_chars": self.chunk_chars,
            "docs_hash": self.docs_hash,
            "payload_sha256": _payload_hash(chunks, self.tokens),
            "chunks": chunks,
            "tokens": self.tokens,
        }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
        log.info("saved BM25 index: %d chunks from %d documents -> %s", len(self), self.n_docs, path)
        return path

    @classmethod
    def load(cls, path: Path | str) -> "BM25Index":
        """Read an index written by `save`; any problem raises IndexUnavailable."""
        path = Path(path)
        if not path.exists():
            raise IndexUnavailable(path, "no index file; build it with `kazarena index build`")
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise IndexUnavailable(path, f"index file is unreadable or corrupted ({e})") from e
        if not isinstance(payload, dict) or payload.get("format") != INDEX_FORMAT:
            raise IndexUnavailable(path, "not a kazarena BM25 index file")
        if payload.get("format_version") != INDEX_FORMAT_VERSION:
            raise IndexUnavailable(
                path,
                f"index format version {payload.get('format_version')} is not "
                f"{INDEX_FORMAT_VERSION}; rebuild it with `kazarena index build`",
            )
        try:
            chunks_raw, tokens = payload["chunks"], payload["tokens"]
            if payload["payload_sha256"] != _payload_hash(chunks_raw, tokens):
                raise IndexUnavailable(path, "index file is corrupted (checksum mismatch)")
            return cls(
                [Chunk(**c) for c in chunks_raw],
                tokens,
                tokenizer=payload["tokenizer"],
                docs_hash=payload["docs_hash"],
                chunk_chars=payload["chunk_chars"],
            )
        except IndexUnavailable:
            raise
        except (KeyError, TypeError, ValueError) as e:
            raise IndexUnavailable(path, f"index file is corrupted ({e})") from e
