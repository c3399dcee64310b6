"""`kazarena eval mcq|rag|generation|conversation|all`: the seed paper's tables, one command each.

Models are reached through an OpenAI-compatible base URL: kazarena's own /v1
(default, built from the settings' host and port) or a vLLM server directly.
Results go to the database (``eval_results``, unless --no-db) and to a Markdown
report with plots in --out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.settings import IFT_TEST, IFT_TRAIN, get_settings
from eval.results import ScoreRow, new_run_id

if TYPE_CHECKING:  # the eval modules are imported when a command runs, so `kazarena --help` stays fast
    import openai

    from eval.mcq import MCQDataset
    from eval.preference import LLMJudge
    from eval.runner import MCQRun, PairwiseRun

eval_app = typer.Typer(
    help="Evaluate models: zero-shot MCQ, its BM25-RAG baseline, generation on the IFT test split, "
    "conversation continuation; results stored in the database and written as a Markdown report.",
    no_args_is_help=True,
)
err = Console(stderr=True)

Models = Annotated[list[str], typer.Option("--models", "-m", help="Model names as served (repeat or comma-separate). "
                                           "Pairwise judging compares each with the first one.")]
Datasets = Annotated[list[str], typer.Option("--datasets", "-d", help="MCQ datasets: dastur, constitution, unt, "
                                             "unt-human-society-rights, unt:SUBJECT, kazmmlu[:CONFIG], a Hub id, or "
                                             "a local .jsonl/.csv (repeat or comma-separate).")]
BaseUrl = Annotated[str | None, typer.Option(help="OpenAI-compatible base URL ending in /v1. "
                                             "Default: this kazarena (http://HOST:PORT/v1 from the settings).")]
ApiKey = Annotated[str, typer.Option(envvar="KAZARENA_API_KEY", help="API key for --base-url (a kazarena key).")]
Limit = Annotated[int | None, typer.Option(min=1, help="At most N items of each dataset: a random sample drawn with --seed, kept in file order (the files are sorted by document and topic).")]
Out = Annotated[Path | None, typer.Option(help="Report folder. Default: eval-reports/RUN_ID.")]
Seed = Annotated[int, typer.Option(help="Seed of the bootstrap intervals and of the --limit sample.")]
Rounds = Annotated[int, typer.Option(min=100, help="Bootstrap rounds.")]
NoDb = Annotated[bool, typer.Option("--no-db", help="Do not store the results in the database.")]
Ratings = Annotated[Path | None, typer.Option(help="Arena ratings (`kazarena leaderboard --format json` output or "
                                              "{model: rating}) to correlate each score with.")]
BatchSize = Annotated[int, typer.Option(min=1, help="Prompts per log-likelihood request.")]
Concurrency = Annotated[int, typer.Option(min=1, help="Requests in flight at once.")]
Corpus = Annotated[list[Path] | None, typer.Option(help="RAG corpus: IFT JSONL (instruction, output) or documents "
                                                   "JSONL (id, set, topic, title, source_url, text). "
                                                   "Default: data/ift/train.jsonl.")]
TestFile = Annotated[Path | None, typer.Option(help="IFT pairs to answer. Default: data/ift/test.jsonl.")]
MaxTokens = Annotated[int, typer.Option(min=1, help="Longest answer, in tokens.")]
Encoder = Annotated[str, typer.Option(help="BERTScore encoder (a local folder or a cached Hub id); 'none' skips it.")]
Tasks = Annotated[Path | None, typer.Option(help="Dialogues JSONL {id, topic, messages}. "
                                            "Default: the conversation_tasks table.")]
JudgeUrl = Annotated[str | None, typer.Option(help="Judge base URL. Default: KAZARENA_JUDGE_BASE_URL, else OpenAI "
                                              "when OPENAI_API_KEY is set, else this kazarena's first model.")]
JudgeModel = Annotated[str | None, typer.Option(help="Judge model. Default: KAZARENA_JUDGE_MODEL (gpt-4o on OpenAI).")]
NoJudge = Annotated[bool, typer.Option("--no-judge", help="Skip the judge preference (generation).")]
Pairs = Annotated[str | None, typer.Option(
    help="Fine-tuned vs vanilla comparisons, FT:VANILLA[,FT2:VANILLA2], both named in --models: for each pair and "
    "metric (ROUGE-L, sentence chrF++, held-out loss, echo rate, Kazakh share) the paired bootstrap interval of "
    "FT minus VANILLA over the same items, overall, by set and by topic (--rounds, --seed).")]
TokenizerDir = Annotated[Path | None, typer.Option(
    "--tokenizer", exists=True, file_okay=False, dir_okay=True,
    help="Local tokenizer folder with the models' chat template (e.g. ~/.cache/kazarena/models/gemma-3-270m): "
    "adds the held-out loss per response token, read from the served model's echoed prompt logprobs "
    "(/v1/completions). Without it the loss is skipped.")]


@dataclass
class Common:
    models: list[str]
    base_url: str
    api_key: str
    limit: int | None
    out: Path
    seed: int
    rounds: int
    no_db: bool
    ratings: Path | None
    run_id: str

    def client(self) -> openai.OpenAI:
        import openai

        return openai.OpenAI(base_url=self.base_url, api_key=self.api_key or "EMPTY", timeout=600, max_retries=2)


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


def _common(models: list[str], base_url: str | None, api_key: str, limit: int | None, out: Path | None, seed: int,
            rounds: int, no_db: bool, ratings: Path | None) -> Common:
    names = _split(models)
    if not names:
        raise typer.BadParameter("give at least one model with --models")
    if len(set(names)) != len(names):
        raise typer.BadParameter(f"a model is named twice in --models: {', '.join(names)}")
    settings = get_settings()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    url = (base_url or f"http://{host}:{settings.port}/v1").rstrip("/")
    run_id = new_run_id()
    return Common(names, url, api_key, limit, out or Path("eval-reports") / run_id, seed, rounds, no_db, ratings,
                  run_id)


def _judge(base_url: str | None, model: str | None) -> LLMJudge:
    """The LLM judge, chosen as `kazarena judge` chooses it: flags, settings, GPT-4o, else the local model."""
    from app.cli.judge import judge_config
    from eval.preference import LLMJudge

    config = judge_config(get_settings(), base_url=base_url, model=model)
    err.print(f"judge: {config.describe()}")
    return LLMJudge(config, progress=True)


def _mcq_datasets(datasets: list[str], limit: int | None, seed: int = 0) -> list[MCQDataset]:
    from eval.mcq import load_mcq

    specs = _split(datasets)
    if not specs:
        raise typer.BadParameter("give at least one dataset with --datasets")
    return [load_mcq(spec, limit=limit, seed=seed) for spec in specs]


def _run_mcq(c: Common, datasets: list[str], task: str, batch_size: int, concurrency: int,
             corpus: list[Path] | None = None) -> list[MCQRun | PairwiseRun]:
    from eval.mcq import RagPrefix, build_rag_index
    from eval.runner import run_mcq

    prefix = None
    if task == "rag":
        paths = corpus or [IFT_TRAIN]
        with err.status("building the BM25 index"):
            prefix = RagPrefix(build_rag_index(paths))
    return run_mcq(c.client(), c.models, _mcq_datasets(datasets, c.limit, c.seed), task=task, prefix=prefix,
                   batch_size=batch_size, concurrency=concurrency, rounds=c.rounds, seed=c.seed, progress=True)


def parse_pairs(text: str | None, models: list[str]) -> list[tuple[str, str]]:
    """``FT:VANILLA[,FT2:VANILLA2]`` as (fine-tuned, vanilla) pairs of models named in --models."""
    pairs = []
    for spec in _split([text] if text else []):
        parts = [p.strip() for p in spec.split(":")]
        if len(parts) != 2 or not all(parts):
            raise typer.BadParameter(f"--pairs: {spec!r} is not FT:VANILLA (two model names and one colon)")
        unknown = [p for p in parts if p not in models]
        if unknown:
            raise typer.BadParameter(f"--pairs: {', '.join(unknown)} in {spec!r} is not among --models "
                                     f"({', '.join(models)}); every paired model must be evaluated")
        if parts[0] == parts[1]:
            raise typer.BadParameter(f"--pairs: {spec!r} compares a model with itself")
        pairs.append((parts[0], parts[1]))
    if len(set(pairs)) != len(pairs):
        raise typer.BadParameter(f"--pairs: a pair is given twice in {text!r}")
    return pairs


def _run_generation(c: Common, test_file: Path | None, max_tokens: int, encoder: str, concurrency: int,
                    judge_base_url: str | None, judge_model: str | None, no_judge: bool,
                    pairs: list[tuple[str, str]] | None = None, tokenizer_dir: Path | None = None) -> PairwiseRun:
    from eval.generation import load_generation_items
    from eval.runner import run_generation

    items = load_generation_items(test_file or IFT_TEST, limit=c.limit, seed=c.seed)
    tokenizer = None
    if tokenizer_dir is not None:
        from eval.heldout_loss import load_tokenizer

        with err.status("loading the tokenizer"):
            tokenizer = load_tokenizer(tokenizer_dir)
    judge = None if no_judge or len(c.models) < 2 else _judge(judge_base_url, judge_model)
    scorer = None
    if encoder.lower() != "none":
        from eval.metrics.bertscore import BertScorer

        scorer = BertScorer(encoder)
    return run_generation(c.client(), c.models, items, judge=judge, bert_scorer=scorer, pairs=pairs or [],
                          tokenizer=tokenizer, max_tokens=max_tokens, concurrency=concurrency, rounds=c.rounds,
                          seed=c.seed, progress=True)


def _run_conversation(c: Common, tasks: Path | None, max_tokens: int, concurrency: int, judge_base_url: str | None,
                      judge_model: str | None) -> PairwiseRun:
    from eval.conversation import load_dialogues, load_dialogues_from_db
    from eval.runner import run_conversation

    if tasks is not None:
        dialogues = load_dialogues(tasks, limit=c.limit)
    else:
        from app.cli.database import database

        with database() as session:
            dialogues = load_dialogues_from_db(session, limit=c.limit)
    if not dialogues:
        raise ValueError("no dialogues: give --tasks FILE or fill the conversation_tasks table")
    return run_conversation(c.client(), c.models, dialogues, _judge(judge_base_url, judge_model), max_tokens=max_tokens, concurrency=concurrency,
                            progress=True)


def _finish(c: Common, runs: list[MCQRun | PairwiseRun]) -> None:
    from eval.correlation import arena_correlations, load_ratings
    from eval.report import write_report
    from eval.runner import save_rows, write_outputs

    rows: list[ScoreRow] = [r for run in runs for r in run.rows]
    if not rows:
        raise ValueError("nothing was evaluated")
    correlations = arena_correlations(rows, load_ratings(c.ratings)) if c.ratings else []
    write_outputs(c.out, runs)
    report = write_report(rows, c.out, run_id=c.run_id, correlations=correlations)
    if not c.no_db:
        from app.cli.database import database

        with database() as session:
            stored = save_rows(session, c.run_id, rows)
        err.print(f"stored {stored} results as run {c.run_id}")
    table = Table(title=f"run {c.run_id}")
    for column in ("task", "dataset", "model", "metric", "value", "CI", "n"):
        table.add_column(column)
    for r in rows:
        if r.subset is None:
            ci = f"{r.ci_low:.3f} – {r.ci_high:.3f}" if r.ci_low is not None and r.ci_high is not None else ""
            table.add_row(r.task, r.dataset, r.model, r.metric, f"{r.value:.3f}", ci, str(r.n))
    Console().print(table)
    err.print(f"report written to {report}")


def _guard(fn: Callable[[], None]) -> None:
    """Turn the errors a user can fix into a red message and exit code 2."""
    import openai

    from eval.mcq import DatasetUnavailable

    try:
        fn()
    except (ValueError, OSError, RuntimeError, DatasetUnavailable, openai.APIError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None


@eval_app.command("mcq")
def mcq(models: Models, datasets: Datasets, base_url: BaseUrl = None, api_key: ApiKey = "", limit: Limit = None,
        out: Out = None, seed: Seed = 0, rounds: Rounds = 1000, batch_size: BatchSize = 32,
        concurrency: Concurrency = 4, no_db: NoDb = False, ratings: Ratings = None) -> None:
    """Zero-shot multiple choice: the option letter with the highest log-likelihood."""
    c = _common(models, base_url, api_key, limit, out, seed, rounds, no_db, ratings)
    _guard(lambda: _finish(c, _run_mcq(c, datasets, "mcq", batch_size, concurrency)))


@eval_app.command("rag")
def rag(models: Models, datasets: Datasets, corpus: Corpus = None, base_url: BaseUrl = None, api_key: ApiKey = "",
        limit: Limit = None, out: Out = None, seed: Seed = 0, rounds: Rounds = 1000, batch_size: BatchSize = 32,
        concurrency: Concurrency = 4, no_db: NoDb = False, ratings: Ratings = None) -> None:
    """The RAG baseline: the same MCQ with the top-2 BM25 chunks (256 characters) prepended."""
    c = _common(models, base_url, api_key, limit, out, seed, rounds, no_db, ratings)
    _guard(lambda: _finish(c, _run_mcq(c, datasets, "rag", batch_size, concurrency, corpus)))


@eval_app.command("generation")
def generation(models: Models, pairs: Pairs = None, tokenizer: TokenizerDir = None, test_file: TestFile = None,
               max_tokens: MaxTokens = 512, encoder: Encoder = "kz-transformers/kaz-roberta-conversational",
               judge_base_url: JudgeUrl = None, judge_model: JudgeModel = None, no_judge: NoJudge = False,
               base_url: BaseUrl = None, api_key: ApiKey = "", limit: Limit = None, out: Out = None, seed: Seed = 0,
               rounds: Rounds = 2000, concurrency: Concurrency = 4, no_db: NoDb = False,
               ratings: Ratings = None) -> None:
    """Answer the IFT test instructions: ROUGE-L, chrF++, BERTScore, echo rate, Kazakh share, judge preference
    vs the first model; with --pairs, fine-tuned minus vanilla with paired intervals; with --tokenizer, the
    held-out loss.

    Example, a tuned adapter against its base behind `kazarena serve`:

        kazarena eval generation -m gemma-3-270m-kk,gemma-3-270m-base --pairs gemma-3-270m-kk:gemma-3-270m-base
        --tokenizer ~/.cache/kazarena/models/gemma-3-270m --no-judge --encoder none
    """
    c = _common(models, base_url, api_key, limit, out, seed, rounds, no_db, ratings)
    paired = parse_pairs(pairs, c.models)
    _guard(lambda: _finish(c, [_run_generation(c, test_file, max_tokens, encoder, concurrency, judge_base_url,
                                               judge_model, no_judge, paired, tokenizer)]))


@eval_app.command("conversation")
def conversation(models: Models, tasks: Tasks = None, max_tokens: MaxTokens = 512, judge_base_url: JudgeUrl = None,
                 judge_model: JudgeModel = None, base_url: BaseUrl = None, api_key: ApiKey = "", limit: Limit = None,
                 out: Out = None, seed: Seed = 0, concurrency: Concurrency = 4, no_db: NoDb = False,
                 ratings: Ratings = None) -> None:
    """Both models continue unfinished dialogues; the judge picks; results per topic."""
    c = _common(models, base_url, api_key, limit, out, seed, 1000, no_db, ratings)
    _guard(lambda: _finish(c, [_run_conversation(c, tasks, max_tokens, concurrency, judge_base_url, judge_model)]))


@eval_app.command("all")
def all_tasks(models: Models, datasets: Datasets, corpus: Corpus = None, test_file: TestFile = None,
              tasks: Tasks = None, max_tokens: MaxTokens = 512,
              encoder: Encoder = "kz-transformers/kaz-roberta-conversational", judge_base_url: JudgeUrl = None,
              judge_model: JudgeModel = None, base_url: BaseUrl = None, api_key: ApiKey = "", limit: Limit = None,
              out: Out = None, seed: Seed = 0, rounds: Rounds = 1000, batch_size: BatchSize = 32,
              concurrency: Concurrency = 4, no_db: NoDb = False, ratings: Ratings = None) -> None:
    """MCQ, RAG, generation and (when there are dialogues and a judge) conversation, in one report."""
    c = _common(models, base_url, api_key, limit, out, seed, rounds, no_db, ratings)

    def run() -> None:
        runs = _run_mcq(c, datasets, "mcq", batch_size, concurrency)
        runs += _run_mcq(c, datasets, "rag", batch_size, concurrency, corpus)
        runs.append(_run_generation(c, test_file, max_tokens, encoder, concurrency, judge_base_url, judge_model,
                                    no_judge=False))
        if len(c.models) > 1:
            try:
                runs.append(_run_conversation(c, tasks, max_tokens, concurrency, judge_base_url, judge_model))
            except ValueError as exc:
                err.print(f"[yellow]skipping the conversational evaluation: {exc}[/yellow]")
        _finish(c, runs)

    _guard(run)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
