"""A general-instruction component from real data: translation to and from Kazakh.

FLORES-200 dev (CC BY-SA 4.0; /work/shared/data/flores, rows ``{id, kk, en, ru}``)
gives professionally translated sentence triples. Each row becomes one Kazakh
instruction asking for a translation en->kk, ru->kk, kk->en or kk->ru, in one of
several formal phrasings (polite imperative), direction and phrasing drawn from
a seed. The devtest half is left alone for evaluation.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from db.jsonl import iter_jsonl
from db.paths import SHARED_DATA

FLORES_DEV = SHARED_DATA / "flores" / "kk_en_ru_dev.jsonl"
DIRECTIONS = (("en", "kk"), ("ru", "kk"), ("kk", "en"), ("kk", "ru"))
LANGUAGES = {"kk": "қазақ", "en": "ағылшын", "ru": "орыс"}  # each is "<name> тілі", "the <name> language"
TEMPLATES = (
    "Төмендегі мәтінді {src} тілінен {tgt} тіліне аударыңыз.\n\n{text}",
    "{Src} тіліндегі мына мәтінді {tgt} тіліне аударып беріңіз:\n\n{text}",
    "Келесі сөйлемнің {tgt} тіліндегі аудармасын жазыңыз. Түпнұсқа тілі — {src} тілі.\n\n{text}",
    "Мына мәтін {src} тілінде жазылған. Оны {tgt} тіліне дәл әрі түсінікті етіп аударыңыз.\n\n{text}",
)


def translation_instructions(rows: Sequence[dict[str, Any]], seed: int) -> list[dict[str, str]]:
    """One ``{instruction, output, source}`` record per FLORES row; same rows and seed, same records.

    >>> [record] = translation_instructions([{"id": "7", "kk": "Сәлем", "en": "Hi", "ru": "Привет"}], seed=0)
    >>> record["source"], record["output"]
    ('flores-dev/7/kk-ru', 'Привет')
    >>> record["instruction"].splitlines()[0]
    'Мына мәтін қазақ тілінде жазылған. Оны орыс тіліне дәл әрі түсінікті етіп аударыңыз.'
    """
    rng = random.Random(seed)
    records = []
    for row in rows:
        src, tgt = rng.choice(DIRECTIONS)
        template = rng.choice(TEMPLATES)
        names = {"src": LANGUAGES[src], "tgt": LANGUAGES[tgt], "Src": LANGUAGES[src].capitalize()}
        records.append(
            {
                "instruction": template.format(text=row[src].strip(), **names),
                "output": row[tgt].strip(),
                "source": f"flores-dev/{row['id']}/{src}-{tgt}",
            }
        )
    return records


def load_flores(path: str | Path = FLORES_DEV) -> list[dict[str, Any]]:
    """The FLORES rows that have all three languages; a missing file or column is an error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"general component: FLORES file {path} not found")
    rows = []
    for number, row in iter_jsonl(path):
        missing = [c for c in ("id", *LANGUAGES) if not isinstance(row.get(c), str | int)]
        if missing:
            raise ValueError(f"{path}:{number}: column {missing[0]!r} missing")
        rows.append(row)
    return rows
