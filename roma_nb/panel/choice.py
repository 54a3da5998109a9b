"""The ``date_from`` a person chose, and what it means: one instant, none, or a question to answer.

A picker holds more than an instant. It holds *digits and a zone* (``2024-03-31 02:30`` in
Europe/Paris), which may name one instant, none (a DST gap) or two (a fold); or an exact instant
(a preset such as "last monitor log"); or the explicit choice to send no ``date_from``; or nothing
at all (a cleared picker). ``DateChoice`` keeps that distinction so the panel can say which case it
is in, and ``DateChoice.resolve()`` turns it into either an instant or a sentence — never an
exception, because a person editing a picker deserves a message, not a traceback.

All time arithmetic is delegated to ``roma_nb.dates``; this module only asks it questions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from ..dates import (
    Ambiguous,
    InstantView,
    Nonexistent,
    WallKind,
    assess_date_from,
    format_instant,
    from_epoch_ms,
    read_wall,
    resolve_zone,
    to_epoch_ms,
)
from ..errors import ValidationError

__all__ = [
    "ChoiceKind",
    "DateChoice",
    "Problem",
    "Resolution",
    "choice_from_value",
    "hour_ago",
    "start_of_today",
]

ChoiceKind = Literal["wall", "exact", "empty", "unset"]
"""``wall``: digits read in ``zone``; ``exact``: an instant; ``empty``: send no ``date_from``;
``unset``: nothing picked yet (or the picker was cleared)."""

Problem = Literal["unset", "gap", "fold", "invalid"]

HOUR_MS = 3_600_000
MINUTE_MS = 60_000

UNSET_MESSAGE = (
    "No time is picked (the picker is empty). Pick a date and time, or choose "
    "“empty: let the service decide” to send no date_from."
)
EMPTY_MESSAGE = "date_from is empty: the service decides the start point (the body is {})."


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a ``DateChoice`` means now.

    ``ok`` with ``ms`` an integer: that instant is sent; ``ok`` with ``ms`` None: no ``date_from``
    is sent. Not ``ok``: ``problem`` says why and ``message`` says it to a person. A wall time in
    a DST gap or fold has a ``question`` (``gap`` / ``fold``), answered or not, and
    ``candidates``: the two real instants to choose between (before/after the jump, or the
    earlier/later occurrence); unanswered, the question is also the ``problem``.
    """

    ok: bool
    ms: int | None = None
    view: InstantView | None = None
    problem: Problem | None = None
    message: str | None = None
    candidates: tuple[InstantView, InstantView] | None = None
    question: WallKind | None = None

    def warnings(self, *, now_ms: int, retention: timedelta) -> list[str]:
        """Future / older-than-retention / empty notes when an instant (or none) is chosen."""
        if not self.ok:
            return []
        return assess_date_from(self.ms, now_ms=now_ms, retention=retention)


