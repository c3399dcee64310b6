"""`kazarena agreement`: chance-corrected agreement between two sets of labels.

Today the labels come from two JSONL files (``{"id": ..., "label": "A"|"B"|"tie"}``);
the database mode (judge vs people) plugs in as another loader returning
``LabelPairs``, and everything after loading stays the same.
"""

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from arena.agreement import LabelFileError, LabelPairs, PairAgreement, load_label_pairs, pair_agreement


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def _number(x: float) -> float | None:
    """JSON has no NaN: undefined statistics are written as null."""
    return None if math.isnan(x) else x


def build_report(
    pairs: LabelPairs,
    *,
    exclude_ties: bool = False,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """The agreement report for joined label pairs, as plain JSON-ready data."""
    result: PairAgreement = pair_agreement(
        pairs.labels_a,
        pairs.labels_b,
        exclude_ties=exclude_ties,
        rounds=rounds,
        seed=seed,
        level=level,
    )
    kappa = result.kappa
    return {
        "matched": len(pairs.ids),
        "only_in_a": len(pairs.only_a),
        "only_in_b": len(pairs.only_b),
        "exclude_ties": exclude_ties,
        "excluded_ties": result.n_excluded,
        "n": kappa.n,
        "kappa": _number(kappa.kappa),
        "kappa_note": kappa.note,
        "ci": {
            "low": _number(result.ci.low),
            "high": _number(result.ci.high),
            "level": level,
            "method": "percentile bootstrap over items",
            "rounds": rounds,
            "seed": seed,
            "undefined_rounds": result.ci.n_undefined,
        },
        "raw_agreement": kappa.observed_agreement,
        "expected_agreement": kappa.expected_agreement,
        "weighted_kappa": {
            "linear": _number(result.linear.kappa),
            "quadratic": _number(result.quadratic.kappa),
        },
        "confusion": {
            "labels": list(kappa.categories),
            "rows": "labels_a",
            "columns": "labels_b",
            "matrix": [list(row) for row in kappa.confusion],
        },
    }


def _fmt(x: float | None) -> str:
    return "undefined" if x is None else f"{x:.3f}"


def render_table(report: dict[str, Any], console: Console) -> None:
    """Human-readable summary and confusion matrix."""
    summary = Table(title="Agreement between labels A and labels B", show_header=False)
    summary.add_column("statistic")
    summary.add_column("value", justify="right")
    summary.add_row("ids matched", str(report["matched"]))
    summary.add_row("ids only in A / only in B", f"{report['only_in_a']} / {report['only_in_b']}")
    if report["exclude_ties"]:
        summary.add_row("pairs dropped for a tie", str(report["excluded_ties"]))
    summary.add_row("pairs used", str(report["n"]))
    ci = report["ci"]
    summary.add_row(
        "Cohen's kappa",
        f"{_fmt(report['kappa'])}  [{_fmt(ci['low'])}, {_fmt(ci['high'])}] {ci['level']:.0%} CI",
    )
    summary.add_row("raw agreement", f"{report['raw_agreement']:.3f}")
    summary.add_row("chance agreement", f"{report['expected_agreement']:.3f}")
    summary.add_row("weighted kappa, linear", _fmt(report["weighted_kappa"]["linear"]))
    summary.add_row("weighted kappa, quadratic", _fmt(report["weighted_kappa"]["quadratic"]))
    console.print(summary)
    if report["kappa_note"]:
        console.print(report["kappa_note"])
    labels = report["confusion"]["labels"]
    console.print("Confusion matrix (rows: labels A, columns: labels B)")
    matrix = Table()
    matrix.add_column("A \\ B")
    for label in labels:
        matrix.add_column(label, justify="right")
    for label, row in zip(labels, report["confusion"]["matrix"], strict=True):
        matrix.add_row(label, *(str(x) for x in row))
    console.print(matrix)


def agreement(
    labels_a: Annotated[
        Path | None,
        typer.Option("--labels-a", help="JSONL file of {id, label} (labels A|B|tie), e.g. the judge's."),
    ] = None,
    labels_b: Annotated[
        Path | None,
        typer.Option("--labels-b", help="JSONL file of {id, label} for the same items, e.g. people's."),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Print a table or one JSON object.")
    ] = OutputFormat.table,
    exclude_ties: Annotated[
        bool, typer.Option("--exclude-ties", help="Drop every pair where either side said tie.")
    ] = False,
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="Bootstrap resamples for the CI.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    level: Annotated[
        float, typer.Option("--level", min=0.5, max=0.999, help="Confidence level of the CI.")
    ] = 0.95,
) -> None:
    """Cohen's kappa (with bootstrap CI), raw agreement, weighted kappa and the confusion matrix."""
    if labels_a is None or labels_b is None:
        typer.echo(
            "error: give both --labels-a and --labels-b (the database mode is not available yet)",
            err=True,
        )
        raise typer.Exit(2)
    try:
        pairs = load_label_pairs(labels_a, labels_b)
    except LabelFileError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    if not pairs.ids:
        typer.echo(
            f"error: no id appears in both files ({len(pairs.only_a)} only in A, "
            f"{len(pairs.only_b)} only in B)",
            err=True,
        )
        raise typer.Exit(1)
    try:
        report = build_report(pairs, exclude_ties=exclude_ties, rounds=rounds, seed=seed, level=level)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    report["labels_a"], report["labels_b"] = str(labels_a), str(labels_b)
    if output is OutputFormat.json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        render_table(report, Console())


def register(app: typer.Typer) -> None:
    """Add `kazarena agreement` to the CLI."""
    app.command("agreement")(agreement)
