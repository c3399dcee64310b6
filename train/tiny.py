"""A tiny randomly initialised Qwen2 chat model, built offline in seconds.

For tests, benchmarks and plumbing (serving, training) where the point is the
machinery, not the answers: a byte-level BPE tokenizer trained on the given
texts (Qwen-like with a ChatML template, or Gemma-like with no template, as the
Gemma 3 270M base model), and a 2-layer model. Plus Kazakh instruction pairs
made from KazQAD, for realistic lengths.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from db.jsonl import iter_jsonl
from db.paths import SHARED_DATA

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# style -> (special tokens, eos, pad, bos, chat template); "gemma" mimics Gemma 3 270M base:
# turn markers in the vocabulary but no chat template
STYLES: dict[str, tuple[list[str], str, str, str | None, str | None]] = {
    "chatml": (
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        "<|im_end|>",
        "<|endoftext|>",
        None,
        CHATML_TEMPLATE,
    ),
    "gemma": (
        ["<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>"],
        "<eos>",
        "<pad>",
        "<bos>",
        None,
    ),
}

KAZQAD_RC = (
    SHARED_DATA
    / "kazqad/data/reading-comprehension"
    / "kazqad-reading-comprehension-v1.0-kk-validation.jsonl"
)


def kazqad_pairs(path: str | Path = KAZQAD_RC, limit: int | None = None) -> list[dict[str, str]]:
    """Kazakh instruction pairs made from KazQAD reading comprehension (CC BY-SA 4.0).

    Instruction: the passage and the question; output: the passage sentence that
    holds the answer. Lengths resemble grounded IFT data, which is what the
    packing benchmark and the training tests need.
    """
    pairs = []
    for _, row in iter_jsonl(path):
        answer = row["answers"]["text"][0] if row["answers"]["text"] else ""
        sentences = re.split(r"(?<=[.!?])\s+", row["context"])
        output = next((s for s in sentences if answer and answer in s), answer)
        if not output:
            continue
        instruction = f"Мәтін: {row['context']}\n\nСұрақ: {row['question']}"
        pairs.append({"instruction": instruction, "output": output, "source": row["id"]})
        if limit is not None and len(pairs) == limit:
            break
    return pairs


def build_tiny_tokenizer(texts: Iterable[str], vocab_size: int = 512, style: str = "chatml") -> Any:
    """Byte-level BPE trained on ``texts``, as a transformers tokenizer.

    ``style="chatml"``: Qwen-like, with a ChatML template; ``"gemma"``: Gemma's
    special tokens and no template, like a base model.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if style not in STYLES:
        raise ValueError(f"Unknown style: {style!r} (one of {sorted(STYLES)})")
    special_tokens, eos, pad, bos, template = STYLES[style]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=eos, pad_token=pad, bos_token=bos)
    tokenizer.chat_template = template
    return tokenizer


def build_tiny_model(tokenizer: Any, seed: int = 0, hidden_size: int = 64, layers: int = 2) -> Any:
    """A random Qwen2ForCausalLM sized for ``tokenizer`` (float32, sdpa attention)."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return Qwen2ForCausalLM(config)


def save_tiny_model(directory: str | Path, texts: Iterable[str], seed: int = 0) -> Path:
    """Build the tiny tokenizer and model and save both as a standard HF directory."""
    directory = Path(directory)
    tokenizer = build_tiny_tokenizer(texts)
    model = build_tiny_model(tokenizer, seed=seed)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
