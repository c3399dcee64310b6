"""IFT and conversation generation through any OpenAI-compatible endpoint.

One place for what both generators share: the endpoint (``openai`` against a base_url;
GPT-4o at api.openai.com by default when OPENAI_API_KEY is set; the choice of endpoint
and key, retries, backoff and prices are ``eval.llm_client``'s, shared with the judge),
the run's totals, and resuming:
the output JSONL is appended as each item finishes and a sidecar ``OUT.jsonl.done``
records every finished item (with its counts), so a second run skips those and
makes no calls. The output file is therefore also the cache.

Model replies are parsed leniently (markdown fences, text around the JSON) and
validated strictly; invalid pairs are dropped and counted, never silently kept.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
from openai import AsyncOpenAI
from tqdm import tqdm

from db.jsonl import read_jsonl
from eval.langid import detect_language
from eval.llm_client import DEFAULT_OPENAI_MODEL, LLMEndpoint, Tally, chat, make_client, resolve_endpoint
from eval.retrieval.documents import Document

logger = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).with_name("prompts")
CATEGORIES = ("true_false", "explain", "describe", "list_steps", "factual")
# Names a model may use for a category instead of the key.
_CATEGORY_ALIASES = {"is it true that": "true_false", "true/false": "true_false", "рас па": "true_false",
                     "explanation": "explain", "түсіндіріңіз": "explain", "description": "describe",
                     "сипаттаңыз": "describe", "list the steps": "list_steps", "steps": "list_steps",
                     "question": "factual", "fact": "factual"}
TASK_HEADER = "Төмендегі диалогты 2-адамның атынан жалғастырыңыз."  # the arena's continuation task
_TURN = re.compile(r"^\s*([12])\s*-\s*адам\s*:\s*(.*)$")


def load_prompt(name: str) -> str:
    path = PROMPTS_DIR / f"{name}.txt"
    if not path.exists():
        raise ValueError(f"Unknown prompt: {name!r} (files in {PROMPTS_DIR})")
    return path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Endpoint(LLMEndpoint):
    """Which model at which OpenAI-compatible server, how patiently to call it, and how hot."""

    temperature: float = 0.2

    @classmethod
    def resolve(cls, base_url: str | None = None, model: str | None = None, *, env: Mapping[str, str],
                api_key: str | None = None, server_key: str | None = None, **kwargs: Any) -> Endpoint:
        """The endpoint by ``eval.llm_client.resolve_endpoint``'s rule; the model defaults to gpt-4o anywhere.

        ``env`` supplies OPENAI_API_KEY, which goes to api.openai.com only (GPT-4o there when
        no base_url is given); another server gets ``api_key`` or ``server_key`` (the CLI
        passes KAZARENA_GENERATE_API_KEY). No base_url and no OPENAI_API_KEY: ValueError.
        """
        choice = resolve_endpoint(base_url, model or DEFAULT_OPENAI_MODEL, api_key, env=env, server_key=server_key)
        return cls(base_url=choice.base_url, model=choice.model, api_key=choice.api_key, **kwargs)


@dataclass
class Usage(Tally):
    """Running totals of one generation run."""

    items_done: int = 0
    items_skipped: int = 0
    items_failed: int = 0
    valid: int = 0
    invalid: int = 0


async def complete(client: AsyncOpenAI, endpoint: Endpoint, prompt: str, usage: Usage) -> str:
    """One chat completion, retried with backoff on transient errors; raises the last error."""
    reply = await chat(client, endpoint, [{"role": "user", "content": prompt}], temperature=endpoint.temperature,
                       tally=usage)
    return reply.text


# ---------------------------------------------------------------- parsing and validation


def is_kazakh(text: str) -> bool:
    return detect_language(text).startswith("kk")


def _json_candidates(text: str) -> list[Any]:
    """Every JSON value that starts at a '[' or '{' in the text, outermost first."""
    text = re.sub(r"```[a-zA-Z]*", "", text)  # markdown fences
    decoder, found, pos = json.JSONDecoder(), [], 0
    while (match := re.compile(r"[\[{]").search(text, pos)) is not None:
        try:
            value, end = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            pos = match.start() + 1
            continue
        found.append(value)
        pos = end
    return found


@dataclass(frozen=True)
class ParsedPairs:
    pairs: list[dict[str, str]]
    invalid: int  # items that looked like pairs but failed validation
    reasons: dict[str, int] = field(default_factory=dict)


def normalize_category(value: object) -> str | None:
    text = str(value or "").strip().lower().replace("-", "_").replace(" ", "_")
    if text in CATEGORIES:
        return text
    spaced = text.replace("_", " ").rstrip(".?: ")
    return _CATEGORY_ALIASES.get(spaced)


def parse_pairs(text: str) -> ParsedPairs:
    """The valid pairs of a model reply; a reply with no JSON array counts as one invalid item."""
    items: list[Any] | None = None
    for value in _json_candidates(text):
        if isinstance(value, dict):
            value = next((v for v in value.values() if isinstance(v, list)), None)
        if isinstance(value, list):
            items = value
            break
    if items is None:
        return ParsedPairs([], 1, {"no_json_array": 1})
    pairs, reasons = [], {}
    for item in items:
        reason = _pair_problem(item)
        if reason:
            reasons[reason] = reasons.get(reason, 0) + 1
            continue
        pairs.append({"category": normalize_category(item["category"]), "instruction": item["instruction"].strip(),
                      "output": item["output"].strip()})
    return ParsedPairs(pairs, sum(reasons.values()), reasons)


def _pair_problem(item: object) -> str | None:
    if not isinstance(item, dict):
        return "not_an_object"
    for key in ("instruction", "output"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            return f"empty_{key}"
        if not is_kazakh(item[key]):
            return f"{key}_not_kazakh"
    if normalize_category(item.get("category")) is None:
        return "unknown_category"
    return None


def parse_dialogue(text: str) -> list[tuple[int, str]] | None:
    """The turns of an unfinished dialogue, or None when it is not one.

    Valid: lines "1-адам: ..." / "2-адам: ..." (other lines dropped), at least one
    Person 1 turn with Kazakh text, ending on an empty Person 2 turn ("2-адам: ...").
    Anything after the first such empty Person 2 turn is cut.
    """
    turns: list[tuple[int, str]] = []
    for line in text.replace("```", "").splitlines():
        match = _TURN.match(line.replace("**", ""))
        if not match:
            continue
        speaker, said = int(match.group(1)), match.group(2).strip()
        if speaker == 2 and said.strip(" .…") == "":
            turns.append((2, "..."))
            break
        turns.append((speaker, said))
    if not turns or turns[-1] != (2, "...") or not any(s == 1 and is_kazakh(t) for s, t in turns):
        return None
    return turns


def dialogue_text(turns: Sequence[tuple[int, str]]) -> str:
    return "\n".join(f"{speaker}-адам: {said}" for speaker, said in turns)


# ---------------------------------------------------------------- resumable runs


def _done_ids(out: Path) -> set[str]:
    ledger = out.with_name(out.name + ".done")
    if not ledger.exists():
        return set()
    return {row["key"] for row in read_jsonl(ledger)}


async def _run(keys: Sequence[str], work: Callable[[str, AsyncOpenAI, Usage], Any], out: Path,
               endpoint: Endpoint, usage: Usage, desc: str, client: AsyncOpenAI | None) -> None:
    """Run `work` for every key not finished before; append rows and ledger lines as each ends."""
    done = _done_ids(out)
    todo = [k for k in keys if k not in done]
    usage.items_skipped = len(keys) - len(todo)
    if not todo:
        return
    client = client or make_client(endpoint)
    semaphore = asyncio.Semaphore(endpoint.concurrency)

    async def one(key: str) -> tuple[str, list[dict[str, Any]] | None, dict[str, Any]]:
        async with semaphore:
            try:
                rows, stats = await work(key, client, usage)
                return key, rows, stats
            except openai.OpenAIError as error:  # after retries: record, go on with the rest
                logger.error("%s failed: %s", key, error)
                return key, None, {"error": f"{type(error).__name__}: {error}"[:300]}

    out.parent.mkdir(parents=True, exist_ok=True)
    ledger = out.with_name(out.name + ".done")
    with out.open("a", encoding="utf-8") as f_out, ledger.open("a", encoding="utf-8") as f_done, \
            tqdm(total=len(todo), desc=desc, unit="item") as bar:
        for task in asyncio.as_completed([one(k) for k in todo]):
            key, rows, stats = await task
            if rows is None:
                usage.items_failed += 1  # not in the ledger, so the next run tries again
            else:
                f_out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
                f_out.flush()
                f_done.write(json.dumps({"key": key, **stats}, ensure_ascii=False) + "\n")
                f_done.flush()
                usage.items_done += 1
            bar.update(1)
            bar.set_postfix(valid=usage.valid, invalid=usage.invalid, tokens=usage.prompt_tokens
                            + usage.completion_tokens)


def generate_ift(docs: Sequence[Document], out: Path | str, endpoint: Endpoint, *, prompt: str = "ift_v1",
                 min_pairs: int = 5, max_pairs: int = 20, client: AsyncOpenAI | None = None) -> Usage:
    """IFT pairs for each document, appended to `out` (resumable); returns the run's totals."""
    template, by_id, usage = load_prompt(prompt), {d.id: d for d in docs}, Usage()

    async def work(doc_id: str, client: AsyncOpenAI, usage: Usage) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        doc = by_id[doc_id]
        reply = await complete(client, endpoint, template.format(
            title=doc.title, topic=doc.topic, text=doc.text, min_pairs=min_pairs, max_pairs=max_pairs), usage)
        parsed = parse_pairs(reply)
        usage.valid += len(parsed.pairs)
        usage.invalid += parsed.invalid
        rows = [{"id": f"{doc.id}-{k:03d}", "doc_id": doc.id, "set": doc.set, "topic": doc.topic,
                 "source": doc.source_url, **pair, "model": endpoint.model, "prompt": prompt}
                for k, pair in enumerate(parsed.pairs, start=1)]
        return rows, {"valid": len(parsed.pairs), "invalid": parsed.invalid, "reasons": parsed.reasons}

    asyncio.run(_run([d.id for d in docs], work, Path(out), endpoint, usage, "IFT", client))
    return usage


