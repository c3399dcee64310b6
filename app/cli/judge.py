"""`kazarena judge`: the LLM judge on arena battles, each pair in both orders, verdicts into the database.

Which judge: ``--base-url``/``--model``/``--api-key``, else the settings
``KAZARENA_JUDGE_BASE_URL``/``_MODEL``/``_API_KEY``; with neither and ``OPENAI_API_KEY``
set, GPT-4o at the official endpoint; otherwise the embedded default, the first
local model through kazarena's own OpenAI-compatible API (``kazarena serve``),
a small local judge that every summary labels as not GPT-4o.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from app.serving import judge as judges
from app.settings import Settings, get_settings
from eval.judge import (
    DIMENSION_TEMPLATES,
    JudgeCache,
    JudgeConfig,
    PairVerdict,
    items_from_battles,
    judge_pairs,
    load_template,
)
from eval.judge.pairwise import summarize

logger = logging.getLogger(__name__)

FLUSH_EVERY = 20  # verdicts are written in small batches, so an interrupted run keeps its work


class Dimension(StrEnum):
    content = "content"
    language = "language"
    both = "both"


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def judge_config(settings: Settings, *, env: Mapping[str, str] | None = None, **options: Any) -> JudgeConfig:
    """`app.serving.judge.judge_config` with this process's environment unless ``env`` is given."""
    return judges.judge_config(settings, env=os.environ if env is None else env, **options)


def _battle_rows(battles: Path | None, database_url: str) -> list[dict[str, Any]]:
    if battles is not None:
        from arena.battle_table import read_battles

        return read_battles(battles).to_dict("records")
    from db.session import session_scope
    from eval.judge.store import battles_to_judge

    with session_scope(database_url) as session:
        return battles_to_judge(session)


