"""Ids are checked before sending and always escaped as one path segment."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roma_nb.errors import ValidationError
from roma_nb.ids import check_id, path_segment


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "empty"),
        ("x" * 65, "65 characters"),
        ("a\nb", "control character"),
        ("a\x00b", "control character"),
        (" a", "spaces"),
        ("..", "not an id"),
        (None, "must be a string"),
        (12, "must be a string"),
    ],
)
def test_bad_ids_are_refused_with_a_reason(value: object, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        check_id("task_id", value)


@given(st.text(min_size=1, max_size=64))
def test_an_accepted_id_can_never_leave_its_path_segment(value: str) -> None:
    try:
        segment = path_segment("task_id", value)
    except ValidationError:
        return
    assert "/" not in segment
    assert "?" not in segment and "#" not in segment
    assert segment not in (".", "..")


def test_validation_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        check_id("instance_id", "")
