"""The one retry policy of the plugin's network requests: catalogue searches (STAC, CDSE OData, DHuS),
token requests and downloads all retry through :class:`Retries`.

- What is retried: the statuses in ``RETRY_STATUSES`` (429 Too Many Requests, 500, 502 Bad Gateway,
  503 Service Unavailable, 504 Gateway Timeout) and no answer at all (a refused, reset or cut
  connection, a timeout, a stalled transfer). Any other status (401, 403, 404, ...) is final.
- How often: at most ``retries`` retries (searches 3, downloads 5 by default), and never beyond the
  retry deadline ``retry_deadline_s`` of :mod:`core.util.limits`, counted from the first try (downloads:
  from the last try that brought data, so a long download over a flaky line goes on while it
  progresses). A wait that would end beyond the deadline is not begun: the request gives up at once.
- How long between tries: the server's ``Retry-After`` (delta seconds or an HTTP date) when it sent
  one, else exponential backoff ``backoff * 2 ** (n - 1)`` for retry n; both capped at
  ``MAX_RETRY_WAIT``.
- Every retry is logged at WARNING on this module's logger (the algorithms show it in their log):
  ``HTTP 503 from <server>, retry 1 of 3 in 2 s``.
- A request that gives up says the server, the status (or what happened) and how often it was
  tried in how long (:meth:`Retries.gave_up`).

Only the standard library; no imports from the rest of the plugin but the limits.
"""
import datetime
import email.utils
import logging
import time
from typing import Callable, Optional

from ..util import limits
from ..util.errors import Cancelled

LOG = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRY_WAIT = 120.0  # the longest wait between two tries, whatever Retry-After asks for
SEARCH_RETRIES = 3
DOWNLOAD_RETRIES = 5
BACKOFF = 1.0


def retryable(status: Optional[int]) -> bool:
    """No answer at all (status None) or a status worth another try."""
    return status is None or status in RETRY_STATUSES


def retry_after_seconds(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds a Retry-After header asks to wait (delta seconds or an HTTP date; a date in the past
    is 0); None without a header or for one that is neither."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:  # an HTTP date is GMT
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def retry_delay(attempt: int, retry_after: Optional[str], base: float = BACKOFF) -> float:
    """Seconds to wait before retry number attempt (1, 2, ...): Retry-After when the server sent
    one (seconds or an HTTP date), else exponential backoff; at most MAX_RETRY_WAIT."""
    asked = retry_after_seconds(retry_after)
    if asked is not None:
        return min(MAX_RETRY_WAIT, asked)
    return min(MAX_RETRY_WAIT, base * 2 ** (max(1, attempt) - 1))


def sleep_cancellable(seconds: float, is_cancelled: Optional[Callable[[], bool]] = None) -> None:
    """Wait seconds, checking is_cancelled every 0.1 s (raises Cancelled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if is_cancelled and is_cancelled():
            raise Cancelled()
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def tries_text(tries: int, seconds: float) -> str:
    return f"tried {tries} time{'s' if tries != 1 else ''} in {seconds:.0f} s"


def retry_message(server: str, retry: int, of: int, delay: float, status: Optional[int] = None,
                  detail: str = "") -> str:
    """The log line of one retry: 'HTTP 503 from <server>, retry 1 of 3 in 2 s', or without a status
    'Cannot reach <server>: it closed the connection without answering; retry 1 of 3 in 2 s'."""
    if status:
        return f"HTTP {status} from {server}, retry {retry} of {of} in {delay:.3g} s"
    what = detail if detail and server in detail else f"{server}: {detail or 'no answer'}"
    return f"{what.rstrip('.')}; retry {retry} of {of} in {delay:.3g} s"


class Retries:
    """The retry state of one request (or one download): count the failed tries, tell whether to
    try again and after how long, log and wait for it, and word the final message.

    A caller's loop::

        retries = Retries(shown_url, retries=3, backoff=1.0, is_cancelled=is_cancelled)
        while True:
            retries.begin()                      # counts the try, checks the cancel flag
            try:
                return attempt(retries.time_left())
            except HttpError as error:
                if not error.retryable:
                    raise
                delay = retries.failed(error.retry_after)
                if delay is None:                # out of retries or of time
                    raise HttpError(retries.gave_up(str(error), error.status), error.status) from None
                retries.wait(delay, error.status, str(error))
    """

    def __init__(self, server: str, retries: int = SEARCH_RETRIES, backoff: float = BACKOFF,
                 deadline: Optional[float] = None, is_cancelled: Optional[Callable[[], bool]] = None,
                 clock: Callable[[], float] = time.monotonic):
        self.server, self.retries, self.backoff = server, max(0, int(retries)), backoff
        self.deadline = float(limits.current().retry_deadline_s if deadline is None else deadline)
        self.is_cancelled, self.clock = is_cancelled, clock
        self.first = self.since = clock()
        self.tries = 0  # tries begun
        self.failures = 0  # failed tries since the last that brought data
        self.by_deadline = False  # the last give-up was for want of time (else for want of retries)

    def begin(self) -> None:
        """A try begins (raises Cancelled when the run was cancelled)."""
        if self.is_cancelled and self.is_cancelled():
            raise Cancelled()
        self.tries += 1

    def elapsed(self) -> float:
        return self.clock() - self.first

    def time_left(self) -> float:
        """Seconds until the retry deadline."""
        return self.deadline - (self.clock() - self.since)

    def failed(self, retry_after: Optional[str] = None, progressed: bool = False) -> Optional[float]:
        """A try failed in a way worth another: the seconds to wait before the next, or None when
        the request gives up (no retries left, or the wait would end beyond the deadline).

        progressed: the try brought data (downloads): the failure count and the deadline start anew.
        """
        now = self.clock()
        if progressed:
            self.failures, self.since = 0, now
        else:
            self.failures += 1
        delay = retry_delay(max(1, self.failures), retry_after, self.backoff)
        if self.failures > self.retries:
            self.by_deadline = False
            return None
        if now - self.since + delay >= self.deadline:
            self.by_deadline = True
            return None
        return delay

    def wait(self, delay: float, status: Optional[int] = None, detail: str = "") -> None:
        """Log the retry and wait for it (cancellable)."""
        LOG.warning("%s", retry_message(self.server, max(1, self.failures), self.retries, delay, status, detail))
        sleep_cancellable(delay, self.is_cancelled)

    def tried(self) -> str:
        """'tried 3 times in 7 s'."""
        return tries_text(self.tries, self.elapsed())

    def deadline_note(self) -> str:
        return (f"the retry deadline of {self.deadline:g} s, or {limits.raise_hint('retry_deadline_s')}")

    def gave_up(self, text: str, status: Optional[int] = None) -> str:
        """The final message: text (which names the server and what it answered), how often it was
        tried, and why no more tries were made."""
        text = text.rstrip().rstrip(".")
        if self.by_deadline:
            why = f", and no time was left for another ({self.deadline_note()})"
        elif self.retries:
            why = f" (all {self.retries} retr{'ies' if self.retries != 1 else 'y'} used)"
        else:
            why = ""
        advice = "" if status else " Check the URL and your network or proxy."
        return f"{text}; {self.tried()}{why}.{advice}"