def _summary_report(verdicts: list[PairVerdict], config: JudgeConfig, extra: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = {"judge": config.describe(), "config": config.public(), **extra}
    report["total"] = summarize(verdicts, config).to_dict()
    report["by_dimension"] = {
        d: summarize([v for v in verdicts if v.item.dimension == d], config).to_dict()
        for d in sorted({v.item.dimension for v in verdicts})
    }
    return report


def _render(report: dict[str, Any], console: Console) -> None:
    console.print(f"Judge: {report['judge']}")
    table = Table(title="Judge verdicts (each pair judged in both orders)")
    for column in ("dimension", "pairs", "A wins", "B wins", "ties", "invalid", "inconsistent", "requests",
                   "cached", "tokens in/out", "cost USD"):
        table.add_column(column, justify="left" if column == "dimension" else "right")
    rows = [(d, s) for d, s in report["by_dimension"].items()] + [("all", report["total"])]
    for name, s in rows:
        rate = s["inconsistency_rate"]
        cost = "unknown" if s["cost_usd"] is None else f"{s['cost_usd']:.4f}"
        table.add_row(
            name, str(s["n_pairs"]), str(s["counts"]["model_a"]), str(s["counts"]["model_b"]),
            str(s["counts"]["tie"]), str(s["counts"]["invalid"]),
            f"{s['n_inconsistent']} ({'n/a' if rate is None else f'{rate:.0%}'})", str(s["requests"]),
            str(s["cached_orders"]), f"{s['prompt_tokens']}/{s['completion_tokens']}", cost,
        )
    console.print(table)
    console.print(f"Battles read: {report['battles_read']}; skipped (nothing to judge): {report['skipped']}; "
                  f"pairs already judged: {report['already_judged']}; verdict rows stored: {report['stored']}.")
    for name, digest in report["prompt_hashes"].items():
        console.print(f"Prompt {name}: sha256 {digest}")


def judge(
    battles: Annotated[Path | None, typer.Option(help="Battles file (.jsonl/.json/.parquet) in the LMArena schema, with conversation_a/b.")] = None,
    from_db: Annotated[bool, typer.Option("--from-db", help="Judge the battles in the database (answered or voted).")] = False,
    dimension: Annotated[Dimension, typer.Option(help="Which verdict to ask for: content, language or both.")] = Dimension.both,
    limit: Annotated[int | None, typer.Option(min=1, help="Judge at most this many battles (not yet judged ones).")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint of the judge. Default: KAZARENA_JUDGE_BASE_URL; else OpenAI (gpt-4o) when OPENAI_API_KEY is set; else kazarena's own /v1 (the local model, a small judge that is not GPT-4o).")] = None,
    model: Annotated[str | None, typer.Option(help="Judge model name at that endpoint. Default: KAZARENA_JUDGE_MODEL, gpt-4o on OpenAI, else the first model of models.yaml.")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key for the endpoint (default: KAZARENA_JUDGE_API_KEY, or OPENAI_API_KEY for OpenAI).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight at once.")] = 4,
    structured: Annotated[bool | None, typer.Option("--structured/--no-structured", help="Constrain the reply to 0/1/2 (vLLM structured output); default: on unless the endpoint is OpenAI's.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Longest reply the judge may write.")] = 64,
    retries: Annotated[int, typer.Option(min=0, help="Retries on 429/5xx/timeouts, with exponential backoff.")] = 5,
    parse_retries: Annotated[int, typer.Option(min=0, help="Times to ask again when a reply holds no verdict (then: invalid).")] = 1,
    cache: Annotated[Path | None, typer.Option(help="SQLite cache of replies (default: CACHE_DIR/judge/cache.sqlite).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")] = False,
    redo: Annotated[bool, typer.Option("--redo", help="Judge again pairs that already have verdicts from this judge and prompt.")] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Print a table or one JSON object.")] = OutputFormat.table,
) -> None:
    """Judge battles with an LLM in both orders and store the verdicts in the judge_verdicts table."""
    err = Console(stderr=True)
    if (battles is None) == (not from_db):
        err.print("[red]error:[/red] give exactly one of --battles FILE or --from-db")
        raise typer.Exit(2)
    from app.cli.database import database_url
    from db.session import session_scope
    from eval.judge.store import existing_battles, judged_pairs, save_verdicts

    settings, url = get_settings(), database_url()  # verdicts are stored even for --battles FILE
    dimensions = list(DIMENSION_TEMPLATES) if dimension is Dimension.both else [dimension.value]
    try:
        config = judge_config(settings, base_url=base_url, model=model, api_key=api_key, structured=structured,
                              concurrency=concurrency, max_tokens=max_tokens, max_retries=retries,
                              parse_retries=parse_retries)
        rows = _battle_rows(battles, url)
        items, skipped = items_from_battles(rows, dimensions)
    except ValueError as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    hashes = {load_template(DIMENSION_TEMPLATES[d]).sha256 for d in dimensions}
    with session_scope(url) as session:
        known = existing_battles(session, {i.id for i in items})
        done = set() if redo else judged_pairs(session, config.model, hashes)
    todo = [i for i in items if (i.id, i.dimension) not in done]
    if limit is not None:
        keep = list(dict.fromkeys(i.id for i in todo))[:limit]
        todo = [i for i in todo if i.id in set(keep)]
    err.print(f"judge: {config.describe()}")

    stored = 0
    buffer: list[PairVerdict] = []

    def flush() -> None:
        nonlocal stored
        if buffer:
            with session_scope(url) as session:
                stored += save_verdicts(session, buffer, battle_ids=known)
            buffer.clear()

    def keep_result(verdict: PairVerdict) -> None:
        buffer.append(verdict)
        if len(buffer) >= FLUSH_EVERY:
            flush()

    reply_cache = None if no_cache else JudgeCache(cache or settings.cache_dir / "judge" / "cache.sqlite")
    verdicts: list[PairVerdict] = []
    try:
        if todo:
            run = judge_pairs(todo, config, cache=reply_cache, progress=progress, on_result=keep_result)
            verdicts = list(run.verdicts)
    except Exception as error:  # noqa: BLE001 -- report any failed call, keep what finished
        flush()
        err.print(f"[red]error:[/red] the judge failed: {error}. {stored} verdict rows are stored; "
                  "run the same command again to resume (finished replies are cached).")
        raise typer.Exit(1) from None
    finally:
        flush()  # also on Ctrl-C
        if reply_cache is not None:
            reply_cache.close()
    report = _summary_report(verdicts, config, {
        "battles_read": len(rows), "skipped": len(skipped),
        "already_judged": sum((i.id, i.dimension) in done for i in items),
        "stored": stored, "prompt_hashes": {DIMENSION_TEMPLATES[d]: load_template(DIMENSION_TEMPLATES[d]).sha256
                                            for d in dimensions},
    })
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        _render(report, Console())


def register(app: typer.Typer) -> None:
    """Add `kazarena judge` to the CLI."""
    app.command("judge")(judge)

