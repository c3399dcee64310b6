"""`kazarena leaderboard` through Typer's CliRunner on a local app."""

import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from app.cli import leaderboard as leaderboard_cli
from arena.ratings.simulate import simulate_battles

runner = CliRunner()


@pytest.fixture(scope="module")
def app():
    app = typer.Typer()
    leaderboard_cli.register(app)

    @app.callback()
    def main() -> None:  # keeps `leaderboard` a sub-command, as in kazarena
        pass

    return app


@pytest.fixture(scope="module")
def battles_file(tmp_path_factory):
    sim = simulate_battles(np.array([-0.6, 0.0, 0.2, 0.5]), 800, seed=11, models=("kaz-base", "kaz-ft", "qwen", "gemma"))
    rng = np.random.default_rng(0)
    rows = [dict(r, winner_content=r["winner"], topic=("gov" if i % 2 else "culture"),
                 len_a=int(rng.integers(100, 900)), len_b=int(rng.integers(100, 900)), sampling_prob=0.25)
            for i, r in enumerate(sim.rows())]
    path = tmp_path_factory.mktemp("battles") / "battles.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


def test_json_output_parses_with_header_and_rows(app, battles_file):
    result = runner.invoke(app, ["leaderboard", "--battles", str(battles_file), "--format", "json", "--rounds", "100",
                                 "--dimension", "content", "--topic", "gov", "--ipw", "--length-control"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    header = data["header"]
    assert (header["dimension"], header["topic"], header["ci_method"], header["rounds"]) == ("content", "gov", "bootstrap", 100)
    assert header["ipw"] is True and header["method"] == "bradley-terry, length-controlled"
    assert header["anchor"] == "mean rating 1000" and header["n_battles"] == 400
    assert {r["model"] for r in data["rows"]} == {"kaz-base", "kaz-ft", "qwen", "gemma"}
    assert set(data["rows"][0]) == {"model", "rating", "ci_low", "ci_high", "rank_ub", "votes", "wins", "losses", "ties", "provisional",
                                    "group", "unbounded", "separated_rounds"}
    assert np.mean([r["rating"] for r in data["rows"]]) == pytest.approx(1000.0)


def test_table_output_states_the_centring_and_anchor(app, battles_file, tmp_path):
    plot = tmp_path / "board.png"
    result = runner.invoke(app, ["leaderboard", "--battles", str(battles_file), "--ci", "sandwich",
                                 "--anchor", "kaz-base=900", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "kaz-base fixed at 900" in result.stdout and "sandwich" in result.stdout
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"
    default = runner.invoke(app, ["leaderboard", "--battles", str(battles_file), "--ci", "sandwich"])
    assert "mean rating 1000" in default.stdout


def test_csv_output_and_parquet_input(app, battles_file, tmp_path):
    parquet = tmp_path / "battles.parquet"
    pd.read_json(battles_file, lines=True).to_parquet(parquet)
    result = runner.invoke(app, ["leaderboard", "--battles", str(parquet), "--format", "csv", "--ci", "sandwich"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "model,rating,ci_low,ci_high,rank_ub,votes,wins,losses,ties,provisional,group,unbounded,separated_rounds"
    assert len(lines) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--battles", "/nonexistent/battles.jsonl"], "not found"),
        (["--anchor", "kaz-base"], "MODEL=RATING"),
        (["--anchor", "gpt-5=1200"], "not in the data"),
        (["--dimension", "style"], "unknown dimension"),
        (["--ci", "jackknife"], "unknown --ci"),
        (["--topic", "sport"], "topics present"),
        (["--plot", "board.svg"], ".png"),
    ],
)
def test_errors_exit_non_zero_with_an_actionable_message(app, battles_file, args, message):
    base = [] if args[0] == "--battles" else ["--battles", str(battles_file)]
    result = runner.invoke(app, ["leaderboard", *base, *args])
    assert result.exit_code != 0
    assert message in result.output


def test_empty_database_says_what_to_give(app, tmp_path, monkeypatch):
    from app.settings import get_settings

    monkeypatch.setenv("KAZARENA_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["leaderboard"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0 and "no votes yet" in result.output and "--battles FILE" in result.output


def test_registered_in_the_kazarena_app():
    from app.cli.main import app as kazarena

    result = runner.invoke(kazarena, ["leaderboard", "--help"])
    assert result.exit_code == 0 and "--anchor" in result.output


def test_scrutiny_finds_planted_rigging_and_a_silent_change(app, tmp_path):
    """Battles with a planted group voting for one model and a model that got worse in the last week."""
    weeks = []
    for week, theta in enumerate(([0.6, 0.2, 0.0, -0.4], [0.6, 0.2, 0.0, -0.4], [0.6, 0.2, -0.9, -0.4])):
        sim = simulate_battles(np.array(theta), 1500, seed=20 + week, models=("a", "b", "c", "d"))
        start = 1_767_571_200 + week * 7 * 86400  # Mondays, 2026-01-05 on
        weeks += [dict(r, tstamp=start + i * 300) for i, r in enumerate(sim.rows())]
    rng = np.random.default_rng(1)
    for i, row in enumerate(weeks):
        row["annotator"] = f"p{i % 40}"
        if i % 40 < 5 and "d" in (row["model_a"], row["model_b"]):  # p0..p4 always pick d
            row["winner"] = "model_a" if row["model_a"] == "d" else "model_b"
    path = tmp_path / "battles.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rng.permutation(weeks).tolist()), encoding="utf-8")

    result = runner.invoke(app, ["leaderboard", "--battles", str(path), "--format", "json", "--ci", "sandwich"])
    assert result.exit_code == 0, result.output
    checks = json.loads(result.stdout)["scrutiny"]
    assert len(checks["flip_margins"]) == 3 and all(m["votes"] > 0 for m in checks["flip_margins"])
    (group,) = checks["coordinated_groups"]
    assert (group["model"], group["direction"], sorted(group["annotators"])) == ("d", 1, [f"p{k}" for k in range(5)])
    assert {a["model"] for a in checks["change_alarms"]} == {"c"}
    assert set(checks["reliability_weighted"]["ratings"]) == {"a", "b", "c", "d"}
    assert len(checks["reliability_weighted"]["reliability"]) == 40

    table = runner.invoke(app, ["leaderboard", "--battles", str(path), "--ci", "sandwich"])
    assert "Rank robustness" in table.stdout and "change alarm" in table.stdout and "for d: annotators" in table.stdout
    plain = runner.invoke(app, ["leaderboard", "--battles", str(path), "--format", "json", "--no-scrutiny", "--ci", "sandwich"])
    assert "scrutiny" not in json.loads(plain.stdout)
