"""`kazarena export`: the arena's data as a Hugging Face dataset folder, personal data removed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from arena.export import ExportOptions, ExportSummary
from arena.export.hub import check_hub_args, push_folder


def _report(summary: ExportSummary, console: Console) -> None:
    table = Table(title=f"Exported to {summary.out_dir}")
    table.add_column("config")
    table.add_column("rows", justify="right")
    for name, n in summary.counts.items():
        table.add_row(name, str(n))
    console.print(table)
    replaced = ", ".join(f"{kind} {n}" for kind, n in summary.pii.items() if n) or "none"
    console.print(f"Personal data replaced: {replaced}.")


def export(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write; created if missing, must be empty unless --overwrite.")],
    output_format: Annotated[str, typer.Option("--format", help="Data files: parquet, jsonl or both (load_dataset reads parquet then).")] = "parquet",
    since: Annotated[str | None, typer.Option(help="Only data from this day on (YYYY-MM-DD, UTC) or from an ISO date-time.")] = None,
    until: Annotated[str | None, typer.Option(help="Only data up to and including this day (YYYY-MM-DD, UTC), or before an ISO date-time.")] = None,
    models: Annotated[list[str] | None, typer.Option("--models", help="Only battles in which both models are listed; repeat or comma-separate.")] = None,
    include_flagged: Annotated[bool, typer.Option("--include-flagged", help="Keep battles an admin flagged.")] = False,
    include_gold: Annotated[bool, typer.Option("--include-gold", help="Keep gold control battles.")] = False,
    include_banned: Annotated[bool, typer.Option("--include-banned", help="Keep votes of banned annotators.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Write into a non-empty folder, replacing an earlier export there.")] = False,
    push_to_hub: Annotated[str | None, typer.Option("--push-to-hub", metavar="REPO", help="Then upload the folder to this Hub dataset repository (OWNER/NAME).")] = None,
    token: Annotated[str | None, typer.Option(help="Hub write token for --push-to-hub (default: $HF_TOKEN).")] = None,
    public: Annotated[bool, typer.Option("--public", help="Create the Hub repository public (default: private).")] = False,
) -> None:
    """Export votes, battles, chat feedback, judge verdicts, annotator profiles, DPO pairs and the contestant ledger.

    The folder loads with datasets.load_dataset(OUT_DIR, CONFIG). IINs, IBANs, phone numbers, e-mails, ID-card, passport and card numbers, and names after "менің атым" / "меня зовут" / "my name is" are replaced by placeholders; annotator ids are HMAC-SHA256-hashed with KAZARENA_SECRET_SALT (refused if shorter than 16 characters or a known default; unset: a random salt generated at the first export and kept in the database). The contestant ledger (configs contestants and contestant_events: every model ever served, its revisions, weights over time, retirement and vote counts) always covers the whole database. The same database and options give byte-identical files.
    """
    from app.cli.database import database
    from app.settings import get_settings
    from arena.export import export_dataset
    from arena.export.salt import resolve_salt
    from eval.langid import detect_language

    err = Console(stderr=True)
    try:
        options = ExportOptions.from_args(fmt=output_format, since=since, until=until, models=models,
                                          include_flagged=include_flagged, include_gold=include_gold,
                                          include_banned=include_banned)
        hub_token = token or os.environ.get("HF_TOKEN")
        check_hub_args(push_to_hub, hub_token, token_given=token is not None)
        if out_dir.exists() and not out_dir.is_dir():
            raise ValueError(f"{out_dir} exists and is not a folder")
        if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
            raise ValueError(f"{out_dir} is not empty; choose an empty folder or pass --overwrite")
        settings = get_settings()
        with err.status("exporting", spinner="dots") as status:
            def progress(config: str, rows: int) -> None:
                status.update(f"exporting {config}: {rows:,} rows")

            with database() as session:
                salt = resolve_salt(session, settings.secret_salt)  # WeakSaltError: exit 2, nothing written
                summary = export_dataset(session=session, out_dir=out_dir, options=options,
                                         salt=salt, progress=progress, language_of=detect_language)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None
    _report(summary, Console())
    if push_to_hub is not None and hub_token:  # check_hub_args made sure of the token
        with err.status(f"uploading to {push_to_hub}", spinner="dots"):
            url = push_folder(out_dir, push_to_hub, hub_token, private=not public)
        Console().print(f"Uploaded to {url}")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
