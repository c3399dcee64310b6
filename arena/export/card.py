"""The dataset card (README.md): YAML front matter that ``datasets`` reads, then the facts.

The card is a pure function of the export summary, so it is as deterministic as the
data files: its dates are the first and last vote in the data, never the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import yaml

from arena.export.pii import PLACEHOLDERS
from arena.export.schema import CONFIGS

if TYPE_CHECKING:
    from arena.export.writer import ExportSummary

__all__ = ["front_matter", "render_card"]

_PII_NAMES = {
    "email": "e-mail addresses",
    "iban": "bank accounts (IBAN of any country, ISO 13616 mod-97 check)",
    "card": "payment card numbers (13-19 digits, Luhn check)",
    "iin": "IIN/BIN (12 digits, plain or in groups, valid check digit, plausible birth date or registration month)",
    "phone": "phone numbers (+7 / 8 / 7 and ten digits, in any common spacing; public hotlines kept)",
    "passport": "passport numbers (N + 8 digits)",
    "id_card": "ID-card numbers (9 digits next to a word such as \"жеке куәлік\" or \"удостоверение\")",
    "name": "names right after \"менің атым\", \"меня зовут\" or \"my name is\"",
}


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return label
    return "10M<n<100M"


def front_matter(summary: ExportSummary) -> dict[str, Any]:
    # In "both", parquet is what load_dataset reads; the JSON lines sit beside it.
    fmt = "jsonl" if summary.options.formats == ("jsonl",) else "parquet"
    ext = "jsonl" if fmt == "jsonl" else "parquet"
    configs = []
    for name in CONFIGS:
        entry: dict[str, Any] = {"config_name": name}
        if name == "battles":
            entry["default"] = True
        entry["data_files"] = [{"split": "train", "path": f"{name}/train.{ext}"}]
        configs.append(entry)
    return {
        "pretty_name": "kazarena: Kazakh LLM arena preference data",
        "license": "cc-by-4.0",
        "language": ["kk", "ru"],
        "task_categories": ["text-generation"],
        "tags": ["preference", "human-feedback", "dpo", "arena", "kazakh"],
        "size_categories": [_size_category(summary.counts.get("battles", 0))],
        "configs": configs,
    }


def _when(tstamp: float | None) -> str:
    if tstamp is None:
        return "none"
    return datetime.fromtimestamp(tstamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _empty_note(summary: ExportSummary) -> list[str]:
    empty = [name for name, n in summary.counts.items() if n == 0]
    if not empty:
        return []
    names = ", ".join(f"`{name}`" for name in empty)
    return [f"No rows in {names}: the files are there with their columns, but `datasets` cannot load an "
            "empty split; read them with `pyarrow.parquet.read_table` if you need the schema.", ""]


def _selection(summary: ExportSummary) -> list[str]:
    o = summary.options
    return [
        f"- window: {o.since.isoformat() if o.since else 'from the start'} (inclusive) to "
        f"{o.until.isoformat() if o.until else 'the end'} (exclusive)",
        f"- models: {', '.join(o.models) if o.models else 'all'}"
        + (" (battles where both models are listed)" if o.models else ""),
        f"- votes of banned annotators: {'included' if o.include_banned else 'excluded'}",
        f"- gold control battles: {'included' if o.include_gold else 'excluded'}",
        f"- battles flagged by an admin: {'included' if o.include_flagged else 'excluded'}",
    ]


def _schema_tables() -> list[str]:
    lines = []
    for spec in CONFIGS.values():
        lines += [f"### `{spec.name}`", "", spec.description, "", "| column | type | meaning |",
                  "|---|---|---|"]
        lines += [f"| `{name}` | `{dtype}` | {meaning} |" for name, dtype, meaning in spec.columns]
        lines.append("")
    return lines


def render_card(summary: ExportSummary) -> str:
    meta = yaml.safe_dump(front_matter(summary), sort_keys=False, allow_unicode=True)
    counts = summary.counts
    cultset = summary.source_sets.get("cultset", 0)
    lines = [
        "---", meta.rstrip(), "---", "",
        "# kazarena: Kazakh LLM arena preference data", "",
        "Human votes from the kazarena arena, where Kazakh speakers compare two anonymous model answers "
        "on content and on Kazakh language quality, with chat feedback, LLM-judge verdicts, annotator "
        "profiles and DPO pairs. Personal data was removed before anything was written (see below).", "",
        "```python",
        "from datasets import load_dataset",
        "battles = load_dataset(\"path/to/this/folder\", \"battles\", split=\"train\")",
        "```", "",
        "## Configs", "",
        "| config | rows | contents |", "|---|---|---|",
        *[f"| `{name}` | {counts.get(name, 0)} | {spec.description} |" for name, spec in CONFIGS.items()],
        "", *_empty_note(summary),
        (f"Votes from {_when(summary.first_tstamp)} to {_when(summary.last_tstamp)}. "
         if summary.first_tstamp is not None else "No votes in this export. ")
        + "(The export records no clock time of its own, so the same database and options give "
        "byte-identical files.)", "",
        "## Selection", "", *_selection(summary), "",
        "## Contestant ledger", "",
        "`contestants` and `contestant_events` cover every contestant the arena ever served, whatever the "
        "selection above: when it was added, changed or retired and its configured sampling weight over time, "
        "so a model withdrawn, swapped or reweighted without notice still shows. A `revision` is the first 12 "
        "hex digits of a SHA-256 over what answered: the pinned GGUF checksum of a packaged model; the name, "
        "size and first and last MiB of each served file of a local model or LoRA adapter; the name of a Hub "
        "model or external server (their weights are not visible to the arena); and the settings that shape "
        "the answers (pipeline, system prompt, sampling, serving options). Weights are the configured ones: "
        "the sampler also favours pairs with few votes and skips servers that are down, so the probability a "
        "pair was actually drawn with is each battle's `sampling_prob`. `n_votes` counts every stored vote, "
        "those this selection leaves out included. `battles.model_a_revision` is not this revision; a vote's "
        "`tstamp` against `contestant_events` tells which revision answered.", "",
        "## Licence", "",
        "Votes, comments, judgments, annotator profiles and model answers: "
        "[CC BY 4.0](https://creativecommons.org/licenses/by/4.0/).",
        "Prompts of conversation-continuation tasks derived from CultSet (KazQAD passages from Kazakh "
        "Wikipedia) are [CC BY-SA 4.0](https://creativecommons.org/licenses/by-sa/4.0/): share-alike "
        f"applies to those rows (`source_set` = `cultset`; {cultset} battle rows in this export).", "",
        "## Consent", "",
        "Every voter accepted a versioned participation notice (what is collected, that prompts and "
        "votes may be published under an open licence, age 16 or over). Votes per notice version:", "",
        *([f"- `{version or 'unknown'}`: {n}" for version, n in summary.consent_versions.items()]
          or ["- (no votes)"]),
        "",
        "## Personal data", "",
        "- No usernames, password hashes, e-mail addresses or IP addresses are exported.",
        "- Annotator ids (`judge`) were made with HMAC-SHA256 of the database id under a secret salt "
        f"that the operator of the arena keeps and never publishes (key id `{summary.key_id}`, a "
        "fingerprint of the salt, not the salt). Without the salt the ids cannot be reversed, not even "
        "by trying every small id; the same annotator has the same `judge` value in every export made "
        "with this salt. Chat conversation ids are hashed the same way.",
        "- Every free-text field (prompts, answers, comments, feedback reasons, judge replies, sampling "
        "parameters, annotator education and region, contestant sources, settings and descriptions) was "
        "scanned, and each match was replaced by a typed placeholder:", "",
        "| type | placeholder | replacements |", "|---|---|---|",
        *[f"| {_PII_NAMES[kind]} | `{PLACEHOLDERS[kind]}` | {summary.pii.get(kind, 0)} |"
          for kind in PLACEHOLDERS],
        "",
        "- Battles that an admin flagged, gold control battles and votes of banned annotators are "
        "left out unless the selection above says otherwise.",
        "- Automatic scrubbing misses what it cannot recognise (names outside a self-introduction, "
        "addresses): report anything "
        "personal you find to the maintainers and do not redistribute it.", "",
        "## Schema", "", *_schema_tables(),
    ]
    return "\n".join(lines).rstrip() + "\n"
