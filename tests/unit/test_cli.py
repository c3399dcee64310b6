"""The operator commands, through Typer's runner, on a real SQLite database."""

from typer.testing import CliRunner

from app.cli import serve as serve_cli
from app.cli.main import app
from app.settings import get_settings

runner = CliRunner()
serve_cli.console.width = 250  # rich would wrap table cells in the runner's narrow terminal


def _env(tmp_path):
    return {"KAZARENA_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "KAZARENA_CACHE_DIR": str(tmp_path / "cache")}


def _run(tmp_path, *args):
    get_settings.cache_clear()
    try:
        return runner.invoke(app, list(args), env=_env(tmp_path))
    finally:
        get_settings.cache_clear()


def test_apikey_lifecycle(tmp_path):
    created = _run(tmp_path, "apikey", "create", "--name", "researcher")
    assert created.exit_code == 0, created.output
    key = next(w for w in created.output.split() if w.startswith("kza_"))
    listed = _run(tmp_path, "apikey", "list")
    assert "researcher" in listed.output and key not in listed.output and "active" in listed.output
    assert _run(tmp_path, "apikey", "revoke", "1").exit_code == 0
    assert "revoked" in _run(tmp_path, "apikey", "list").output
    missing = _run(tmp_path, "apikey", "revoke", "42")
    assert missing.exit_code == 1 and "no API key with id 42" in missing.output
    assert _run(tmp_path, "apikey", "create", "--name", " ").exit_code == 1


def test_db_upgrade_reports_revision(tmp_path):
    from alembic.script import ScriptDirectory

    from db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    out = _run(tmp_path, "db", "upgrade")
    assert out.exit_code == 0 and f"revision {head}" in out.output and head >= "0004"


def test_models_list_and_bad_prepare(tmp_path):
    listed = _run(tmp_path, "models", "list")
    assert listed.exit_code == 0 and "qwen2.5-0.5b-" in listed.output and "not prepared" in listed.output
    bad = _run(tmp_path, "models", "prepare", "llama-70b")
    assert bad.exit_code == 1 and "unknown packaged model" in bad.output


def test_help_explains_every_command(tmp_path):
    out = _run(tmp_path, "--help")
    for command in ("serve", "models", "db", "apikey"):
        assert command in out.output


def test_every_database_command_works_on_a_fresh_database(tmp_path):
    """Each command migrates the database it opens (app/cli/database.py), as `kazarena serve` does:
    on a file that does not exist yet they answer as on an empty campaign, never "no such table"."""
    salt = {"KAZARENA_SECRET_SALT": "fresh-database-salt-0042"}
    for i, (args, exit_code, said) in enumerate([
        (["export", str(tmp_path / "out0")], 0, "Personal data replaced"),
        (["leaderboard"], 2, "no votes yet"),
        (["agreement"], 1, "no judge verdicts yet"),
        (["admin", "list"], 0, "no admins yet"),
        (["apikey", "list"], 0, "prefix"),
    ]):
        env = {**_env(tmp_path), "KAZARENA_DATABASE_URL": f"sqlite:///{tmp_path / f'fresh{i}.db'}", **salt}
        get_settings.cache_clear()
        try:
            result = runner.invoke(app, args, env=env)
        finally:
            get_settings.cache_clear()
        assert result.exit_code == exit_code, (args, result.output)
        assert said in " ".join(result.output.split()), (args, result.output)
        assert "no such table" not in result.output
