"""Turn instruction pairs and chats into token ids with loss only on the responses.

The model's own chat template renders the conversation (the tokenizer is never
changed). A base model without a template (Gemma 3 270M) gets Gemma's turn
format below, which the serving side reuses so that training and inference
see the same prompt.

Loss masking: the conversation is rendered turn by turn; everything up to and
including the generation prompt of an assistant turn is labelled -100, the
assistant's reply and its end-of-turn marker keep their ids. Each piece is
tokenized on its own, as at inference time the server tokenizes the prompt
and the model then produces the reply tokens.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from db.jsonl import iter_jsonl, read_jsonl

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100  # label value that cross-entropy skips

Message = dict[str, str]

# Gemma's turn format, as in the Gemma 3 instruction-tuned models' template: roles
# user/model, a system message folded into the first user turn, stop on <end_of_turn>.
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = '' -%}"
    "{%- set loop_messages = messages -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{{ message['content'] | trim }}"
    "{{ '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{ '<start_of_turn>model\n' }}"
    "{%- endif -%}"
)
GEMMA_STOP_TOKEN = "<end_of_turn>"

# Templates a caller can name instead of giving a file: name -> (template, stop token).
CHAT_TEMPLATES: dict[str, tuple[str, str]] = {"gemma": (GEMMA_CHAT_TEMPLATE, GEMMA_STOP_TOKEN)}


@dataclass(frozen=True)
class Example:
    """One tokenized conversation: ``labels[i]`` is ``input_ids[i]`` or -100 (no loss)."""

    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


def to_messages(record: dict[str, Any]) -> list[Message]:
    """Read one training record as chat messages.

    Accepted shapes: ``{"messages": [{"role", "content"}, ...]}`` (OpenAI format),
    or an instruction pair ``{"instruction", "output"}`` with optional Alpaca-style
    ``"input"`` (appended to the instruction) and ``"system"``.
    """
    if "messages" in record:
        messages = [{"role": m["role"], "content": m["content"]} for m in record["messages"]]
        if not any(m["role"] == "assistant" for m in messages):
            raise ValueError("a 'messages' record needs at least one assistant turn")
        return messages
    if "instruction" not in record or "output" not in record:
        raise ValueError(
            f"record needs 'instruction' and 'output' (or 'messages'); got keys {sorted(record)}"
        )
    instruction = str(record["instruction"]).strip()
    extra = str(record.get("input") or "").strip()
    if extra:
        instruction = f"{instruction}\n\n{extra}"
    messages = []
    if record.get("system"):
        messages.append({"role": "system", "content": str(record["system"])})
    messages.append({"role": "user", "content": instruction})
    messages.append({"role": "assistant", "content": str(record["output"]).strip()})
    return messages


def _render(tokenizer: Any, messages: list[Message], add_generation_prompt: bool) -> str:
    text = tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt
    )
    return str(text)


def tokenize_messages(messages: list[Message], tokenizer: Any) -> Example:
    """Tokenize a conversation with the tokenizer's chat template; loss on assistant turns only.

    Raises ValueError when the template is missing, or when rendering a longer
    prefix of the conversation does not extend the shorter one (templates that
    rewrite earlier turns cannot be masked this way).
    """
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("the tokenizer has no chat template; supply one (e.g. --chat-template gemma)")
    input_ids: list[int] = []
    labels: list[int] = []
    rendered = ""  # text already turned into tokens

    def extend(text: str, train_on: bool) -> None:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
        input_ids.extend(ids)
        labels.extend(ids if train_on else [IGNORE_INDEX] * len(ids))

    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = _render(tokenizer, messages[:i], add_generation_prompt=True)
        full = _render(tokenizer, messages[: i + 1], add_generation_prompt=False)
        if not prompt.startswith(rendered) or not full.startswith(prompt):
            raise ValueError(
                "the chat template does not render conversations as growing prefixes; "
                "cannot locate the assistant tokens"
            )
        extend(prompt[len(rendered) :], train_on=False)
        extend(full[len(prompt) :], train_on=True)
        rendered = full
    return Example(input_ids=input_ids, labels=labels)


def tokenize_records(
    records: list[dict[str, Any]], tokenizer: Any, max_length: int
) -> tuple[list[Example], int, int]:
    """Tokenize records, cutting each to ``max_length`` tokens.

    Returns (examples, number truncated, number dropped because no response
    token survived the cut).
    """
    examples, truncated, dropped = [], 0, 0
    for record in records:
        example = tokenize_messages(to_messages(record), tokenizer)
        if len(example) > max_length:
            truncated += 1
            example = Example(example.input_ids[:max_length], example.labels[:max_length])
        # the first token is never a target (nothing precedes it), so it does not count
        if all(label == IGNORE_INDEX for label in example.labels[1:]):
            dropped += 1
            continue
        examples.append(example)
    if truncated or dropped:
        logger.warning(
            "%d of %d examples cut to %d tokens; %d dropped with no response token left",
            truncated,
            len(records),
            max_length,
            dropped,
        )
    return examples, truncated, dropped


ROLES = ("system", "user", "assistant")


def check_record(record: Any) -> None:
    """Refuse a training record of the wrong shape, naming the column at fault.

    A record is ``{"instruction": str, "output": str}`` (optional ``input`` and
    ``system`` strings) or ``{"messages": [{"role", "content"}, ...]}`` with at
    least one assistant turn; other columns are ignored.
    """
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    if "messages" in record:
        messages = record["messages"]
        if not isinstance(messages, list):
            raise ValueError(f"column 'messages' must be a list, got {type(messages).__name__}")
        for i, message in enumerate(messages):
            column = f"messages[{i}]"
            if not isinstance(message, dict):
                raise ValueError(f"column {column!r} must be an object, got {type(message).__name__}")
            if message.get("role") not in ROLES:
                raise ValueError(
                    f"column '{column}.role' must be one of {ROLES}, got {message.get('role')!r}"
                )
            if not isinstance(message.get("content"), str):
                raise ValueError(f"column '{column}.content' must be a string")
        if not any(m["role"] == "assistant" for m in messages):
            raise ValueError("column 'messages' needs at least one assistant turn")
        return
    for column in ("instruction", "output"):
        if column not in record:
            raise ValueError(
                f"column {column!r} missing: a record needs 'instruction' and 'output' (or 'messages'); "
                f"found columns {sorted(record)}"
            )
    for column in ("instruction", "output", "input", "system"):
        value = record.get(column)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"column {column!r} must be a string, got {type(value).__name__}")


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The training records of a JSONL file, each checked; an error names the file, line and column."""
    records = []
    for number, record in iter_jsonl(path):
        try:
            check_record(record)
        except ValueError as error:
            raise ValueError(f"{path}:{number}: {error}") from None
        records.append(record)
    return records


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file (``db.jsonl.read_jsonl``: blank lines skipped, bad lines name their number)."""
    return read_jsonl(path)


def save_jsonl(path: str | Path, records: list[dict[str, Any]]) -> Path:
    """Write records as JSON lines (UTF-8, Kazakh letters kept readable)."""
    path = Path(path)
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path
