"""`kazarena export` through Typer's runner: a real export, option parsing, and the checks on
--push-to-hub that run before anything is written (the Hub itself is unreachable here)."""

import json
from datetime import UTC, datetime

import pytest
import typer
from typer.testing import CliRunner

from app.cli import export as export_cli
from app.settings import get_settings
from arena.export import ExportOptions, parse_bound
from arena.export.hub import check_hub_args
from arena.export.options import split_models
from tests.utils.export_data import fill, folder_files

runner = CliRunner()
cli = typer.Typer()
export_cli.register(cli)
cli.command("noop", hidden=True)(lambda: None)  # two commands, so `export` stays a named sub-command
TOKEN = "hf_" + "a" * 34


def invoke(url, *args, **env):
    get_settings.cache_clear()
    try:
        return runner.invoke(cli, ["export", *map(str, args)],
                             env={"KAZARENA_DATABASE_URL": url, "KAZARENA_SECRET_SALT": "cli-salt-for-the-tests-0042", "HF_TOKEN": "", **env})
    finally:
        get_settings.cache_clear()


def said(result):
    return " ".join(result.output.split())  # rich wraps long lines at the runner's width


def test_export_writes_the_folder_and_reports_counts(sqlite_url, tmp_path):
    fill(sqlite_url)
    out = tmp_path / "out"
    result = invoke(sqlite_url, out, "--format", "both", "--since", "2026-03-01", "--until", "2026-03-02",
                    "--models", "kaz-7b,qwen-0.5b", "--include-gold")
    assert result.exit_code == 0, result.output
    assert "battles" in said(result) and "iin 2" in said(result)
    assert (out / "battles/train.parquet").is_file() and (out / "dpo/train.jsonl").is_file()
    ledger = [json.loads(line) for line in (out / "contestants/train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(c["model"], c["served"]) for c in ledger] == [("kaz-7b", True), ("old-model", False), ("qwen-0.5b", True)]
    assert len((out / "contestant_events/train.jsonl").read_text(encoding="utf-8").splitlines()) == 6
    assert "- gold control battles: included" in (out / "README.md").read_text(encoding="utf-8")

    again = invoke(sqlite_url, out)
    assert again.exit_code == 2 and "is not empty; choose an empty folder" in said(again)
    before = folder_files(out)
    forced = invoke(sqlite_url, out, "--format", "both", "--since", "2026-03-01", "--until", "2026-03-02",
                    "--models", "kaz-7b", "--models", "qwen-0.5b", "--include-gold", "--overwrite")
    assert forced.exit_code == 0, forced.output
    assert folder_files(out) == before  # same options, spelled differently: same bytes


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--token", TOKEN], {}, "only used with --push-to-hub"),
    (["--push-to-hub", "not a repo"], {}, "not a Hub repository id"),
    (["--push-to-hub", "a/b/c", "--token", TOKEN], {}, "not a Hub repository id"),
    (["--push-to-hub", "lab/kazarena-votes"], {}, "needs a write token"),
    (["--push-to-hub", "lab/kazarena-votes", "--token", "secret"], {}, "does not look like"),
    (["--format", "csv"], {}, "unknown format"),
    (["--since", "yesterday"], {}, "not a date"),
    (["--since", "2026-03-05", "--until", "2026-03-01"], {}, "is not before"),
    (["--models", "a,,b"], {}, "empty model name"),
])
def test_bad_arguments_fail_before_anything_is_written(sqlite_url, tmp_path, args, env, message):
    out = tmp_path / "never"
    result = invoke(sqlite_url, out, *args, **env)
    assert result.exit_code == 2 and message in said(result), result.output
    assert not out.exists()


def test_hub_arguments_that_would_work_pass_the_check():
    check_hub_args("is2ai/kazarena-votes", TOKEN, token_given=True)
    check_hub_args(None, "hf_from_environment_xxxxxxxx", token_given=False)  # HF_TOKEN set but unused: fine


def test_dates_and_models_parse_as_documented():
    assert parse_bound("2026-03-01") == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_bound("2026-03-01", end=True) == datetime(2026, 3, 2, tzinfo=UTC)  # the whole day is in
    assert parse_bound("2026-03-01T17:00:00+05:00") == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert parse_bound(None) is None
    assert split_models(["a, b", "c", "a"]) == ("a", "b", "c")
    options = ExportOptions.from_args(fmt="both", until="2026-03-01")
    assert options.formats == ("parquet", "jsonl") and options.until == datetime(2026, 3, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        ExportOptions(since=datetime(2026, 1, 1))
