"""`kazarena admin`: the first admin of a fresh database without SQL, role changes, clear refusals."""

from sqlalchemy import select
from typer.testing import CliRunner

from app.cli.main import app as cli
from app.services import accounts
from app.settings import get_settings
from db.models import Annotator
from db.session import session_scope

runner = CliRunner()


def invoke(url, *args, input=None):
    get_settings.cache_clear()
    try:
        return runner.invoke(cli, ["admin", *args], input=input, env={"KAZARENA_DATABASE_URL": url})
    finally:
        get_settings.cache_clear()


def said(result):
    return " ".join(result.output.split())


def role_of(url, username):
    with session_scope(url) as s:
        return s.scalar(select(Annotator.role).where(Annotator.username == username))


def test_create_makes_an_admin_who_can_log_in_on_a_fresh_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"  # no tables yet: the command migrates first
    assert "no admins yet" in said(invoke(url, "list"))
    made = invoke(url, "create", "aigerim", input="correct horse 42\ncorrect horse 42\n")  # asked twice, hidden
    assert made.exit_code == 0, made.output
    assert "correct horse" not in made.output
    with session_scope(url) as s:
        row, _token = accounts.login(session=s, username="aigerim", password="correct horse 42", ttl_hours=1)
        assert (row.role, row.consent_version) == ("admin", accounts.CONSENT_VERSION)
        assert "correct horse" not in row.password_hash
    assert "aigerim" in said(invoke(url, "list"))


def test_password_from_stdin_and_the_registration_rules_apply(sqlite_url):
    assert invoke(sqlite_url, "create", "boss", "--password-stdin", input="longenough1\n").exit_code == 0
    short = invoke(sqlite_url, "create", "boss2", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "password must be 8-256 characters" in said(short)
    taken = invoke(sqlite_url, "create", "boss", "--password-stdin", input="longenough1\n")
    assert taken.exit_code == 1 and "username is taken" in said(taken)
    bad_name = invoke(sqlite_url, "create", "a b", "--password-stdin", input="longenough1\n")
    assert bad_name.exit_code == 1 and "username" in said(bad_name)
    assert role_of(sqlite_url, "boss2") is None


def test_promote_and_demote_keep_at_least_one_admin(sqlite_url):
    with session_scope(sqlite_url) as s:
        accounts.register(session=s, reg=accounts.Registration(
            username="dana", password="longenough1", proficiency="native", consent=True, age_confirmed=True))
    invoke(sqlite_url, "create", "boss", "--password-stdin", input="longenough1\n")
    last = invoke(sqlite_url, "demote", "boss")
    assert last.exit_code == 1 and "only admin" in said(last) and role_of(sqlite_url, "boss") == "admin"
    assert invoke(sqlite_url, "promote", "dana").exit_code == 0 and role_of(sqlite_url, "dana") == "admin"
    assert invoke(sqlite_url, "demote", "boss").exit_code == 0 and role_of(sqlite_url, "boss") == "annotator"
    missing = invoke(sqlite_url, "promote", "nobody")
    assert missing.exit_code == 1 and "no account named 'nobody'" in said(missing)
