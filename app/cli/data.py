"""`kazarena generate-ift`, `generate-conversations` and `postedit`: the paper's data pipeline."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

BaseUrl = Annotated[str | None, typer.Option(help="OpenAI-compatible server (default: OpenAI, needs OPENAI_API_KEY; another server gets KAZARENA_GENERATE_API_KEY if set).")]
Model = Annotated[str | None, typer.Option(help="Model name at that server (default: gpt-4o).")]
Concurrency = Annotated[int, typer.Option(min=1, help="Requests in flight at once.")]
MaxTokens = Annotated[int, typer.Option(min=1, help="Most tokens per reply.")]

if TYPE_CHECKING:
    from app.settings import Settings
    from train.generate import Endpoint


def generation_endpoint(settings: Settings, env: Mapping[str, str], base_url: str | None, model: str | None,
                        **knobs: Any) -> Endpoint:
    """The generators' endpoint: OPENAI_API_KEY from ``env`` for OpenAI, KAZARENA_GENERATE_API_KEY elsewhere."""
    from train.generate import Endpoint

    return Endpoint.resolve(base_url, model, env=env, server_key=settings.generate_api_key, **knobs)


def _endpoint(base_url: str | None, model: str | None, **knobs: Any) -> Endpoint:
    from app.settings import get_settings

    return generation_endpoint(get_settings(), os.environ, base_url, model, **knobs)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    from train.datasets import read_table

    return read_table(path)


def _summary(title: str, usage: Any, console: Console) -> None:
    table = Table(title=title)
    table.add_column("")
    table.add_column("value", justify="right")
    cost = "unknown (model not in the price table)" if usage.cost_usd is None else f"${usage.cost_usd:.4f}"
    for name, value in (("items done", usage.items_done), ("skipped (done before)", usage.items_skipped),
                        ("failed (retry later)", usage.items_failed), ("valid", usage.valid),
                        ("invalid (dropped)", usage.invalid), ("requests", usage.requests),
                        ("prompt tokens", usage.prompt_tokens), ("completion tokens", usage.completion_tokens),
                        ("cost", cost)):
        table.add_row(name, str(value))
    console.print(table)


def generate_ift(
    docs: Annotated[Path, typer.Argument(help="Documents JSONL: {id, set, topic, title, source_url, text} per line.")],
    out: Annotated[Path, typer.Option(help="Output JSONL of pairs; appended, so a rerun resumes.")],
    base_url: BaseUrl = None,
    model: Model = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N documents.")] = None,
    concurrency: Concurrency = 4,
    max_tokens: MaxTokens = 4096,
) -> None:
    """Generate Kazakh instruction-response pairs from documents with the paper's single prompt.

    Documents already finished (listed in OUT.done) are skipped; topic and source come from each document.
    """
    from eval.retrieval.documents import load_documents
    from train.generate import generate_ift as run

    try:
        endpoint = _endpoint(base_url, model, concurrency=concurrency, max_tokens=max_tokens)
        documents = load_documents(docs)[:limit]
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    usage = run(documents, out, endpoint)
    _summary(f"IFT generation with {endpoint.model} -> {out}", usage, Console(stderr=True))


def generate_conversations(
    ift: Annotated[Path, typer.Argument(help="IFT pairs JSONL: {id, instruction, output, set, topic} per line.")],
    out: Annotated[Path, typer.Option(help="Output JSONL of conversation tasks; appended, so a rerun resumes.")],
    base_url: BaseUrl = None,
    model: Model = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N pairs.")] = None,
    concurrency: Concurrency = 4,
    max_tokens: MaxTokens = 1024,
    to_db: Annotated[bool, typer.Option("--to-db", help="Also insert them as arena conversation tasks "
                                        "(origin 'generated') into KAZARENA_DATABASE_URL.")] = False,
) -> None:
    """Turn IFT pairs into unfinished Kazakh dialogues ending with "2-адам: ..." for the arena."""
    from train.generate import generate_conversations as run

    try:
        endpoint = _endpoint(base_url, model, concurrency=concurrency, max_tokens=max_tokens)
        pairs = _read_jsonl(ift)[:limit]
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    usage = run(pairs, out, endpoint)
    console = Console(stderr=True)
    _summary(f"Conversation generation with {endpoint.model} -> {out}", usage, console)
    if to_db:
        added = insert_tasks(_read_jsonl(out) if out.exists() else [])
        console.print(f"Inserted {added} new conversation task(s) into the database.")


def insert_tasks(rows: list[dict[str, Any]], database_url: str | None = None) -> int:
    """Add conversation-task rows to the database, skipping ids already there; returns how many were new."""
    from sqlalchemy import select

    from app.cli.database import database_url as migrated_url
    from db.models import ConversationTask
    from db.session import session_scope

    url = database_url or migrated_url()
    with session_scope(url) as s:
        existing = set(s.scalars(select(ConversationTask.id)))
        new = [r for r in rows if r["id"] not in existing]
        for r in new:
            s.add(ConversationTask(id=r["id"], set=r.get("set") or "govset", topic=r.get("topic"),
                                   source_id=r.get("source_id"), messages=r["messages"], origin="generated"))
    return len(new)


postedit_app = typer.Typer(help="The post-editing round trip: export pairs to a sheet, import the edits, report errors.",
                           no_args_is_help=True)


@postedit_app.command("export")
def postedit_export(
    ift: Annotated[Path, typer.Argument(help="IFT pairs JSONL.")],
    sheet: Annotated[Path, typer.Argument(help="Sheet to write: .xlsx or .csv.")],
) -> None:
    """Write pairs to a sheet with the paper's columns for human post-editing."""
    from train.postedit import export_sheet

    try:
        n = export_sheet(_read_jsonl(ift), sheet)
    except (ValueError, KeyError) as e:
        raise typer.BadParameter(str(e)) from e
    Console(stderr=True).print(f"Wrote {n} pairs to {sheet}.")


@postedit_app.command("import")
def postedit_import(
    sheet: Annotated[Path, typer.Argument(help="The edited sheet (.xlsx or .csv).")],
    out: Annotated[Path, typer.Option(help="Edited pairs JSONL to write.")],
) -> None:
    """Read an edited sheet back: updated fields replace the originals where filled."""
    from train.datasets import write_jsonl
    from train.postedit import import_sheet

    try:
        rows = import_sheet(sheet)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    write_jsonl(rows, out)
    edited = sum(r["edited"] for r in rows)
    Console(stderr=True).print(f"Wrote {len(rows)} pairs ({edited} edited) to {out}.")


@postedit_app.command("report")
def postedit_report(
    sheets: Annotated[list[Path], typer.Argument(help="One or more edited sheets.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Error-type distribution per set (counts and percentages of reviewed pairs), as in the paper's table."""
    from train.postedit import ERROR_TYPES, error_report, import_sheet

    try:
        rows = [r for sheet in sheets for r in import_sheet(sheet)]
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    report = error_report(rows)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    table = Table(title="Post-editing error types")
    table.add_column("error type")
    for set_name in report.counts:
        table.add_column(f"{set_name} (n={report.total(set_name)})", justify="right")
    for error_type in ERROR_TYPES:
        table.add_row(error_type, *(f"{report.counts[s][error_type]} ({report.percent(s, error_type):.1f}%)"
                                    for s in report.counts))
    table.add_row("not reviewed", *(str(report.unreviewed.get(s, 0)) for s in report.counts))
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("generate-ift")(generate_ift)
    app.command("generate-conversations")(generate_conversations)
    app.add_typer(postedit_app, name="postedit")
