"""The retry policy: what is retried, how long it waits, and that it gives up."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roma_nb.client import RetryPolicy


@given(status=st.integers(100, 599), attempt=st.integers(1, 10))
def test_only_429_and_503_are_retried_and_only_within_the_budget(status: int, attempt: int) -> None:
    policy = RetryPolicy(max_attempts=4)
    expected = status in (429, 503) and attempt < 4
    assert policy.should_retry_status(status, attempt) is expected


@given(attempt=st.integers(1, 50))
def test_backoff_is_jittered_below_the_cap(attempt: int) -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=4.0)
    delay = policy.delay(attempt)
    assert delay is not None
    assert 0 <= delay <= min(4.0, 0.5 * 2 ** (attempt - 1))


@given(retry_after=st.floats(0, 60), attempt=st.integers(1, 5))
def test_retry_after_is_a_floor(retry_after: float, attempt: int) -> None:
    delay = RetryPolicy().delay(attempt, retry_after)
    assert delay is not None and delay >= retry_after


def test_a_retry_after_beyond_the_limit_gives_up() -> None:
    assert RetryPolicy(max_retry_after=30).delay(1, 31.0) is None


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)
