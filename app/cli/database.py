"""The commands' way to the database: KAZARENA_DATABASE_URL, migrated to head first.

Every command that reads or writes the database goes through here, so a fresh database works with
any of them (it gets its tables, as `kazarena serve` would make them) and an old one is brought up
to date before it is touched.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session


def database_url() -> str:
    """The settings' database URL, after migrating that database to the newest revision."""
    from app.settings import get_settings
    from db.migrate import upgrade

    url = get_settings().database_url
    upgrade(url)  # a no-op on an up-to-date database
    return url


@contextmanager
def database() -> Iterator[Session]:
    """A session on the settings' database (migrated first), committed when the block ends."""
    from db.session import session_scope

    with session_scope(database_url()) as session:
        yield session
