"""The history's columns, written once: every other list of columns is derived from ``SCHEMA``.

The frame's columns and dtypes, the SQL that writes and reads rows, the CSV reader, the styled
view, plain records and the panel's results table all walk this one table, so they cannot drift
apart. Adding a column is one entry here (appended: the frame's order is stable) plus the
migration that adds it to existing files (an ``ALTER TABLE`` appended to ``_sql.MIGRATIONS``);
the inserts, reads, frames, records and exports then carry it.

Each entry says what a column *is* (its ``kind``, which decides its dtype, its check on the way
in and its shape on the way out) and where it is *stored*: in ``attempts`` (one row per attempt),
in ``targets`` / ``writers`` (stored once, looked up by id), or nowhere (``date_from`` is shown
from the exact ``date_from_ms``).

==================  ===========  =======================  ========================================
column              kind         dtype                    meaning
==================  ===========  =======================  ========================================
``id``              ``id``       ``Int64``                row id, increasing in write order
``at``              ``time``     ``datetime64[us, UTC]``  when the attempt started
``instance_id``     ``text``     ``string``
``task_id``         ``text``     ``string``
``task_name``       ``text``     ``string``
``date_from``       ``instant``  ``datetime64[ms, UTC]``  the instant sent; ``NaT`` when none
``date_from_ms``    ``int``      ``Int64``                the exact integer sent: the truth
``outcome``         ``outcome``  ``category``             ``pending`` until the answer is recorded
``status_code``     ``int``      ``Int64``
``message`` ..      ``text``     ``string``               ``message``, ``error_code``,
                                                          ``error_msg``, ``request_id``
``elapsed_ms``      ``ms``       ``Float64``
``attempts``        ``int``      ``Int64``                requests actually sent
``dry_run``         ``flag``     ``boolean``
``project_id`` ..   ``text``     ``string``               ``project_id``, ``endpoint``, ``actor``
``completed_at``    ``time``     ``datetime64[us, UTC]``  when the outcome was recorded
``step``            ``text``     ``string``               a rewind's step (look, stop, reset,
                                                          start, verify); ``<NA>`` for a reset
``rewind_id``       ``text``     ``string``               ties the step rows of one rewind
``was_running``     ``flag``     ``boolean``              the state the rewind's look found
``plan_id``         ``text``     ``string``               the plan file applied (``roma_nb.plans``)
==================  ===========  =======================  ========================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..models import OUTCOMES

__all__ = [
    "COLUMNS",
    "OUTCOME_CATEGORIES",
    "RESULT_COLUMNS",
    "SCHEMA",
    "Column",
    "Kind",
    "Stored",
    "stored_in",
]

OUTCOME_CATEGORIES: tuple[str, ...] = ("pending", *OUTCOMES)
"""Every value ``outcome`` takes in the history: ``pending`` until the answer is recorded."""

Kind = Literal["id", "int", "text", "time", "instant", "outcome", "ms", "flag"]
"""``time``: integer microseconds in SQL, a UTC datetime out; ``instant``: shown from an exact
epoch-ms column; ``ms``: a float number of milliseconds; ``flag``: 0/1 in SQL, a bool out."""

Stored = Literal["attempts", "targets", "writers"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the history.

    ``source`` is the SQL column of ``table`` that holds it, or, for a column shown from another
    (``table`` None), that other column's name. ``nullable`` is whether a row may lack it.
    ``from_result``: filled from the ``ResetResult`` attribute of the same name when an attempt
    is completed. ``in_results``: shown in the panel's results table.
    """

    name: str
    kind: Kind
    table: Stored | None
    source: str
    nullable: bool = True
    from_result: bool = False
    in_results: bool = False


def _attempt(name: str, kind: Kind, source: str | None = None, **flags: bool) -> Column:
    return Column(name, kind, "attempts", source or name, **flags)


SCHEMA: tuple[Column, ...] = (
    _attempt("id", "id", nullable=False),
    _attempt("at", "time", "at_us", nullable=False, in_results=True),
    Column("instance_id", "text", "targets", "instance_id", nullable=False),
    Column("task_id", "text", "targets", "task_id", nullable=False, in_results=True),
    Column("task_name", "text", "targets", "task_name", in_results=True),
    Column("date_from", "instant", None, "date_from_ms", in_results=True),
    _attempt("date_from_ms", "int", in_results=True),
    _attempt("outcome", "outcome", nullable=False, from_result=True, in_results=True),
    _attempt("status_code", "int", from_result=True, in_results=True),
    _attempt("message", "text", from_result=True, in_results=True),
    _attempt("error_code", "text", from_result=True, in_results=True),
    _attempt("error_msg", "text", from_result=True, in_results=True),
    _attempt("request_id", "text", from_result=True, in_results=True),
    _attempt("elapsed_ms", "ms", from_result=True),
    _attempt("attempts", "int", nullable=False, from_result=True, in_results=True),
    _attempt("dry_run", "flag", nullable=False, in_results=True),
    Column("project_id", "text", "writers", "project_id"),
    Column("endpoint", "text", "writers", "endpoint"),
    Column("actor", "text", "writers", "actor"),
    _attempt("completed_at", "time", "completed_at_us"),
    _attempt("step", "text", in_results=True),
    _attempt("rewind_id", "text"),
    _attempt("was_running", "flag"),
    Column("plan_id", "text", "writers", "plan_id"),
)
"""The history's columns in frame order. Stable: new columns are only ever appended."""

COLUMNS: tuple[str, ...] = tuple(column.name for column in SCHEMA)
"""The frame's column names, in order."""

RESULT_COLUMNS: tuple[str, ...] = tuple(c.name for c in SCHEMA if c.in_results)
"""The columns of the panel's results table."""


def stored_in(table: Stored) -> tuple[Column, ...]:
    """The columns kept in ``table``, in ``SCHEMA`` order."""
    return tuple(column for column in SCHEMA if column.table == table)
