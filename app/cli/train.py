"""`kazarena train`: fine-tune a model on instruction pairs (train/trainer.py does the work).

Also runnable as a module, which is how several GPUs are used:
    accelerate launch --config_file configs/accelerate_fsdp.yaml -m app.cli.train --model ... --data ...
"""

from __future__ import annotations

import json
import logging
from dataclasses import fields
from pathlib import Path
from typing import Annotated

import typer

from train.config import TrainConfig, field_help

_DEFAULT = {f.name: f.default for f in fields(TrainConfig)}


def _opt(name: str, *flags: str) -> typer.models.OptionInfo:
    return typer.Option(*flags, help=field_help(name))


def train_command(
    model: Annotated[str, _opt("model", "--model")],
    data: Annotated[str, _opt("data", "--data")],
    eval_data: Annotated[str | None, _opt("eval_data", "--eval-data")] = _DEFAULT["eval_data"],
    out: Annotated[str, _opt("output_dir", "--out")] = _DEFAULT["output_dir"],
    chat_template: Annotated[str | None, _opt("chat_template", "--chat-template")] = _DEFAULT[
        "chat_template"
    ],
    lora: Annotated[bool, _opt("lora", "--lora")] = _DEFAULT["lora"],
    lora_r: Annotated[int, _opt("lora_r", "--lora-r")] = _DEFAULT["lora_r"],
    lora_alpha: Annotated[int, _opt("lora_alpha", "--lora-alpha")] = _DEFAULT["lora_alpha"],
    lr: Annotated[float | None, _opt("learning_rate", "--lr")] = _DEFAULT["learning_rate"],
    weight_decay: Annotated[float, _opt("weight_decay", "--weight-decay")] = _DEFAULT["weight_decay"],
    batch_size: Annotated[int, _opt("batch_size", "--batch-size")] = _DEFAULT["batch_size"],
    micro_batch_size: Annotated[int, _opt("micro_batch_size", "--micro-batch-size")] = _DEFAULT[
        "micro_batch_size"
    ],
    seq_len: Annotated[int, _opt("max_seq_length", "--seq-len")] = _DEFAULT["max_seq_length"],
    attention: Annotated[str, _opt("attention", "--attention")] = _DEFAULT["attention"],
    epochs: Annotated[int, _opt("epochs", "--epochs")] = _DEFAULT["epochs"],
    max_steps: Annotated[int | None, _opt("max_steps", "--max-steps")] = _DEFAULT["max_steps"],
    eval_every: Annotated[int, _opt("eval_every", "--eval-every")] = _DEFAULT["eval_every"],
    save_every: Annotated[int, _opt("save_every", "--save-every")] = _DEFAULT["save_every"],
    resume: Annotated[str | None, _opt("resume_from", "--resume")] = _DEFAULT["resume_from"],
    seed: Annotated[int, _opt("seed", "--seed")] = _DEFAULT["seed"],
) -> None:
    """Fine-tune on IFT pairs: packed rows, per-document attention, loss on responses only.

    Writes a Hugging Face directory (safetensors + tokenizer, or a LoRA adapter)
    and run_manifest.json to --out.
    """
    # check what a user most often gets wrong before loading torch and the model
    for label, path in (("--data", data), ("--eval-data", eval_data)):
        if path is not None and not Path(path).is_file():
            raise _fail(f"{label}: file not found: {path}")
    if not Path(model, "config.json").is_file():
        raise _fail(f"--model: {model} is not a model directory (no config.json)")
    try:
        config = TrainConfig(
            model=model, data=data, eval_data=eval_data, output_dir=out,
            chat_template=chat_template, lora=lora, lora_r=lora_r, lora_alpha=lora_alpha,
            learning_rate=lr, weight_decay=weight_decay, batch_size=batch_size,
            micro_batch_size=micro_batch_size, max_seq_length=seq_len, attention=attention,
            epochs=epochs, max_steps=max_steps, eval_every=eval_every, save_every=save_every,
            resume_from=resume, seed=seed,
        )  # fmt: skip
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