def generate_conversations(pairs: Sequence[dict[str, Any]], out: Path | str, endpoint: Endpoint, *,
                           prompt: str = "conversation_v1", client: AsyncOpenAI | None = None) -> Usage:
    """One unfinished dialogue per IFT pair, as conversation-task rows appended to `out` (resumable)."""
    template, usage = load_prompt(prompt), Usage()
    by_id = {str(p["id"]): p for p in pairs}
    if len(by_id) != len(pairs):
        raise ValueError("IFT pair ids must be unique")

    async def work(pair_id: str, client: AsyncOpenAI, usage: Usage) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        pair = by_id[pair_id]
        reply = await complete(client, endpoint, template.format(instruction=pair["instruction"],
                                                                 output=pair["output"]), usage)
        turns = parse_dialogue(reply)
        if turns is None:
            usage.invalid += 1
            return [], {"valid": 0, "invalid": 1}
        usage.valid += 1
        content = f"{TASK_HEADER}\n\n{dialogue_text(turns)}"
        row = {"id": f"conv:{pair_id}"[:64], "set": pair.get("set", "govset"), "topic": pair.get("topic"),
               "source_id": pair_id, "messages": [{"role": "user", "content": content}], "origin": "generated",
               "model": endpoint.model, "prompt": prompt}
        return [row], {"valid": 1, "invalid": 0}

    asyncio.run(_run(list(by_id), work, Path(out), endpoint, usage, "conversations", client))
    return usage
