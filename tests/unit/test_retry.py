"""The retry policy (core.net.retry), without a network: which failures are retried, how long to wait,
when to give up and what the log and the final message say.

Expected answers come from the issue (issue 18: retry 429, 502, 503, 504 and reset connections,
honour Retry-After in seconds or as an HTTP date, bounded by a count and the retry deadline of
core.util.limits, log 'HTTP 503 from <server>, retry 1 of N in X s') and from RFC 9110 section 10.2.3
(Retry-After = HTTP-date / delay-seconds).
"""
import email.utils
import logging
import time

import pytest

from labelmigration.core.util import limits
from labelmigration.core.util.errors import Cancelled
from labelmigration.core.net.retry import (MAX_RETRY_WAIT, RETRY_STATUSES, Retries, retry_after_seconds, retry_delay,
                                           retry_message, retryable)

SERVER = "https://catalogue.example.org/odata/v1/Products"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_retried_statuses_and_no_answer():
    for status in (429, 502, 503, 504, None):
        assert retryable(status), status
    for status in (400, 401, 403, 404, 410, 416):
        assert not retryable(status), status
    assert {429, 502, 503, 504} <= set(RETRY_STATUSES)


def test_retry_after_in_seconds_and_as_http_date():
    assert retry_after_seconds("7") == 7 and retry_after_seconds(" 3 ") == 3 and retry_after_seconds("0") == 0
    assert retry_after_seconds("-5") == 0
    now = time.time()
    assert retry_after_seconds(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0  # the RFC's example: long past
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 12) == 12
    assert retry_after_seconds(None) is None and retry_after_seconds("") is None
    assert retry_after_seconds("soon") is None  # neither: the backoff applies


def test_delay_is_retry_after_else_exponential_backoff_capped():
    assert retry_delay(1, "5", base=0.01) == 5
    assert retry_delay(1, None, base=0.5) == 0.5 and retry_delay(3, None, base=0.5) == 2.0
    assert retry_delay(2, "soon", base=1) == 2  # an unreadable Retry-After: the backoff
    assert retry_delay(1, "100000") == MAX_RETRY_WAIT and retry_delay(30, None) == MAX_RETRY_WAIT


def test_count_bounds_the_retries():
    clock = Clock()
    state = Retries(SERVER, retries=2, backoff=1, deadline=1000, clock=clock)
    delays = []
    for _ in range(3):
        state.begin()
        delays.append(state.failed())
        clock.now += 5
    assert delays == [1, 2, None] and state.tries == 3 and not state.by_deadline
    message = state.gave_up(f"{SERVER} answered HTTP 503 Service Unavailable.", 503)
    assert message == f"{SERVER} answered HTTP 503 Service Unavailable; tried 3 times in 15 s (all 2 retries used)."


def test_deadline_bounds_the_retries_and_a_wait_beyond_it_is_not_begun():
    clock = Clock()
    state = Retries(SERVER, retries=10, backoff=1, deadline=10, clock=clock)
    state.begin()
    assert state.failed() == 1
    clock.now += 6
    state.begin()
    assert state.failed("5") is None and state.by_deadline  # 6 + 5 s would pass the 10 s deadline
    message = state.gave_up(f"{SERVER} answered HTTP 503.", 503)
    assert "tried 2 times in 6 s, and no time was left for another (the retry deadline of 10 s" in message
    assert "Give up retrying after (s)" in message  # where to raise it


def test_deadline_comes_from_the_limits_in_force():
    with limits.using(limits.with_values(retry_deadline_s=42)):
        assert Retries(SERVER).deadline == 42
    assert Retries(SERVER, deadline=3).deadline == 3


def test_progress_restarts_the_count_and_the_deadline():
    """Downloads: a try that brought data is not a failure, and the deadline counts from it."""
    clock = Clock()
    state = Retries(SERVER, retries=1, backoff=1, deadline=10, clock=clock)
    state.begin()
    assert state.failed() == 1
    clock.now += 8
    state.begin()
    assert state.failed(progressed=True) == 1 and state.failures == 0
    clock.now += 8  # 16 s after the first try, 8 s after the progress
    state.begin()
    assert state.failed() == 1
    state.begin()
    assert state.failed() is None and not state.by_deadline


def test_no_answer_advises_checking_the_network():
    state = Retries(SERVER, retries=0, clock=Clock())
    state.begin()
    assert state.failed() is None
    message = state.gave_up(f"Cannot reach {SERVER}: it closed the connection without answering", None)
    assert message.endswith("tried 1 time in 0 s. Check the URL and your network or proxy.")


def test_each_retry_is_logged_and_waited_for(caplog):
    state = Retries(SERVER, retries=3, backoff=0.05)
    with caplog.at_level(logging.WARNING, logger="labelmigration.core.net.retry"):
        state.begin()
        started = time.monotonic()
        state.wait(state.failed(), 503, "busy")
        state.begin()
        state.wait(state.failed(), None, f"Cannot reach {SERVER}: it closed the connection without answering")
    assert time.monotonic() - started >= 0.14
    assert [r.getMessage() for r in caplog.records] == [
        f"HTTP 503 from {SERVER}, retry 1 of 3 in 0.05 s",
        f"Cannot reach {SERVER}: it closed the connection without answering; retry 2 of 3 in 0.1 s"]


def test_log_line_names_the_server_when_the_reason_does_not():
    assert retry_message(SERVER, 1, 5, 2, None, "the connection was cut after 10 bytes") == \
        f"{SERVER}: the connection was cut after 10 bytes; retry 1 of 5 in 2 s"
    assert retry_message(SERVER, 2, 3, 1.5, 429) == f"HTTP 429 from {SERVER}, retry 2 of 3 in 1.5 s"


def test_cancel_stops_before_a_try_and_during_a_wait():
    cancelled = []
    state = Retries(SERVER, retries=3, backoff=30, is_cancelled=lambda: bool(cancelled))
    state.begin()
    delay = state.failed()
    cancelled.append(True)
    started = time.monotonic()
    with pytest.raises(Cancelled):
        state.wait(delay)
    assert time.monotonic() - started < 5  # not the 30 s backoff
    with pytest.raises(Cancelled):
        state.begin()
