"""`kazarena leaderboard`: Bradley-Terry ratings with confidence intervals from battles.

With --exclude-flagged on the database it leaves out what the Leaderboard tab's
"leave out flagged annotators" does: battles flagged one by one and annotators with
an open quality flag that no admin cleared (app.services.flag_reviews). A battles
file carries no admins' decisions, so there only the battles' own flags apply.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from arena.battle_table import DIMENSIONS, prepare_battles, read_battles
from arena.ratings.bradley_terry import DEFAULT_ALPHA, Anchor
from arena.ratings.leaderboard import CI_METHODS, DEFAULT_MIN_VOTES, Leaderboard, build_leaderboard
from arena.ratings.scrutiny import Scrutiny, scrutinize

logger = logging.getLogger(__name__)

FORMATS = ("table", "json", "csv")


def load_battle_rows(battles: Path | None, *, flagged_annotators: bool = False) -> tuple[pd.DataFrame, frozenset[str]]:
    """The battle rows to rate (from ``--battles FILE``, else the votes in the database) and, from the
    database when ``flagged_annotators``, the annotators whose open quality flags leave them out."""
    if battles is not None:
        return read_battles(battles), frozenset()
    from app.cli.database import database
    from app.services.flag_reviews import flagged_to_exclude
    from arena.records import voted_battle_rows

    with database() as session:
        rows = list(voted_battle_rows(session=session))
        excluded = flagged_to_exclude(session=session) if flagged_annotators and rows else frozenset()
    if not rows:
        raise ValueError("the database has no votes yet; give a battles file with --battles FILE")
    return pd.DataFrame(rows), excluded


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
    return value


def _number(value: float) -> str:
    return f"{value:.0f}" if math.isfinite(value) else ("+inf" if value > 0 else "-inf")


def render_table(board: Leaderboard, console: Console) -> None:
    h = board.header
    title = f"Leaderboard: {h.dimension}" + (f", topic {h.topic}" if h.topic else "")
    table = Table(title=title)
    grouped = len({row.group for row in board.rows}) > 1
    columns = ("group",) * grouped + ("rank (UB)", "model", "rating", f"{h.ci_level:.0%} CI", "votes", "W", "L", "T")
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in board.rows:
        name = row.model + (" *" if row.provisional else "") + (" †" if row.unbounded else "")
        table.add_row(
            *(str(row.group),) * grouped, str(row.rank_ub), name, f"{row.rating:.0f}",
            f"{_number(row.ci_low)} – {_number(row.ci_high)}", str(row.votes), str(row.wins), str(row.losses), str(row.ties),
        )
    console.print(table)
    ci = f"{h.ci_method}" + (f", {h.rounds} rounds, seed {h.seed}" if h.ci_method == "bootstrap" else "")
    console.print(f"Scale: {h.scale}; centring: {h.anchor}.")
    console.print(f"Method: {h.method} (alpha {h.alpha:g}{', inverse-propensity weighted' if h.ipw else ''}); CI: {ci}.")
    if h.length_coef is not None:
        console.print(f"Length coefficient: {h.length_coef:+.3f} log-odds per SD of the normalised length difference.")
    console.print(f"{h.n_battles} battles, {h.n_models} models; * = provisional (< {h.min_votes} votes); data {h.data_hash}.")
    if any(row.unbounded for row in board.rows):
        console.print("† unbounded: it never lost (or never won) against the rest of its group, so the data set no "
                      "bound on that side; the rating shown is the regularization's.")
    for note in h.warnings:
        console.print(f"[yellow]warning:[/yellow] {note}")
    if h.failed_rounds:
        console.print(f"[yellow]{h.failed_rounds} bootstrap rounds had no finite fit and were dropped.[/yellow]")
    two = board.two_models
    if two is not None:
        console.print(f"\nHead to head: {two.model_a} vs {two.model_b}: {two.wins_a} wins, {two.wins_b} losses, {two.ties} ties")
        if two.win_rate_without_ties is not None:
            w = two.win_rate_without_ties
            console.print(f"  win rate, ties excluded: {w.estimate:.1%} ({w.low:.1%} – {w.high:.1%}, Wilson)")
        w = two.win_rate_ties_half
        console.print(f"  win rate, ties as half:  {w.estimate:.1%} ({w.low:.1%} – {w.high:.1%}, Wilson)")
        console.print(f"  sign test p = {two.sign_test_p:.3g}; Elo gap {_number(two.elo_gap)} "
                      f"({_number(two.elo_gap_low)} – {_number(two.elo_gap_high)})")


def render_scrutiny(board: Leaderboard, checks: Scrutiny, console: Console) -> None:
    margins = Table(title="Rank robustness: added votes that would swap each adjacent pair (Min et al. 2025)")
    for column in ("upper", "lower", "gap", "votes to swap", "share of all votes"):
        margins.add_column(column, justify="left" if column in ("upper", "lower") else "right")
    for m in checks.margins:
        share = "" if m.votes is None else f"{m.share_of_votes:.1%}"
        margins.add_row(m.upper, m.lower, f"{m.rating_gap:.0f}", m.needed(), share)
    console.print(margins)
    if checks.coordination is not None:
        groups = checks.coordination.groups
        console.print(f"Coordinated voting: {len(checks.coordination.flags)} voter-model pairs beyond what their battles "
                      f"explain, {len(groups)} group(s)" + "".join(
                          f"\n  {'for' if g.direction > 0 else 'against'} {g.model}: annotators {', '.join(g.annotators)}"
                          for g in groups))
    if checks.crowd is not None:
        weighted = dict(zip(checks.crowd.models, checks.crowd.ratings(), strict=True))
        console.print("Reliability-weighted (CrowdBT): " + ", ".join(
            f"{r.model} {weighted[r.model]:.0f}" for r in board.rows if r.model in weighted))
    for a in checks.alarms:
        console.print(f"[yellow]change alarm:[/yellow] {a.model} in the week of {a.period_start.astype('datetime64[D]')}: "
                      f"{a.shift:+.0f} Elo against its other weeks ({a.ci_low:+.0f} to {a.ci_high:+.0f})")


def leaderboard(
    battles: Annotated[Path | None, typer.Option(help="Battles file (.jsonl/.json/.parquet), LMArena/FastChat schema.")] = None,
    dimension: Annotated[str, typer.Option(help="Which vote to rate: content, language or overall.")] = "overall",
    topic: Annotated[str | None, typer.Option(help="Only battles with this topic.")] = None,
    ci: Annotated[str, typer.Option(help="Confidence intervals: bootstrap or sandwich (analytic, robust).")] = "bootstrap",
    rounds: Annotated[int, typer.Option(min=1, help="Bootstrap rounds.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    level: Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence level.")] = 0.95,
    anchor: Annotated[str | None, typer.Option(help="Pin one model's rating, MODEL=RATING; default: mean rating 1000.")] = None,
    min_votes: Annotated[int, typer.Option(min=0, help="Models with fewer votes are marked provisional.")] = DEFAULT_MIN_VOTES,
    alpha: Annotated[float, typer.Option(min=0.0, help="Regularization: choix's alpha (an L2 penalty with --length-control); keeps separated data finite.")] = DEFAULT_ALPHA,
    ipw: Annotated[bool, typer.Option("--ipw", help="Weight battles by 1/sampling_prob (inverse propensity).")] = False,
    length_control: Annotated[bool, typer.Option("--length-control", help="Control for answer length (style control).")] = False,
    drop_invalid: Annotated[bool, typer.Option("--drop-invalid", help="Drop rows with unknown labels or self-battles instead of failing.")] = False,
    exclude_flagged: Annotated[bool, typer.Option("--exclude-flagged/--include-flagged", help="Leave out votes marked flagged and, from the database, annotators with an open quality flag not cleared by an admin, as the Leaderboard tab does (the default); --include-flagged counts them.")] = True,
    output_format: Annotated[str, typer.Option("--format", help="Output: table, json or csv.")] = "table",
    plot: Annotated[Path | None, typer.Option(help="Also write a PNG: ratings with CIs and the win-rate heatmap.")] = None,
    scrutiny: Annotated[bool, typer.Option("--scrutiny/--no-scrutiny", help="Also say how hard the ranks are to rig (added votes that would swap each adjacent pair), which voters vote in concert, the ratings with voters weighted by reliability (CrowdBT), and weekly ratings with change alarms.")] = True,
) -> None:
    """Rank models by Bradley-Terry with confidence intervals."""
    err = Console(stderr=True)
    try:
        _choice("dimension", dimension, DIMENSIONS)
        _choice("--ci method", ci, CI_METHODS)
        _choice("--format", output_format, FORMATS)
        pinned = Anchor.parse(anchor) if anchor is not None else None
        if plot is not None and plot.suffix.lower() != ".png":
            raise ValueError(f"--plot must name a .png file, got {plot}")
        rows, excluded = load_battle_rows(battles, flagged_annotators=exclude_flagged)
        if excluded:
            err.print(f"left out {len(excluded)} flagged annotator(s): {', '.join(sorted(excluded, key=int))}")
        table = prepare_battles(
            rows, dimension=dimension, topic=topic, exclude_annotators=excluded, exclude_flagged=exclude_flagged,
            drop_invalid=drop_invalid, ipw=ipw,
        )
        with err.status("fitting ratings", spinner="dots"):
            board = build_leaderboard(
                table, ci=ci, rounds=rounds, seed=seed, level=level, anchor=pinned,
                min_votes=min_votes, alpha=alpha, length_control=length_control,
            )
        checks = None
        if scrutiny and output_format != "csv":
            with err.status("checking rank robustness, voters and change over time", spinner="dots"):
                checks = scrutinize(table)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None

    if output_format == "json":
        out = board.to_dict() | ({"scrutiny": checks.to_dict()} if checks is not None else {})
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    elif output_format == "csv":
        typer.echo(board.to_frame().to_csv(index=False), nl=False)
    else:
        render_table(board, Console())
        if checks is not None:
            render_scrutiny(board, checks, Console())
    if plot is not None:
        from arena.ratings.plot import plot_leaderboard  # matplotlib only when asked

        plot_leaderboard(board, plot)
        err.print(f"plot written to {plot}")


def register(app: typer.Typer) -> None:
    app.command("leaderboard")(leaderboard)
