"""`kazarena index build|search`: the BM25 grounding index the chat uses."""

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.serving import grounding
from app.serving.grounding import DEFAULT_DOCS
from app.settings import get_settings
from eval.retrieval import (
    DEFAULT_TOKENIZER,
    TOKENIZERS,
    BM25Index,
    DocumentError,
    IndexUnavailable,
    format_sources,
    load_corpus,
)

index_app = typer.Typer(
    help="Build and query the BM25 index that grounds chat answers in GovSet/CultSet documents.",
    no_args_is_help=True,
)
console = Console()


def default_index_path() -> Path:
    return grounding.default_index_path(get_settings())


@index_app.command("build")
def build_index(
    docs: Annotated[
        list[Path] | None,
        typer.Option(
            "--docs",
            help="JSONL corpus file {id,set,topic,title,source_url,text}; repeat for several. "
            "Default: data/govset/govset.jsonl and data/cultset/cultset.jsonl.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write the index. Default: <cache_dir>/index/bm25.json."),
    ] = None,
    tokenizer: Annotated[str, typer.Option(help=f"Tokenizer: {', '.join(TOKENIZERS)}.")] = DEFAULT_TOKENIZER,
) -> None:
    """Chunk the documents into 256-character pieces, tokenize them and save the index."""
    paths = docs or DEFAULT_DOCS
    out = out or default_index_path()
    if tokenizer not in TOKENIZERS:
        raise typer.BadParameter(f"unknown tokenizer {tokenizer!r}; choose from {', '.join(TOKENIZERS)}")
    try:
        corpus = load_corpus(paths)
    except DocumentError as e:
        console.print(f"[red]Cannot read the documents:[/red] {e}", soft_wrap=True)
        raise typer.Exit(1) from e
    start = time.perf_counter()
    index = BM25Index.build(corpus, tokenizer=tokenizer, progress=True)
    index.save(out)
    console.print(
        f"Indexed {index.n_docs} documents as {len(index)} chunks "
        f"in {time.perf_counter() - start:.2f} s -> {out}",
        soft_wrap=True,
    )


@index_app.command("search")
def search_index(
    query: Annotated[str, typer.Argument(help="The question, in Kazakh.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="How many chunks to show.")] = 5,
    index_path: Annotated[
        Path | None,
        typer.Option("--index", help="Index file. Default: <cache_dir>/index/bm25.json."),
    ] = None,
) -> None:
    """Show the best-matching chunks for a query, then the numbered sources."""
    try:
        index = BM25Index.load(index_path or default_index_path())
    except IndexUnavailable as e:
        console.print(str(e), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(1) from e
    hits = index.search(query, k=k)
    if not hits:
        console.print("No matching chunks.")
        return
    table = Table("#", "score", "document", "chunk", show_lines=True)
    for hit in hits:
        table.add_row(str(hit.rank), f"{hit.score:.2f}", hit.chunk.title, hit.chunk.text)
    console.print(table)
    console.print(format_sources(hits), markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(index_app, name="index")
