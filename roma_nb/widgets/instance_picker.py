"""``InstancePicker``: instances by name and status, a refresh button, and a memory.

The choice is remembered per environment (``roma_nb.panel.memory``) for the life of the kernel,
so re-running the cell that builds a panel preselects the instance picked last time — never one
picked in another environment.

The prompt is a real option whose value is ``""``: an ipywidgets ``Dropdown`` whose value is
``None`` has no selected index, and the browser then shows a blank box instead of the prompt.
The dropdown is as wide as its longest label (within the output's width), and the chosen
instance's name, status and full id are written out under it, so an id is never cut.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from ..models import Instance
from ..panel.catalog import Catalog, instance_warning
from ..panel.memory import recall_instance, remember_instance
from ._html import classed, esc, messages_html
from ._sink import ErrorSink

if TYPE_CHECKING:
    from ..client import RomaClient

__all__ = ["InstancePicker"]

PLACEHOLDER = "— choose an instance —"
_NONE = ""  # the prompt's value in the dropdown; ``value`` is None then
_WARNING_STYLE = (
    "background:#fff3e0;border:1px solid #ffb74d;color:#8a5300;padding:4px 8px;border-radius:4px"
)


def _width(labels: list[str]) -> str:
    """Wide enough for the longest label and the description, never wider than the output."""
    longest = max((len(label) for label in labels), default=len(PLACEHOLDER))
    return f"calc({longest + 2}ch + 7em)"


def as_catalog(source: RomaClient | Catalog) -> Catalog:
    return source if isinstance(source, Catalog) else Catalog(source)


class InstancePicker(w.VBox):  # type: ignore[misc]
    """Pick one instance of the project. ``value`` is its id (None until one is picked).

    ``value`` is a traitlet: ``observe(callback, "value")`` hears every change (a person's pick,
    a refresh that lost the instance, code), ``link`` ties it to another widget, and setting it
    picks a listed instance (anything else is a ``ValueError``). ``source`` is a ``RomaClient``
    or a ``Catalog`` (the panel shares one). Listing errors are shown under the picker and
    recorded in ``sink.errors``.

    ``warning`` is the sentence a FROZEN or non-RUNNING instance earns (None otherwise); it is
    shown under the picker, and ``PanelModel`` puts the same sentence among the confirmation's
    warnings (``roma_nb.panel.instance_warning``), each of which needs its tick.

    CSS classes: ``roma-instance-picker`` (the box), ``roma-instance-select`` (Dropdown),
    ``roma-instance-refresh`` (Button), ``roma-instance-chosen`` (HTML: name, status, full id),
    ``roma-instance-message`` (HTML: warnings and listing errors).
    """

    value = traitlets.Unicode(None, allow_none=True)

    def __init__(
        self, source: RomaClient | Catalog, *, sink: ErrorSink | None = None, load: bool = True
    ) -> None:
        self.catalog = as_catalog(source)
        self.sink = sink if sink is not None else ErrorSink()
        self._quiet = False
        self.dropdown = classed(
            w.Dropdown(
                options=[(PLACEHOLDER, _NONE)],
                value=_NONE,
                description="Instance",
                layout=w.Layout(width=_width([]), max_width="calc(100% - 8px)"),
                style={"description_width": "initial"},
            ),
            "roma-instance-select",
        )
        self.refresh_button = classed(
            w.Button(description="Refresh", icon="refresh", tooltip="List the instances again"),
            "roma-instance-refresh",
        )
        self.chosen = classed(w.HTML(layout=w.Layout(width="auto")), "roma-instance-chosen")
        self.message = classed(w.HTML(layout=w.Layout(width="auto")), "roma-instance-message")
        row = w.HBox(
            [self.dropdown, self.refresh_button],
            layout=w.Layout(flex_flow="row wrap", width="auto"),
        )
        children = [row, self.chosen, self.message]
        if sink is None:
            children.append(self.sink.output)
        super().__init__(children)
        self.add_class("roma-instance-picker")
        self.dropdown.observe(self.sink.guard("Choosing an instance")(self._picked), "value")
        self.refresh_button.on_click(
            self.sink.guard("Refreshing the instances")(lambda _b: self.refresh())
        )
        if load:
            self.sink.guard("Listing the instances")(self.refresh)(initial=True)

    @property
    def environment(self) -> str:
        return self.catalog.environment

    @property
    def instance(self) -> Instance | None:
        return None if self.value is None else self.catalog.instance(self.value)

    @property
    def warning(self) -> str | None:
        """Why resetting this instance's tasks is risky (FROZEN, not RUNNING), or None."""
        return instance_warning(self.instance)

    @traitlets.validate("value")
    def _listed(self, proposal: dict[str, Any]) -> str | None:
        instance_id = proposal["value"]
        if instance_id is None:
            return None
        if instance_id == _NONE or instance_id not in [v for _, v in self.dropdown.options]:
            raise ValueError(f"{instance_id!r} is not one of the listed instances")
        return str(instance_id)

    @traitlets.observe("value")
    def _chosen(self, change: dict[str, Any]) -> None:
        self._quiet = True
        try:
            self.dropdown.value = _NONE if change["new"] is None else change["new"]
        finally:
            self._quiet = False
        remember_instance(self.environment, change["new"])
        self._describe()

    def _describe(self) -> None:
        """Under the dropdown: the chosen instance in full, and its warning in a box."""
        instance = self.instance
        if instance is None:
            self.chosen.value = ""
            self.message.value = ""
            return
        status = f" · {esc(instance.status)}" if instance.status else ""
        self.chosen.value = (
            f'<div style="overflow-wrap:anywhere">{esc(instance.name or "(no name)")}{status}'
            f' · id <code style="user-select:all">{esc(instance.id)}</code></div>'
        )
        warning = self.warning
        self.message.value = (
            ""
            if warning is None
            else f'<div class="roma-message roma-message-warning" style="{_WARNING_STYLE}">'
            f"⚠ {esc(warning)}</div>"
        )

    def refresh(self, *, initial: bool = False) -> None:
        """List the instances again, keeping the current (or remembered) choice if it exists."""
        self.message.value = ""
        try:
            instances = self.catalog.instances(refresh=not initial)
        except Exception:
            self.message.value = messages_html(
                [("error", "The instances could not be listed; see the message below.")]
            )
            raise
        keep = self.value if not initial else recall_instance(self.environment)
        options = [(PLACEHOLDER, _NONE), *((i.label, i.id) for i in instances)]
        self._quiet = True
        try:
            self.dropdown.options = options
            self.dropdown.value = keep if keep in {i.id for i in instances} else _NONE
            self.dropdown.layout.width = _width([label for label, _ in options])
        finally:
            self._quiet = False
        self.value = self.dropdown.value or None
        self._describe()
        if not instances:
            self.message.value = messages_html([("warning", "This project has no instances.")])

    def _picked(self, change: dict[str, object]) -> None:
        if not self._quiet:
            self.value = self.dropdown.value or None
