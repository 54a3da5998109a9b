"""``DateFromPicker``: a wall time *and* its zone, or "empty", shown as the instant it means.

Why a naive picker: ipywidgets' aware ``DatetimePicker`` reads the typed digits in the
*browser's* zone, so the same click sends instants hours apart from two laptops (measured in
``browser-testing.md``). Here the digits are taken as typed (``NaiveDatetimePicker``) and the
zone comes from an explicit selector, default UTC. A live line shows the instant as UTC ISO, in
the chosen zone and as the ``date_from`` integer, so what is sent is what is seen.

Every state a person can reach gets a message instead of a traceback: a cleared picker, an
unknown zone, a wall time the clocks skipped (gap) or showed twice (fold) — with a choice between
the two real instants — a future time, and a time older than the CDC log retention.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import ipywidgets as w
import traitlets

from ..dates import DEFAULT_RETENTION, available_zones
from ..errors import ValidationError
from ..panel.choice import (
    EMPTY_MESSAGE,
    DateChoice,
    Resolution,
    hour_ago,
    start_of_today,
)
from ._html import classed, esc, messages_html
from ._sink import ErrorSink
from .instant_choice import InstantChoice

__all__ = ["DateFromPicker"]

_DAY_S = 86_400.0
_FOLD_VALUES = ("earlier", "later")
_GAP_VALUES = ("shift_backward", "shift_forward")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class DateFromPicker(w.VBox):  # type: ignore[misc]
    """Choose ``date_from``. ``choice`` is the ``DateChoice``; ``value`` the integer to send.

    ``choice`` and ``retention`` are traitlets: ``observe`` them, ``link`` them, set them from
    code (the picker then shows the new choice). ``value`` is read from ``choice``: it raises
    ``ValidationError`` (with the message shown in the picker) while the choice names no
    instant, so a cleared picker can never silently become "empty" — which is why it is not a
    traitlet itself (``link`` must be able to read what it copies). ``last_log`` supplies the
    "last monitor log" preset (the panel passes its model's). ``clock`` returns now in epoch ms.

    CSS classes: ``roma-date-picker`` (box), ``roma-date-mode`` (ToggleButtons: "A time" /
    "Empty: let the service decide"), ``roma-date-input`` (NaiveDatetimePicker),
    ``roma-date-zone`` (Combobox), ``roma-date-choice`` (``InstantChoice``: two buttons for a
    DST gap or fold),
    ``roma-preset-hour-ago``, ``roma-preset-today``, ``roma-preset-last-log`` (Buttons),
    ``roma-date-retention`` (BoundedFloatText, days), ``roma-date-live`` (HTML: the instant),
    ``roma-date-messages`` (HTML: problems and warnings).
    """

    choice = traitlets.Instance(DateChoice)
    retention = traitlets.Instance(timedelta)

    def __init__(
        self,
        *,
        tz: str = "UTC",
        choice: DateChoice | None = None,
        retention: timedelta = DEFAULT_RETENTION,
        clock: Callable[[], int] | None = None,
        last_log: Callable[[], int] | None = None,
        sink: ErrorSink | None = None,
    ) -> None:
        self.sink = sink if sink is not None else ErrorSink()
        self.clock: Callable[[], int] = clock if clock is not None else _now_ms
        self.last_log = last_log
        self._quiet = False
        start = choice if choice is not None else DateChoice.unset(tz)
        self._time_choice = start if start.kind != "empty" else DateChoice.unset(start.zone)
        self.mode = classed(
            w.ToggleButtons(
                options=[("A time", "time"), ("Empty: let the service decide", "empty")],
                value="empty" if start.kind == "empty" else "time",
                description="date_from",
                style={"button_width": "auto"},
            ),
            "roma-date-mode",
        )
        self.input = classed(
            w.NaiveDatetimePicker(description="Time", value=self._time_choice.displayed_wall()),
            "roma-date-input",
        )
        self.zone = classed(
            w.Combobox(
                description="Zone",
                options=available_zones(),
                value=start.zone,
                ensure_option=False,
                continuous_update=False,
                placeholder="IANA zone, e.g. Asia/Shanghai",
            ),
            "roma-date-zone",
        )
        self.choice_buttons = InstantChoice(layout=w.Layout(display="none"))
        self.hour_ago_button = classed(
            w.Button(description="1 h ago", tooltip="One hour ago (exact)"), "roma-preset-hour-ago"
        )
        self.today_button = classed(
            w.Button(description="Start of today", tooltip="00:00 in the zone"), "roma-preset-today"
        )
        self.last_log_button = classed(
            w.Button(
                description="Last monitor log",
                tooltip="When the selected task's newest monitor log began",
                disabled=last_log is None,
            ),
            "roma-preset-last-log",
        )
        self.retention_days = classed(
            w.BoundedFloatText(
                value=retention / timedelta(days=1),
                min=0.001,
                max=36_500,
                step=0.5,
                description="Retention (days)",
                style={"description_width": "initial"},
            ),
            "roma-date-retention",
        )
        self.live = classed(w.HTML(), "roma-date-live")
        self.messages = classed(w.HTML(), "roma-date-messages")
        children = [
            self.mode,
            w.HBox([self.input, self.zone]),
            self.choice_buttons,
            w.HBox([self.hour_ago_button, self.today_button, self.last_log_button]),
            self.retention_days,
            self.live,
            self.messages,
        ]
        if sink is None:
            children.append(self.sink.output)
        super().__init__(children)
        self.add_class("roma-date-picker")
        guard = self.sink.guard
        self.mode.observe(guard("Choosing empty or a time")(self._mode_changed), "value")
        self.input.observe(guard("Picking the time")(self._input_changed), "value")
        self.zone.observe(guard("Choosing the zone")(self._zone_changed), "value")
        self.choice_buttons.observe(guard("Choosing the instant")(self._answered), "value")
        self.retention_days.observe(guard("Setting the retention")(self._retention_set), "value")
        self.hour_ago_button.on_click(
            guard("The 1 h ago preset")(lambda _b: self.preset_hour_ago())
        )
        self.today_button.on_click(
            guard("The start of today preset")(lambda _b: self.preset_today())
        )
        self.last_log_button.on_click(
            guard("The last monitor log preset")(lambda _b: self.preset_last_log())
        )
        with self.hold_trait_notifications():  # each observer needs both
            self.retention = retention
            self.choice = start

    # -- reading ----------------------------------------------------------------------------

    @property
    def resolution(self) -> Resolution:
        return self.choice.resolve()

    @property
    def ok(self) -> bool:
        """True when the choice names an instant or is explicitly empty."""
        return self.resolution.ok

    @property
    def value(self) -> int | None:
        """The ``date_from`` to send (None: empty). Raises ``ValidationError`` if unresolved."""
        resolution = self.resolution
        if not resolution.ok:
            raise ValidationError(resolution.message or "date_from names no instant yet.")
        return resolution.ms

    @property
    def warnings(self) -> list[str]:
        return self.choice.warnings(now_ms=self.clock(), retention=self.retention)

    # -- changing from code -----------------------------------------------------------------

    def preset_hour_ago(self) -> None:
        self.choice = hour_ago(self.clock(), self._zone_text())

    def preset_today(self) -> None:
        self.choice = start_of_today(self.clock(), self._zone_text())

    def preset_last_log(self) -> None:
        if self.last_log is None:
            raise ValidationError("No source for the last monitor log was given to this picker.")
        self.choice = DateChoice.exact(self.last_log(), self._zone_text())

    # -- the traitlets ----------------------------------------------------------------------

    @traitlets.validate("retention")
    def _positive(self, proposal: dict[str, Any]) -> timedelta:
        value: timedelta = proposal["value"]
        if value <= timedelta(0):
            raise ValidationError(f"retention must be a positive timedelta, not {value!r}.")
        return value

    @traitlets.observe("choice")
    def _show_choice(self, change: dict[str, Any]) -> None:
        """Make every child show the new choice, then render it."""
        choice: DateChoice = change["new"]
        if choice.kind != "empty":
            self._time_choice = choice

        def show() -> None:
            self.mode.value = "empty" if choice.kind == "empty" else "time"
            if choice.kind != "empty":
                self.input.value = choice.displayed_wall()
            if self._zone_text() != choice.zone:
                self.zone.value = choice.zone

        self._quietly(show)
        self._render()

    @traitlets.observe("retention")
    def _show_retention(self, change: dict[str, Any]) -> None:
        days = change["new"] / timedelta(days=1)
        self._quietly(lambda: setattr(self.retention_days, "value", days))
        self._render()

    # -- handlers of the children -----------------------------------------------------------

    def _zone_text(self) -> str:
        return str(self.zone.value or "").strip()

    def _quietly(self, action: Callable[[], None]) -> None:
        self._quiet = True
        try:
            action()
        finally:
            self._quiet = False

    def _mode_changed(self, change: dict[str, object]) -> None:
        if self._quiet:
            return
        zone = self._zone_text()
        if self.mode.value == "empty":
            self.choice = DateChoice.empty(zone)
        else:
            self.choice = self._time_choice.with_zone(zone)

    def _input_changed(self, change: dict[str, object]) -> None:
        if self._quiet:
            return
        self.choice = DateChoice.at_wall(self.input.value, self._zone_text())

    def _zone_changed(self, change: dict[str, object]) -> None:
        if self._quiet:
            return
        zone = self._zone_text()
        if self.choice.kind == "empty":
            self._time_choice = self._time_choice.with_zone(zone)
            self.choice = DateChoice.empty(zone)
        else:
            self.choice = self._time_choice.with_zone(zone)

    def _answered(self, change: dict[str, object]) -> None:
        if self._quiet or self.choice_buttons.value is None:
            return
        answer = str(self.choice_buttons.value)
        if answer in _FOLD_VALUES:
            self.choice = self.choice.with_policy(ambiguous=answer)  # type: ignore[arg-type]
        else:
            self.choice = self.choice.with_policy(nonexistent=answer)  # type: ignore[arg-type]

    def _retention_set(self, change: dict[str, object]) -> None:
        if self._quiet:
            return
        self.retention = timedelta(seconds=float(self.retention_days.value) * _DAY_S)

    # -- rendering --------------------------------------------------------------------------

    def _render(self) -> None:
        """Show the choice: one resolution serves the live line, the question and the messages."""
        choice = self.choice
        resolution = choice.resolve()
        self.input.disabled = choice.kind == "empty"
        self._render_question(choice, resolution)
        self.live.value = self._live_html(resolution)
        lines: list[tuple[str, str]] = []
        if not resolution.ok:
            lines.append(("error", resolution.message or "date_from names no instant."))
        elif choice.kind != "empty":
            warnings = resolution.warnings(now_ms=self.clock(), retention=self.retention)
            lines.extend(("warning", text) for text in warnings)
            if choice.kind == "exact":
                lines.append(
                    (
                        "info",
                        "An exact instant (from a preset): changing the zone only "
                        "changes how it is shown.",
                    )
                )
        self.messages.value = messages_html(lines)

    def _render_question(self, choice: DateChoice, resolution: Resolution) -> None:
        """Offer the two real instants when the wall time is in a DST gap or fold."""
        if resolution.candidates is None:
            self._quietly(self._hide_question)
            return
        first, second = resolution.candidates
        if resolution.question == "fold":
            values = _FOLD_VALUES
            labels = (
                f"The first time (earlier): {first.local_iso} = {first.utc_iso}",
                f"The second time (later): {second.local_iso} = {second.utc_iso}",
            )
            current: str | None = choice.ambiguous if choice.ambiguous != "raise" else None
        else:
            values = _GAP_VALUES
            labels = (
                f"Just before the jump: {first.local_iso} = {first.utc_iso}",
                f"Just after the jump: {second.local_iso} = {second.utc_iso}",
            )
            current = choice.nonexistent if choice.nonexistent != "raise" else None

        def show() -> None:
            self.choice_buttons.options = list(zip(labels, values, strict=True))
            self.choice_buttons.value = current
            self.choice_buttons.layout.display = None

        self._quietly(show)

    def _hide_question(self) -> None:
        self.choice_buttons.options = []
        self.choice_buttons.value = None
        self.choice_buttons.layout.display = "none"

    @staticmethod
    def _live_html(resolution: Resolution) -> str:
        if not resolution.ok:
            return "<b>date_from:</b> — nothing can be sent until the problem below is solved."
        view = resolution.view
        if view is None:
            return f"<b>date_from:</b> {esc(EMPTY_MESSAGE)}"
        return (
            f"<b>date_from = <code>{view.ms}</code></b> · UTC <code>{esc(view.utc_iso)}</code>"
            f" · {esc(view.zone)} <code>{esc(view.local_iso)}</code>"
        )
