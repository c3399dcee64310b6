"""`kazarena admin create|promote|demote|list`: the campaign's admins, without SQL.

The first admin of a fresh database is made here (the web UI only lets admins make admins).
Accounts go through the same service as the registration form, so the same username and
password rules apply and the password is stored only as its argon2 hash.
"""

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.cli.database import database

admin_app = typer.Typer(help="Create the campaign's admin accounts and change roles.", no_args_is_help=True)
console = Console()

Username = Annotated[str, typer.Argument(help="Account name (3-32 letters, digits, '.', '_' or '-').")]


def _refused(error: Exception) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(1)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password (8-256 characters)", hide_input=True, confirmation_prompt=True)


@admin_app.command("create")
def create(
    username: Username,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin (for scripts); "
        "otherwise it is asked for twice, hidden.")] = False,
    proficiency: Annotated[str, typer.Option(
        help="The admin's own Kazakh proficiency (native, C1-C2, B1-B2, A1-A2), shown if they also vote.")] = "native",
) -> None:
    """Create a new admin account (the first one of a campaign is made here).

    Whoever creates it accepts the current participation notice for it (app/services/consent.py),
    as every annotator does when registering.
    """
    from app.errors import ServiceError
    from app.services import accounts

    password = _password(password_stdin)
    try:
        with database() as session:
            row = accounts.register(session=session, role="admin", reg=accounts.Registration(
                username=username, password=password, proficiency=proficiency,
                consent=True, age_confirmed=True))
            admin_id = row.id
    except ServiceError as error:
        raise _refused(error) from None
    typer.echo(f"admin {username!r} created (id {admin_id}); log in on the Arena tab to open the admin panel")


def _set_role(username: str, role: str) -> None:
    from app.errors import ServiceError
    from app.services.accounts import set_role

    try:
        with database() as session:
            set_role(session=session, username=username, role=role)
    except ServiceError as error:
        raise _refused(error) from None
    typer.echo(f"{username!r} is now {'an admin' if role == 'admin' else 'an annotator'}")


@admin_app.command("promote")
def promote(username: Username) -> None:
    """Make an existing annotator an admin."""
    _set_role(username, "admin")


@admin_app.command("demote")
def demote(username: Username) -> None:
    """Make an admin an annotator again (refused for the last admin)."""
    _set_role(username, "annotator")


@admin_app.command("list")
def list_admins() -> None:
    """The admin accounts, with their ban state."""
    from sqlalchemy import select

    from db.models import Annotator

    with database() as session:
        rows = session.execute(select(Annotator.id, Annotator.username, Annotator.banned, Annotator.created_at)
                               .where(Annotator.role == "admin").order_by(Annotator.id)).all()
    if not rows:
        typer.echo("no admins yet: kazarena admin create USERNAME")
        return
    table = Table("id", "username", "banned", "created")
    for r in rows:
        table.add_row(str(r.id), r.username, "yes" if r.banned else "", str(r.created_at)[:19])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(admin_app, name="admin")
