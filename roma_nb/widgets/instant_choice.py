"""``InstantChoice``: the two real instants of a DST gap or fold, as two buttons, one per line.

Why not ``RadioButtons``: ipywidgets draws radio labels at a fixed height inside a 300 px box, so
two long labels ("just after the jump: … = …") wrap and spill over the preset buttons below;
a mouse click on "just after the jump" then pressed "1 h ago" and silently chose another instant
(issue 14, defect 1). Two ordinary buttons with ``height: auto`` grow with their text, so each
option is a box of its own that a mouse can hit (``tests/test_browser_dst.py`` clicks them).

The API is the selection widgets' (``options`` as ``(label, value)`` pairs, ``value`` None until
one is pressed) so the date picker reads it as it read the radio buttons.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import traitlets

from ._html import classed, esc

__all__ = ["InstantChoice"]


class InstantChoice(w.VBox):  # type: ignore[misc]
    """Two option buttons; the pressed one is marked (✓, blue) and is ``value``.

    CSS classes: ``roma-date-choice`` (the box), ``roma-date-option`` (each Button), and
    ``roma-date-option-first`` / ``roma-date-option-second``.
    """

    description = traitlets.Unicode("Which instant do you mean? Click one:")
    options: traitlets.List[tuple[str, str]] = traitlets.List()
    value = traitlets.Unicode(allow_none=True, default_value=None)

    def __init__(self, **kwargs: Any) -> None:
        self.prompt = w.HTML()
        self.buttons = [
            classed(
                classed(
                    w.Button(
                        layout=w.Layout(
                            width="auto", height="auto", max_width="100%", align_self="flex-start"
                        )
                    ),
                    "roma-date-option",
                ),
                f"roma-date-option-{place}",
            )
            for place in ("first", "second")
        ]
        super().__init__([self.prompt, *self.buttons], **kwargs)
        self.add_class("roma-date-choice")
        for index, button in enumerate(self.buttons):
            button.on_click(lambda _b, i=index: self._pressed(i))
        self._show()

    def _pressed(self, index: int) -> None:
        if index < len(self.options):
            self.value = str(self.options[index][1])

    @traitlets.observe("description", "options", "value")
    def _changed(self, change: dict[str, Any]) -> None:
        self._show()

    def _show(self) -> None:
        self.prompt.value = f"<b>{esc(self.description)}</b>"
        options = list(self.options)
        for index, button in enumerate(self.buttons):
            if index >= len(options):
                button.description, button.layout.display = "", "none"
                continue
            label, value = options[index]
            chosen = value == self.value
            button.description = str(label)
            button.tooltip = str(label)
            button.icon = "check" if chosen else ""
            button.button_style = "info" if chosen else ""
            button.layout.display = None
