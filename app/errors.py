"""The one error a service raises to its callers, and what each kind of refusal means.

Services (app/services, app/serving) raise `ServiceError`; the REST layer maps its
`kind` to an HTTP status in one handler (app/api/errors.py), the UI turns its `code`
into the annotator's language in one function (app/ui/i18n.py `refusal`). Nothing
else crosses the service boundary.
"""

import math
from typing import Literal

Kind = Literal["invalid", "unauthenticated", "forbidden", "not_found", "conflict", "too_large",
               "rate_limited", "unavailable"]

HTTP_STATUS: dict[str, int] = {"invalid": 400, "unauthenticated": 401, "forbidden": 403, "not_found": 404,
                               "conflict": 409, "too_large": 413, "rate_limited": 429, "unavailable": 503}


class ServiceError(Exception):
    """A refusal the caller can act on: `code` is stable (clients and the UI's translations key on it),
    `message` is English for people reading the API, `retry_after` (seconds) comes with rate limits."""

    def __init__(self, kind: Kind, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind, self.code, self.message, self.retry_after = kind, code, message, retry_after

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.kind]

    def __repr__(self) -> str:
        return f"ServiceError({self.kind!r}, {self.code!r}, {self.message!r})"


def rate_limited(wait: float) -> ServiceError:
    """The refusal for a rate limit hit, `wait` seconds before the next try is allowed (sent as Retry-After)."""
    return ServiceError("rate_limited", "rate_limited", f"too many requests; try again in {math.ceil(wait)} s",
                        retry_after=wait)
