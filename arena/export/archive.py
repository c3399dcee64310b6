"""A folder as a zip archive, produced piece by piece for a streaming HTTP response.

The zip is written to a sink that only collects bytes (no seeking), so zipfile uses
data descriptors and nothing is held beyond one chunk of one file. Entries are
sorted and dated 1980-01-01, so the same folder always gives the same archive.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["zip_folder"]

_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
_ZIP64_FROM = 1 << 30  # well below the 2 GiB limit, since deflate can grow incompressible data


class _Sink:
    """A write-only file object whose bytes are taken out as they come."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> Iterator[bytes]:
        if self._parts:
            data = b"".join(self._parts)
            self._parts.clear()
            yield data


def zip_folder(root: Path, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """Yield the bytes of a zip of every file under ``root`` (paths relative to it)."""
    files = sorted(p for p in Path(root).rglob("*") if p.is_file())
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            size = path.stat().st_size
            with path.open("rb") as source, archive.open(info, "w", force_zip64=size > _ZIP64_FROM) as target:
                while chunk := source.read(chunk_size):
                    target.write(chunk)
                    yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()
