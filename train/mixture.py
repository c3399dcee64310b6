"""Training mixtures by weight: ``--mix ours=0.8,general=0.2``.

``ours`` is the --data file, used whole; ``general`` is the translation
instructions of train/general.py. The sampling itself is train/datasets.py's
``mix``: every row of the anchor once, the others drawn to the ratio with the
run's seed.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

COMPONENTS = ("ours", "general")


def parse_mix(spec: str) -> dict[str, float]:
    """``"ours=0.8,general=0.2"`` -> ``{"ours": 0.8, "general": 0.2}``, weights normalised to sum 1.

    >>> parse_mix("ours=4, general=1")
    {'ours': 0.8, 'general': 0.2}
    """
    weights: dict[str, float] = {}
    for part in spec.split(","):
        name, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not name:
            raise ValueError(f"--mix: expected NAME=WEIGHT pairs separated by commas, got {part.strip()!r}")
        if name not in COMPONENTS:
            raise ValueError(f"--mix: unknown component {name!r} (known: {', '.join(COMPONENTS)})")
        if name in weights:
            raise ValueError(f"--mix: component {name!r} given twice")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"--mix: weight of {name!r} is not a number: {value!r}") from None
        if not math.isfinite(weight) or weight <= 0:
            raise ValueError(f"--mix: weight of {name!r} must be positive, got {value}")
        weights[name] = weight
    if "ours" not in weights:
        raise ValueError("--mix: 'ours' (the --data file) must be part of the mixture")
    total = sum(weights.values())
    return {name: weight / total for name, weight in weights.items()}


def load_mixture(
    data: str | Path, spec: str | None, seed: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The training records of ``--data`` mixed by ``--mix``; returns them and each source's provenance."""
    from train.datasets import mix
    from train.formatting import read_records
    from train.general import FLORES_DEV, load_flores, translation_instructions

    if not Path(data).is_file():
        raise FileNotFoundError(f"data file {str(data)!r} not found")
    ours = read_records(data)
    sources = {"ours": file_info(data, len(ours))}
    if spec is None:
        return ours, {"sources": sources}
    weights = parse_mix(spec)
    components = {"ours": ours}
    if "general" in weights:
        components["general"] = translation_instructions(load_flores(FLORES_DEV), seed)
        sources["general"] = file_info(FLORES_DEV, len(components["general"]))
    records = mix(components, weights, seed=seed)
    members = {name: {id(r) for r in rows} for name, rows in components.items()}  # mix keeps the objects
    counts = {name: sum(id(r) in ids for r in records) for name, ids in members.items()}
    return records, {"sources": sources, "weights": weights, "counts": counts}


def file_info(path: str | Path, records: int) -> dict[str, Any]:
    return {
        "path": str(path),
        "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        "records": records,
    }
