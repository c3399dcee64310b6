"""The `kazarena` command: one entry point for operators and researchers."""

import typer

app = typer.Typer(
    name="kazarena",
    help="Kazakh LLM arena: serve models, collect votes, rank, judge, export, train, evaluate.",
    no_args_is_help=True,
    add_completion=False,
)

# Each sub-command lives in its own module; register it here, one line each.
from app.cli import serve as _serve  # noqa: E402

_serve.register(app)
from app.cli import agreement as _agreement  # noqa: E402

_agreement.register(app)
from app.cli import train as _train  # noqa: E402

_train.register(app)
from app.cli import leaderboard as _leaderboard  # noqa: E402

_leaderboard.register(app)
from app.cli import index as _index  # noqa: E402

_index.register(app)
from app.cli import export as _export  # noqa: E402

_export.register(app)
from app.cli import eval as _eval  # noqa: E402

_eval.register(app)
from app.cli import judge as _judge  # noqa: E402

_judge.register(app)
from app.cli import data as _data  # noqa: E402

_data.register(app)
from app.cli import admin as _admin  # noqa: E402

_admin.register(app)
