"""`kazarena train`: fine-tune a model on instruction pairs (train/trainer.py does the work).

The options are generated from TrainConfig: one per field, ``--kebab-case`` of
its name, its help from the field's metadata; four keep a short alias from
before (``--out``, ``--lr``, ``--seq-len``, ``--resume``).

Also runnable as a module, which is how several GPUs are used:
    accelerate launch --config_file configs/accelerate_fsdp.yaml -m app.cli.train --model ... --data ...
"""

from __future__ import annotations

import inspect
import json
import logging
import typing
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Annotated, Any

import typer

from train.config import TrainConfig

ALIASES = {
    "output_dir": "--out",
    "learning_rate": "--lr",
    "max_seq_length": "--seq-len",
    "resume_from": "--resume",
}


def _options() -> list[inspect.Parameter]:
    """One keyword parameter per TrainConfig field, annotated with its Typer option."""
    types = typing.get_type_hints(TrainConfig)
    parameters = []
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        # a switch that is on by default also needs its --no- form
        declared = [f"{flag}/--no-{flag[2:]}" if types[f.name] is bool and f.default is True else flag]
        declared += [ALIASES[f.name]] if f.name in ALIASES else []
        option = typer.Option(*declared, help=f.metadata["help"], show_default=f.default is not None)
        default = inspect.Parameter.empty if f.default is MISSING else f.default
        parameters.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[types[f.name], option],
            )
        )
    return parameters


def train_command(**values: Any) -> None:
    """Fine-tune on IFT pairs: packed rows, per-document attention, loss on responses only.

    Writes a Hugging Face directory (safetensors + tokenizer, or a LoRA adapter)
    and run_manifest.json to --output-dir, renamed into place once complete.
    """
    # check what a user most often gets wrong before loading torch and the model
    for label, path in (("--data", values["data"]), ("--eval-data", values["eval_data"])):
        if path is not None and not Path(path).is_file():
            raise _fail(f"{label}: file not found: {path}")
    if not Path(values["model"], "config.json").is_file():
        raise _fail(f"--model: {values['model']} is not a model directory (no config.json)")
    try:
        config = TrainConfig(**values)
        from train.trainer import train

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        result = train(config)
    except (ValueError, FileNotFoundError) as error:
        raise _fail(str(error)) from error
    summary = {
        "output_dir": str(result.output_dir),
        "steps": result.steps,
        "tokens_seen": result.tokens_seen,
        "train_loss": result.train_loss,
        "eval_losses": result.eval_losses,
    }
    typer.echo(json.dumps(summary, ensure_ascii=False))


train_command.__signature__ = inspect.Signature(_options())  # type: ignore[attr-defined]


def _fail(message: str) -> typer.Exit:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=2)


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)


def main() -> None:
    standalone = typer.Typer(add_completion=False)
    standalone.command()(train_command)
    standalone()


if __name__ == "__main__":
    main()
