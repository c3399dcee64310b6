"""`kazarena agreement`: chance-corrected agreement between two sets of labels.

File mode: two JSONL files (``{"id": ..., "label": "A"|"B"|"tie"}``), joined on id.
Database mode (no label files): the LLM judge's verdicts against people's votes on
the same battles, per dimension and per topic, with the bias table, rank agreement
and the cells where the judge is trusted to count in the composite
(``--judge-trust-threshold``; ``eval.judge.agreement`` builds the report,
``render_db_report`` prints it).
"""

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from app.settings import get_settings
from arena.agreement import (
    LabelFileError,
    LabelPairs,
    PairAgreement,
    json_number,
    load_label_pairs,
    pair_agreement,
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


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
        "kappa": json_number(kappa.kappa),
        "kappa_note": kappa.note,
        "ci": {
            "low": json_number(result.ci.low),
            "high": json_number(result.ci.high),
            "level": level,
            "method": "percentile bootstrap over items",
            "rounds": rounds,
            "seed": seed,
            "undefined_rounds": result.ci.n_undefined,
        },
        "raw_agreement": kappa.observed_agreement,
        "expected_agreement": kappa.expected_agreement,
        "weighted_kappa": {
            "linear": json_number(result.linear.kappa),
            "quadratic": json_number(result.quadratic.kappa),
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


def _judge_description(model: str) -> str:
    """Transitional, for app/services/leaderboard.judge_describer until it calls
    ``app.serving.judge.judge_description(model, settings, env)`` with the app's own settings."""
    from app.serving.judge import judge_description

    return judge_description(model, get_settings(), os.environ)


def build_db_report(
    *,
    judge_model: str | None,
    dimensions: list[str],
    self_model: str | None,
    judge_weight: float,
    rounds: int,
    seed: int,
    level: float,
    judge_trust_threshold: float = 0.6,
) -> dict[str, Any]:
    """Judge vs people from the database of ``KAZARENA_DATABASE_URL``; ValueError when there is nothing to compare."""
    from app.cli.database import database
    from app.serving.judge import judge_description
    from arena.records import voted_battle_rows
    from eval.judge.agreement import judge_human_report
    from eval.judge.store import battles_by_id, judge_models, verdict_rows

    with database() as session:
        models = judge_models(session)
        if judge_model is None:
            if not models:
                raise ValueError("the database has no judge verdicts yet; run `kazarena judge --from-db` first")
            if len(models) > 1:
                raise ValueError(f"verdicts from several judges ({', '.join(models)}); pick one with --judge-model")
            judge_model = models[0]
        elif judge_model not in models:
            raise ValueError(f"no verdicts from judge {judge_model!r}; judges in the database: {', '.join(models) or 'none'}")
        verdicts = verdict_rows(session, judge_model)
        votes = list(voted_battle_rows(session=session))
        battles = battles_by_id(session, {str(v["battle_id"]) for v in verdicts})
    report = judge_human_report(
        votes, verdicts, battles, judge=judge_description(judge_model, get_settings(), os.environ), dimensions=dimensions,
        self_model=self_model, judge_weight=judge_weight, trust_threshold=judge_trust_threshold, rounds=rounds,
        seed=seed, level=level,
    )
    report["judge_model"] = judge_model
    report["n_votes"] = len(votes)
    return report


def _ci(x: dict[str, Any]) -> str:
    return f"{_fmt(x['kappa'])} [{_fmt(x['ci_low'])}, {_fmt(x['ci_high'])}]"


def render_judge_trust(trust: dict[str, Any], console: Console) -> None:
    """One table: per (dimension, topic, language) the judge's kappa and whether its verdicts count."""
    table = Table(title=f"Judge trust: its verdicts count where kappa >= {trust['threshold']:g} on "
                        f">= {trust['min_pairs']} pairs ({trust['ci_level']:.0%} bootstrap CI)")
    for column in ("dimension", "topic", "language", "n", "kappa [CI]", "trusted", "verdicts", "why"):
        table.add_column(column, justify="right" if column in ("n", "kappa [CI]", "verdicts") else "left")
    for c in trust["cells"]:
        table.add_row(c["dimension"], c["topic"], c["language"], str(c["n"]), _ci(c), "yes" if c["trusted"] else "NO",
                      str(c["n_verdicts"]), c["reason"])
    console.print(table)
    console.print(f"{trust['n_verdicts_abstained']} judge verdicts abstained (left out of the composite; "
                  f"{trust['n_verdicts_unmeasured']} in cells without human votes), {trust['n_verdicts_kept']} used. "
                  f"People first: {', '.join('/'.join(cell) for cell in trust['human_first']) or 'none'}.")


def render_db_report(report: dict[str, Any], console: Console) -> None:
    """Tables for the judge-vs-people report: judge trust, kappa with CIs, confusion, bias, ratings."""
    console.print(f"Judge: {report['judge']}")
    if "judge_trust" in report:
        render_judge_trust(report["judge_trust"], console)
    for dimension, section in report["dimensions"].items():
        console.rule(f"dimension: {dimension}")
        if section.get("n_judged", 0) == 0 or "overall" not in section:
            console.print(section.get("note", "nothing to report"))
            if section.get("n_judged", 0) == 0:
                continue
        rate = section["inconsistency_rate"]
        console.print(
            f"{section['n_judged']} battles judged, {section['n_invalid']} invalid, {section['n_inconsistent']} "
            f"inconsistent ({'n/a' if rate is None else f'{rate:.1%}'} of those with two verdicts); "
            f"{section['n_votes_matched']} human votes on them."
        )
        if "overall" in section:
            table = Table(title=f"Judge vs people, {dimension}: Cohen's kappa (95% bootstrap CI)")
            for column in ("scope", "scale", "n", "kappa [CI]", "raw agreement", "weighted lin/quad"):
                table.add_column(column, justify="left" if column in ("scope", "scale") else "right")
            scopes = [("all topics", section["overall"])] + [(f"topic {t}", x) for t, x in section["by_topic"].items()]
            for scope, both in scopes:
                for scale in ("three_class", "ties_excluded"):
                    x = both[scale]
                    if x.get("kappa", "missing") == "missing":
                        table.add_row(scope, scale.replace("_", " "), str(x["n"]), x.get("note", ""), "", "")
                        continue
                    table.add_row(scope, scale.replace("_", " "), str(x["n"]), _ci(x), f"{x['raw_agreement']:.3f}",
                                  f"{_fmt(x['weighted_kappa_linear'])} / {_fmt(x['weighted_kappa_quadratic'])}")
            console.print(table)
            confusion = section["overall"]["three_class"]["confusion"]
            matrix = Table(title="Confusion matrix (rows: judge, columns: people)")
            matrix.add_column("judge \\ people")
            for label in confusion["labels"]:
                matrix.add_column(label, justify="right")
            for label, row in zip(confusion["labels"], confusion["matrix"], strict=True):
                matrix.add_row(label, *(str(v) for v in row))
            console.print(matrix)
        bias = Table(title="Judge bias (share of decisive verdicts; exact binomial test against 1/2)")
        for column in ("bias", "favours", "share [95% CI]", "decisive", "ties", "p", "people's share"):
            bias.add_column(column, justify="left" if column in ("bias", "favours") else "right")
        for b in section["bias"]:
            share = "n/a" if b["share"] is None else f"{b['share']:.2f} [{b['ci_low']:.2f}, {b['ci_high']:.2f}]"
            ref = b.get("reference_share")
            bias.add_row(b["name"], b["preferred"], share, str(b["n_decisive"]), str(b["n_ties"]),
                         "n/a" if b["p_value"] is None else f"{b['p_value']:.3g}", "n/a" if ref is None else f"{ref:.2f}")
        console.print(bias)
        ratings = section["ratings"]
        if "note" in ratings:
            console.print(ratings["note"])
            continue
        rank = ratings["rank"]
        if "kendall_tau" in rank:
            console.print(f"Rank agreement, people vs judge ({rank['n_models']} models): Kendall tau "
                          f"{_fmt(rank['kendall_tau'])}, Spearman rho {_fmt(rank['spearman_rho'])}.")
        else:
            console.print(f"Rank agreement: {rank['note']}")
        board = Table(title=f"Bradley-Terry ratings: people, judge, composite (judge weight {ratings['judge_weight']:g}, "
                            f"{ratings['judge_verdicts_used']} verdicts used, {ratings['judge_verdicts_abstained']} abstained)")
        for column in ("model", "people", "judge", "composite"):
            board.add_column(column, justify="left" if column == "model" else "right")
        for m in sorted(ratings["composite"], key=lambda m: -ratings["composite"][m]):
            board.add_row(m, *(f"{ratings[k][m]:.0f}" if m in ratings[k] else "-" for k in ("human", "judge", "composite")))
        console.print(board)


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
    judge_model: Annotated[
        str | None, typer.Option("--judge-model", help="Database mode: whose verdicts (default: the only judge).")
    ] = None,
    dimension: Annotated[
        str, typer.Option("--dimension", help="Database mode: content, language or both.")
    ] = "both",
    self_model: Annotated[
        str | None,
        typer.Option("--self-model", help="Database mode: the contestant that is the judge's own model (self-preference)."),
    ] = None,
    judge_weight: Annotated[
        float, typer.Option("--judge-weight", min=0.0, help="Database mode: weight of a judge verdict in the composite ratings.")
    ] = 1.0,
    judge_trust_threshold: Annotated[
        float,
        typer.Option("--judge-trust-threshold", min=-1.0, max=1.0,
                     help="Database mode: the judge's kappa against people a (dimension, topic, language) cell needs "
                          "before its verdicts count in the composite (0.6: 'substantial', Landis & Koch)."),
    ] = 0.6,
    annotators: Annotated[
        bool, typer.Option("--annotators", help="Database mode: agreement among annotators on battles several of them voted.")
    ] = False,
) -> None:
    """Cohen's kappa (with bootstrap CI), raw agreement, weighted kappa and the confusion matrix.

    With --labels-a/--labels-b: between two label files. Without them: the LLM judge's
    verdicts against people's votes in the database, per dimension and topic, with the
    judge's bias table and people-vs-judge rank agreement.
    """
    if annotators:
        _print_annotator_agreement(dimension, output)
        return
    if labels_a is None and labels_b is None:
        if dimension not in ("content", "language", "both"):
            typer.echo(f"error: unknown --dimension {dimension!r}; choose content, language or both", err=True)
            raise typer.Exit(2)
        try:
            db_report = build_db_report(
                judge_model=judge_model,
                dimensions=["content", "language"] if dimension == "both" else [dimension],
                self_model=self_model, judge_weight=judge_weight, rounds=rounds, seed=seed, level=level,
                judge_trust_threshold=judge_trust_threshold,
            )
        except ValueError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None
        if output is OutputFormat.json:
            typer.echo(json.dumps(db_report, ensure_ascii=False))
        else:
            render_db_report(db_report, Console())
        return
    if labels_a is None or labels_b is None:
        typer.echo("error: give both --labels-a and --labels-b (or neither, for the database mode)", err=True)
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


def _print_annotator_agreement(dimension: str, output: "OutputFormat") -> None:
    from app.cli.database import database
    from arena.agreement.annotators import annotator_agreement
    from arena.records import voted_battle_rows

    with database() as session:
        rows = list(voted_battle_rows(session=session))
    dims = ["content", "language"] if dimension == "both" else [dimension]
    try:
        reports = [annotator_agreement(rows, d) for d in dims]
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if output is OutputFormat.json:
        typer.echo(json.dumps(reports, ensure_ascii=False, default=str))
        return
    for r in reports:
        typer.echo(f"{r['dimension']}: {r['items']} battles voted by 2+ annotators ({r['ratings']} votes)")
        if "note" in r:
            typer.echo(f"  {r['note']}")
            continue
        fleiss = "n/a (" + r["fleiss_note"] + ")" if "fleiss_note" in r else _shown(r["fleiss_kappa"])
        typer.echo(f"  Fleiss' kappa {fleiss}; Krippendorff's alpha nominal {_shown(r['krippendorff_alpha_nominal'])},"
                   f" ordinal {_shown(r['krippendorff_alpha_ordinal'])}")
        for p in r["pairwise_cohen"]:
            note = f" ({p['note']})" if "note" in p else ""
            typer.echo(f"  Cohen's kappa {p['annotator_a']} vs {p['annotator_b']}: {_shown(p['kappa'])} (n={p['n']}){note}")


def _shown(x: float | None) -> str:
    return "undefined" if x is None else f"{x:.3f}"


def register(app: typer.Typer) -> None:
    """Add `kazarena agreement` to the CLI."""
    app.command("agreement")(agreement)
