"""Paired labels from two JSONL label files (``{"id": ..., "label": "A"|"B"|"tie"}`` per line).

The CLI gets its pairs from a loader like ``load_label_pairs``; a database
loader returning the same ``LabelPairs`` can sit beside it.
"""

from dataclasses import dataclass
from pathlib import Path

from arena.agreement.labels import normalize_label
from db.jsonl import JsonlError, iter_jsonl


class LabelFileError(ValueError):
    """A label file that cannot be read; ``line`` is 1-based (0: the file as a whole)."""

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class LabelPairs:
    """Labels of the same items from two sources, joined on id.

    ``ids``/``labels_a``/``labels_b`` are parallel (in file a's order);
    ``only_a``/``only_b`` are the ids that found no partner.
    """

    ids: tuple[str, ...]
    labels_a: tuple[str, ...]
    labels_b: tuple[str, ...]
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]


def read_label_file(path: Path | str) -> dict[str, str]:
    """``{id: label}`` from a JSONL label file; labels normalized to A|tie|B.

    Ids are compared as strings (``1`` and ``"1"`` are the same item). Blank
    lines are skipped; anything else that is wrong raises LabelFileError with
    its line number.
    """
    path = Path(path)
    if not path.is_file():
        raise LabelFileError(path, 0, "no such file")
    labels: dict[str, str] = {}
    try:
        for number, row in iter_jsonl(path):
            if "id" not in row or "label" not in row:
                raise LabelFileError(path, number, 'expected an object with "id" and "label"')
            if not isinstance(row["id"], str | int) or isinstance(row["id"], bool):
                raise LabelFileError(path, number, f"id must be a string or an integer, got {row['id']!r}")
            item = str(row["id"])
            try:
                label = normalize_label(row["label"])
            except ValueError as err:
                raise LabelFileError(path, number, str(err)) from None
            if item in labels:
                raise LabelFileError(path, number, f"duplicate id {item!r}")
            labels[item] = label
    except JsonlError as err:
        raise LabelFileError(path, err.line, err.reason) from None
    return labels


def load_label_pairs(path_a: Path | str, path_b: Path | str) -> LabelPairs:
    """Join two label files on id."""
    a, b = read_label_file(path_a), read_label_file(path_b)
    ids = tuple(item for item in a if item in b)
    return LabelPairs(
        ids=ids,
        labels_a=tuple(a[item] for item in ids),
        labels_b=tuple(b[item] for item in ids),
        only_a=tuple(item for item in a if item not in b),
        only_b=tuple(item for item in b if item not in a),
    )
