"""`--limit N`: a seeded random sample kept in file order, so a short run is not one topic."""

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def seeded_sample(items: Sequence[T], limit: int | None, seed: int = 0) -> list[T]:
    """At most ``limit`` items drawn without replacement by ``seed``; all of them when ``limit`` is None."""
    if limit is None or limit >= len(items):
        return list(items)
    return [items[i] for i in sorted(random.Random(seed).sample(range(len(items)), limit))]
