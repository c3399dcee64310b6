"""Backoff after failed logins, per username and per IP, so a password cannot be guessed by trying.

The first `free` failures cost nothing (people mistype); after that every failure doubles the
wait before the next try, up to `lockout_s` (then the account, or the address, is locked for
that long: the message says so and Retry-After says when). A success clears the username's count.
The IP count is looser (several people share a classroom's or a carrier's address). Kept in this
process's memory: with several app processes each keeps its own (see README, "Running at scale").
"""

import threading
import time
from dataclasses import dataclass, field


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


@dataclass
class LoginThrottle:
    free_per_user: int = 5
    free_per_ip: int = 50
    base_s: float = 1.0
    lockout_s: float = 900.0
    forget_after_s: float = 3600.0  # failures older than this are forgotten
    _seen: dict[str, _Failures] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, username: str, ip: str) -> float:
        """Seconds before this username may try again from this IP (0: now)."""
        now = time.monotonic()
        with self._lock:
            return max(self._wait(f"u:{username.lower()}", self.free_per_user, now),
                       self._wait(f"ip:{ip}", self.free_per_ip, now))

    def failed(self, username: str, ip: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"u:{username.lower()}", f"ip:{ip}"):
                seen = self._seen.get(key)
                if seen is None or now - seen.last > self.forget_after_s:
                    seen = self._seen[key] = _Failures()
                seen.count, seen.last = seen.count + 1, now

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._seen.pop(f"u:{username.lower()}", None)

    def _wait(self, key: str, free: int, now: float) -> float:
        seen = self._seen.get(key)
        if seen is None or seen.count < free or now - seen.last > self.forget_after_s:
            return 0.0
        delay = min(self.base_s * 2 ** (seen.count - free), self.lockout_s)
        return max(delay - (now - seen.last), 0.0)
