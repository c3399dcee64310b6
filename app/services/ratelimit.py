"""Per-minute limits on the `limits` package's moving window, per person first and per IP much looser.

A limit is counted against the caller's own identity (annotator, API key, chat session) and,
`ip_factor` times looser, against the client IP: a classroom or a mobile carrier behind one NAT
shares an IP, so the IP limit only stops one machine flooding the service. The storage is
`limits`' memory storage by default (one process); `KAZARENA_RATE_LIMIT_STORAGE=redis://host`
makes every app process count together.
"""

import threading
import time

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


class RateLimiter:
    def __init__(self, name: str, per_minute: int, *, ip_factor: int = 10, storage: str = "memory://") -> None:
        self.name = name
        self.per_subject: RateLimitItem = RateLimitItemPerMinute(per_minute)
        self.per_ip: RateLimitItem = RateLimitItemPerMinute(per_minute * ip_factor)
        self._window = MovingWindowRateLimiter(storage_from_string(storage))
        self._lock = threading.Lock()  # test-then-hit of both keys as one step (sync routes run in threads)

    def check(self, subject: str | None, ip: str) -> float:
        """Count one action of `subject` (None: an anonymous caller, only the IP counts) from `ip`:
        0 when allowed, else the seconds until it would be."""
        keys = [(self.per_ip, self.name, "ip", ip)]
        if subject is not None:
            keys.insert(0, (self.per_subject, self.name, subject))
        with self._lock:
            waits = [self._wait(item, ids) for item, *ids in keys if not self._window.test(item, *ids)]
            if waits:
                return max(waits)
            for item, *ids in keys:
                self._window.hit(item, *ids)
            return 0.0

    def _wait(self, item: RateLimitItem, ids: list[str]) -> float:
        reset = self._window.get_window_stats(item, *ids).reset_time
        return max(reset - time.time(), 0.001)