@dataclass(frozen=True, slots=True)
class DateChoice:
    """One ``date_from`` choice; build it with the class methods, read it with ``resolve()``.

    ``ambiguous`` and ``nonexistent`` only matter for ``wall`` choices that fall in a fold or a
    gap; they default to ``"raise"`` so the question is asked, not answered silently.
    """

    kind: ChoiceKind
    zone: str = "UTC"
    wall: datetime | None = None
    ms: int | None = None
    ambiguous: Ambiguous = "raise"
    nonexistent: Nonexistent = "raise"

    @classmethod
    def at_wall(
        cls,
        wall: datetime | None,
        zone: str = "UTC",
        *,
        ambiguous: Ambiguous = "raise",
        nonexistent: Nonexistent = "raise",
    ) -> DateChoice:
        """Digits from a naive picker, read in ``zone``; ``None`` (a cleared picker) is unset."""
        if wall is None:
            return cls.unset(zone)
        if wall.tzinfo is not None:
            raise ValidationError(
                "A wall time must be naive (no tzinfo): its zone is given separately."
            )
        return cls("wall", zone, wall=wall, ambiguous=ambiguous, nonexistent=nonexistent)

    @classmethod
    def exact(cls, ms: int, zone: str = "UTC") -> DateChoice:
        """An exact instant (epoch ms); ``zone`` only decides how it is shown."""
        return cls("exact", zone, ms=ms)

    @classmethod
    def empty(cls, zone: str = "UTC") -> DateChoice:
        """Send no ``date_from``: the service decides where the task restarts."""
        return cls("empty", zone)

    @classmethod
    def unset(cls, zone: str = "UTC") -> DateChoice:
        return cls("unset", zone)

    def with_zone(self, zone: str) -> DateChoice:
        """The same choice in another zone: digits are re-read there, an exact instant stays."""
        return replace(self, zone=zone)

    def with_policy(
        self, *, ambiguous: Ambiguous | None = None, nonexistent: Nonexistent | None = None
    ) -> DateChoice:
        """The answer to a fold (``ambiguous``) or gap (``nonexistent``) question."""
        return replace(
            self,
            ambiguous=self.ambiguous if ambiguous is None else ambiguous,
            nonexistent=self.nonexistent if nonexistent is None else nonexistent,
        )

    def resolve(self) -> Resolution:
        """The instant this choice names, or why it names none; never raises."""
        if self.kind == "unset":
            return Resolution(ok=False, problem="unset", message=UNSET_MESSAGE)
        try:
            resolve_zone(self.zone)
        except ValidationError as exc:
            return Resolution(ok=False, problem="invalid", message=str(exc))
        if self.kind == "empty":
            return Resolution(ok=True, ms=None)
        if self.kind == "exact":
            if self.ms is None:
                return Resolution(ok=False, problem="invalid", message="No instant was given.")
            try:
                view = format_instant(self.ms, self.zone)
            except ValidationError as exc:
                return Resolution(ok=False, problem="invalid", message=str(exc))
            return Resolution(ok=True, ms=view.ms, view=view)
        return self._resolve_wall()

    def _resolve_wall(self) -> Resolution:
        """One reading of the wall time (``dates.read_wall``), then the policies applied to it."""
        assert self.wall is not None
        try:
            reading = read_wall(self.wall, self.zone)
            candidates = None
            if reading.kind != "normal":
                candidates = (
                    format_instant(reading.first, self.zone),
                    format_instant(reading.second, self.zone),
                )
        except ValidationError as exc:
            return Resolution(ok=False, problem="invalid", message=str(exc))
        question = None if reading.kind == "normal" else reading.kind
        try:
            ms = reading.instant(self.ambiguous, self.nonexistent)
        except ValidationError as exc:
            policy = self.ambiguous if reading.kind == "fold" else self.nonexistent
            problem: Problem = "invalid" if question is None or policy != "raise" else question
            return Resolution(
                ok=False,
                problem=problem,
                message=str(exc)
                if question is None or problem == "invalid"
                else self._question_text(question),
                candidates=candidates,
                question=question,
            )
        view = format_instant(ms, self.zone)
        return Resolution(ok=True, ms=ms, view=view, candidates=candidates, question=question)

    def _question_text(self, question: WallKind) -> str:
        """The DST question in words (``dates`` speaks of ``nonexistent=...``, for code)."""
        wall = self.wall.isoformat(sep=" ") if self.wall is not None else "That time"
        if question == "gap":
            return (
                f"{wall} does not exist in {self.zone}: the clocks jumped forward over it. "
                "Choose under the time which instant you mean: just before the jump or just "
                "after it."
            )
        return (
            f"{wall} occurs twice in {self.zone}: the clocks went back. Choose under the "
            "time which of the two you mean: the first (earlier) or the second (later)."
        )

    def displayed_wall(self) -> datetime | None:
        """The naive wall time a picker should show for this choice (None when there is none)."""
        if self.kind == "wall":
            return self.wall
        if self.kind == "exact" and self.ms is not None:
            try:
                zone = resolve_zone(self.zone)
                return from_epoch_ms(self.ms).astimezone(zone).replace(tzinfo=None)
            except ValidationError:
                return None
        return None

    def warnings(self, *, now_ms: int, retention: timedelta) -> list[str]:
        """Future / older-than-retention / empty notes for a resolvable choice, else ``[]``."""
        return self.resolve().warnings(now_ms=now_ms, retention=retention)


def choice_from_value(
    value: object,
    zone: str = "UTC",
    *,
    ambiguous: Ambiguous = "raise",
    nonexistent: Nonexistent = "raise",
) -> DateChoice:
    """A ``DateChoice`` for a value given in code (``panel.select(date_from=...)``).

    ``None`` means "empty: let the service decide". A naive ``datetime`` stays a wall time in
    ``zone`` (so changing the zone later re-reads its digits, as the picker does, and a gap or
    fold is reported when the plan is made). Everything else ``to_epoch_ms`` accepts becomes an
    exact instant now, raising ``ValidationError`` if it names none.
    """
    if value is None:
        return DateChoice.empty(zone)
    if type(value) is datetime and value.tzinfo is None:
        return DateChoice.at_wall(value, zone, ambiguous=ambiguous, nonexistent=nonexistent)
    ms = to_epoch_ms(value, zone, ambiguous=ambiguous, nonexistent=nonexistent)
    if ms is None:  # pragma: no cover - to_epoch_ms returns None only for None, handled above
        return DateChoice.empty(zone)
    return DateChoice.exact(ms, zone)


def hour_ago(now_ms: int, zone: str = "UTC") -> DateChoice:
    """The "1 h ago" preset: an exact instant, floored to the minute so it reads cleanly."""
    return DateChoice.exact((now_ms - HOUR_MS) // MINUTE_MS * MINUTE_MS, zone)


def start_of_today(now_ms: int, zone: str = "UTC") -> DateChoice:
    """The "start of today" preset: 00:00 of today's date *in* ``zone``, as a wall time there."""
    today = from_epoch_ms(now_ms).astimezone(resolve_zone(zone)).date()
    return DateChoice.at_wall(datetime(today.year, today.month, today.day), zone)
