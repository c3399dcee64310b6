"""`GET /api/admin/export`: the research export as a zip, for administrators only.

The query takes the same options as `kazarena export`. The folder is built in a
temporary directory (errors in the options come back as 400 before anything is
sent), then streamed as a zip built piece by piece and deleted afterwards. A secret salt
anyone could guess (KAZARENA_SECRET_SALT empty, shorter than 16 characters, or a published
default) is a 400 ``{"error": {"code": "weak_secret_salt", "message": ...}}`` and nothing is
exported; with no salt set, the one generated at the first export and kept in the database is used.
"""

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.api.deps import AdminDep, SettingsDep
from app.errors import ServiceError
from arena.export import ExportOptions, export_dataset
from arena.export.archive import zip_folder
from arena.export.salt import WeakSaltError, resolve_salt
from db.session import session_scope
from eval.langid import detect_language

router = APIRouter(prefix="/api/admin", tags=["admin"])
log = logging.getLogger(__name__)

ARCHIVE_NAME = "kazarena-export.zip"


def _stream(folder: tempfile.TemporaryDirectory[str]) -> Iterator[bytes]:
    try:
        yield from zip_folder(Path(folder.name))
    finally:
        folder.cleanup()  # also done by the object's finalizer if the stream never starts


@router.get("/export", response_class=StreamingResponse,
            responses={200: {"content": {"application/zip": {}}, "description": "the export folder, zipped"}})
def export_archive(
    admin: AdminDep,
    settings: SettingsDep,
    format: Annotated[Literal["parquet", "jsonl", "both"], Query(description="data file format")] = "parquet",
    since: Annotated[str | None, Query(description="from this day (YYYY-MM-DD, UTC) or ISO date-time")] = None,
    until: Annotated[str | None, Query(description="up to and including this day, or before an ISO date-time")] = None,
    models: Annotated[list[str] | None, Query(description="only battles where both models are listed")] = None,
    include_flagged: bool = False,
    include_gold: bool = False,
    include_banned: bool = False,
) -> StreamingResponse:
    """Export the arena's data, personal data removed, as a zip of the dataset folder."""
    try:
        options = ExportOptions.from_args(fmt=format, since=since, until=until, models=models,
                                          include_flagged=include_flagged, include_gold=include_gold,
                                          include_banned=include_banned)
    except ValueError as exc:
        raise ServiceError("invalid", "invalid_request", str(exc)) from None
    folder = tempfile.TemporaryDirectory(prefix="kazarena-export-")
    try:
        with session_scope(settings.database_url) as session:
            try:
                salt = resolve_salt(session, settings.secret_salt)
            except WeakSaltError as exc:
                raise ServiceError("invalid", "weak_secret_salt", str(exc)) from None
            summary = export_dataset(session=session, out_dir=Path(folder.name), options=options,
                                     language_of=detect_language, salt=salt)
    except BaseException:
        folder.cleanup()
        raise
    log.info("admin %s exported %s", admin.id, summary.counts)
    return StreamingResponse(_stream(folder), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{ARCHIVE_NAME}"'})
