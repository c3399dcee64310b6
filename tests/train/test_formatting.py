"""Chat formatting and response-only labels."""

from __future__ import annotations

from typing import Any

import pytest

from train.formatting import (
    GEMMA_CHAT_TEMPLATE,
    IGNORE_INDEX,
    Example,
    load_jsonl,
    save_jsonl,
    to_messages,
    tokenize_messages,
    tokenize_records,
)
from train.tiny import build_tiny_tokenizer


def trained_text(tokenizer: Any, example: Example) -> str:
    return tokenizer.decode(
        [i for i, label in zip(example.input_ids, example.labels, strict=True) if label != IGNORE_INDEX]
    )


def test_instruction_pair_uses_chatml_and_trains_only_on_the_reply(tokenizer: Any) -> None:
    example = tokenize_messages(to_messages({"instruction": "Сәлем!", "output": "Қалың қалай?"}), tokenizer)
    assert tokenizer.decode(example.input_ids) == (
        "<|im_start|>user\nСәлем!<|im_end|>\n<|im_start|>assistant\nҚалың қалай?<|im_end|>\n"
    )
    assert trained_text(tokenizer, example) == "Қалың қалай?<|im_end|>\n"
    # the trained tokens are one contiguous tail, and carry their own ids as labels
    first = next(i for i, label in enumerate(example.labels) if label != IGNORE_INDEX)
    assert all(label == IGNORE_INDEX for label in example.labels[:first])
    assert example.labels[first:] == example.input_ids[first:]


def test_multi_turn_trains_on_every_assistant_turn(tokenizer: Any) -> None:
    messages = [
        {"role": "system", "content": "Сен көмекшісің."},
        {"role": "user", "content": "Астана қай жерде?"},
        {"role": "assistant", "content": "Есіл өзенінің бойында."},
        {"role": "user", "content": "Рахмет."},
        {"role": "assistant", "content": "Оқасы жоқ."},
    ]
    example = tokenize_messages(messages, tokenizer)
    assert trained_text(tokenizer, example) == "Есіл өзенінің бойында.<|im_end|>\nОқасы жоқ.<|im_end|>\n"
    assert tokenizer.decode(example.input_ids) == tokenizer.apply_chat_template(messages, tokenize=False)


def test_gemma_template_folds_system_into_first_user_turn() -> None:
    tokenizer = build_tiny_tokenizer(["Сәлем әлем"] * 10, vocab_size=300, style="gemma")
    assert tokenizer.chat_template is None  # like the base model
    tokenizer.chat_template = GEMMA_CHAT_TEMPLATE
    messages = [
        {"role": "system", "content": "Жүйе"},
        {"role": "user", "content": "Сұрақ"},
        {"role": "assistant", "content": " Жауап "},
    ]
    assert tokenizer.apply_chat_template(messages, tokenize=False) == (
        "<bos><start_of_turn>user\nЖүйе\n\nСұрақ<end_of_turn>\n<start_of_turn>model\nЖауап<end_of_turn>\n"
    )
    prompt = tokenizer.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<start_of_turn>model\n")
    example = tokenize_messages(messages, tokenizer)
    assert trained_text(tokenizer, example) == "Жауап<end_of_turn>\n"
    assert example.input_ids.count(tokenizer.bos_token_id) == 1


def test_alpaca_input_is_appended_to_the_instruction() -> None:
    record = {"instruction": "Аудар.", "input": "Hello", "output": "Сәлем", "system": "S"}
    assert to_messages(record) == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Аудар.\n\nHello"},
        {"role": "assistant", "content": "Сәлем"},
    ]


@pytest.mark.parametrize(
    "record, message",
    [
        ({"question": "x"}, "needs 'instruction' and 'output'"),
        ({"messages": [{"role": "user", "content": "x"}]}, "at least one assistant turn"),
    ],
)
def test_bad_records_are_refused(record: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_messages(record)


def test_missing_or_rewriting_template_is_refused(tokenizer: Any) -> None:
    plain = build_tiny_tokenizer(["Сәлем әлем"] * 10, vocab_size=300, style="gemma")
    with pytest.raises(ValueError, match="no chat template"):
        tokenize_messages(to_messages({"instruction": "a", "output": "b"}), plain)
    # a template whose header depends on the whole conversation cannot be masked by prefixes
    plain.chat_template = "{{ messages|length }}{% for m in messages %}{{ m['content'] }}{% endfor %}"
    with pytest.raises(ValueError, match="growing prefixes"):
        tokenize_messages(to_messages({"instruction": "a", "output": "b"}), plain)


def test_long_examples_are_cut_and_prompt_only_ones_dropped(tokenizer: Any) -> None:
    short = {"instruction": "Иә", "output": "Жоқ"}
    long_answer = {"instruction": "Иә", "output": "Жоқ " * 50}
    long_prompt = {"instruction": "Иә " * 50, "output": "Жоқ"}
    limit = len(tokenize_messages(to_messages(short), tokenizer)) + 3
    examples, truncated, dropped = tokenize_records([short, long_answer, long_prompt], tokenizer, limit)
    assert (len(examples), truncated, dropped) == (2, 2, 1)
    assert max(len(e) for e in examples) == limit


def test_load_jsonl_names_the_bad_line(tmp_path: Any) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"a": 1}\n\n{oops}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"d.jsonl:3"):
        load_jsonl(path)
    path.write_text('{"a": 1}\n\n', encoding="utf-8")
    assert load_jsonl(path) == [{"a": 1}]
    records = [{"instruction": "Сәлем", "output": "Қалың қалай?"}, {"messages": []}]
    assert load_jsonl(save_jsonl(path, records)) == records
    assert "Сәлем" in path.read_text(encoding="utf-8")  # written readable, not as \u escapes
