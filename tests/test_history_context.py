"""Pure parts of the history: time filters, endpoint labels, the record context."""

from __future__ import annotations

import os
import socket
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roma_nb.errors import ValidationError
from roma_nb.history import (
    SANDBOX_LABEL,
    RecordContext,
    default_actor,
    endpoint_label,
    parse_when,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T02:00:00Z", datetime(2024, 5, 1, 2, tzinfo=timezone.utc)),
        ("2024-05-01T02:00:00z", datetime(2024, 5, 1, 2, tzinfo=timezone.utc)),
        ("2024-05-01T04:00:00+02:00", datetime(2024, 5, 1, 2, tzinfo=timezone.utc)),
        ("2024-05-01T02:00:00", datetime(2024, 5, 1, 2, tzinfo=timezone.utc)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=timezone.utc)),
        (date(2024, 5, 1), datetime(2024, 5, 1, tzinfo=timezone.utc)),
        (datetime(2024, 5, 1, 2), datetime(2024, 5, 1, 2, tzinfo=timezone.utc)),
        (timedelta(hours=2), datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),
        ("90m", datetime(2024, 5, 1, 10, 30, tzinfo=timezone.utc)),
        (" 2H ", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),
        ("1.5d", datetime(2024, 4, 30, tzinfo=timezone.utc)),
        ("1w", datetime(2024, 4, 24, 12, tzinfo=timezone.utc)),
        ("30s", datetime(2024, 5, 1, 11, 59, 30, tzinfo=timezone.utc)),
    ],
)
def test_parse_when(value: object, expected: datetime) -> None:
    parsed = parse_when(value, now=NOW)  # type: ignore[arg-type]
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_a_pandas_timestamp_is_a_datetime() -> None:
    import pandas as pd

    stamp = pd.Timestamp("2024-05-01T04:00:00+02:00")
    assert parse_when(stamp) == datetime(2024, 5, 1, 2, tzinfo=timezone.utc)


@pytest.mark.parametrize("value", ["", "yesterday", "2h ago", "-2h", "2024-13-01", 1_700_000_000])
def test_parse_when_refuses_with_a_hint(value: object) -> None:
    with pytest.raises(ValidationError, match=r"ISO-8601|must be a datetime"):
        parse_when(value, now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("endpoint", "label"),
    [
        ("sandbox", SANDBOX_LABEL),
        ("SANDBOX", SANDBOX_LABEL),
        ("https://roma.cn-north-4.myhuaweicloud.com", "roma.cn-north-4.myhuaweicloud.com"),
        ("https://roma.example.com:8443/v2/abc?x=1", "roma.example.com:8443"),
        ("http://user:pw@127.0.0.1:9000/", "127.0.0.1:9000"),
        ("https://[::1]:8443/", "[::1]:8443"),
        ("roma.example.com", "roma.example.com"),
        ("user:pw@roma.example.com/path?token=x", "roma.example.com"),
        ("https://host:notaport/", "host"),
        ("https:///nohost", None),
        (None, None),
    ],
)
def test_endpoint_label(endpoint: str | None, label: str | None) -> None:
    assert endpoint_label(endpoint) == label


@given(
    user=st.text("abcdefghij", min_size=1, max_size=8),
    password=st.text("KLMNOPQRST0123", min_size=6, max_size=12),
    token=st.text("uvwxyz98765", min_size=6, max_size=12),
    host=st.from_regex(r"[a-z]{1,10}(\.[a-z]{1,10}){0,3}", fullmatch=True),
    port=st.none() | st.integers(1, 65535),
)
def test_a_label_never_carries_credentials(
    user: str, password: str, token: str, host: str, port: int | None
) -> None:
    netloc = f"{host}:{port}" if port else host
    url = f"https://{user}:{password}@{netloc}/v2/p?X-Auth-Token={token}"
    label = endpoint_label(url)
    assert label == netloc
    context = RecordContext(endpoint_label=url)
    assert context.endpoint_label == netloc
    assert password not in repr(context) and token not in repr(context)


def test_the_default_actor_names_user_host_and_process() -> None:
    actor = default_actor()
    assert f"@{socket.gethostname()} pid {os.getpid()}" in actor
    assert RecordContext().actor == actor


def test_the_default_actor_survives_a_missing_login_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    def no_user() -> str:
        raise KeyError("uid not found")

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert default_actor().startswith("unknown-user@")


def test_importing_the_history_does_not_load_pandas() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import roma_nb.history; "
        "log = roma_nb.history.ResultLog(); log.begin('i', 't', date_from=None); "
        "print(sorted(m for m in ('pandas', 'numpy', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
