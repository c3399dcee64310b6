"""Gold control battles: a known-good answer against a known-bad one.

The good answer is the checked reference of an IFT pair; the bad one corrupts
its facts on purpose: every number is changed, or, for answers without numbers,
the answer to a different question of another topic is given instead.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_NUMBER = re.compile(r"\d+")
# The model names a gold battle stores for its two sides.
GOLD_GOOD, GOLD_BAD = "gold:reference", "gold:corrupted"


@dataclass(frozen=True)
class GoldItem:
    item_id: str
    topic: str | None
    prompt: str
    good: str
    bad: str
    corruption: str  # numbers | swapped


def corrupt_numbers(text: str, rng: np.random.Generator) -> str:
    def change(m: re.Match[str]) -> str:
        n = int(m.group())
        delta = int(rng.integers(1, 9)) * (1 if n < 10 or rng.integers(2) else -1)
        return str(max(n + delta, 0) if n + delta != n else n + 1)

    return _NUMBER.sub(change, text)


def make_gold_item(pairs: Sequence[dict[str, str]], index: int, rng: np.random.Generator) -> GoldItem:
    """Gold item from pair `index` of IFT rows `{id, topic, instruction, output}`."""
    pair = pairs[index]
    good = pair["output"]
    if _NUMBER.search(good):
        return GoldItem(pair["id"], pair.get("topic"), pair["instruction"], good, corrupt_numbers(good, rng), "numbers")
    others = [p for p in pairs if p.get("topic") != pair.get("topic") and p["output"] != good]
    if not others:
        raise ValueError("need pairs of at least two topics to build swapped gold items")
    other = others[int(rng.integers(len(others)))]
    return GoldItem(pair["id"], pair.get("topic"), pair["instruction"], good, other["output"], "swapped")


def replayed_answers(events: Sequence[dict[str, Any]]) -> dict[str, str] | None:
    """Answers a battle knows in advance (its events say so): gold controls, and copies of a voted battle
    sent to another annotator. None for a battle the models answer."""
    for event in events:
        if event.get("type") == "gold":
            return {"a": event["good"], "b": event["bad"]}
        if event.get("type") == "overlap":
            return {"a": event["a"], "b": event["b"]}
    return None
