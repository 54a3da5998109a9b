"""``InstancePicker``: instances by name and status, a refresh button, and a memory.

The choice is remembered per environment (``roma_nb.panel.memory``) for the life of the kernel,
so re-running the cell that builds a panel preselects the instance picked last time — never one
picked in another environment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from ..models import Instance
from ..panel.catalog import Catalog
from ..panel.memory import recall_instance, remember_instance
from ._html import classed, messages_html
from ._sink import ErrorSink

if TYPE_CHECKING:
    from ..client import RomaClient

__all__ = ["InstancePicker"]

PLACEHOLDER = "— choose an instance —"


def as_catalog(source: RomaClient | Catalog) -> Catalog:
    return source if isinstance(source, Catalog) else Catalog(source)


class InstancePicker(w.VBox):  # type: ignore[misc]
    """Pick one instance of the project. ``value`` is its id (None until one is picked).

    ``value`` is a traitlet: ``observe(callback, "value")`` hears every change (a person's pick,
    a refresh that lost the instance, code), ``link`` ties it to another widget, and setting it
    picks a listed instance (anything else is a ``ValueError``). ``source`` is a ``RomaClient``
    or a ``Catalog`` (the panel shares one). Listing errors are shown under the picker and
    recorded in ``sink.errors``.

    CSS classes: ``roma-instance-picker`` (the box), ``roma-instance-select`` (Dropdown),
    ``roma-instance-refresh`` (Button), ``roma-instance-message`` (HTML).
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
                options=[(PLACEHOLDER, None)],
                value=None,
                description="Instance",
                layout=w.Layout(width="40em"),
                style={"description_width": "initial"},
            ),
            "roma-instance-select",
        )
        self.refresh_button = classed(
            w.Button(description="Refresh", icon="refresh", tooltip="List the instances again"),
            "roma-instance-refresh",
        )
        self.message = classed(w.HTML(), "roma-instance-message")
        children = [w.HBox([self.dropdown, self.refresh_button]), self.message]
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

    @traitlets.validate("value")
    def _listed(self, proposal: dict[str, Any]) -> str | None:
        instance_id = proposal["value"]
        if instance_id not in [v for _, v in self.dropdown.options]:
            raise ValueError(f"{instance_id!r} is not one of the listed instances")
        return None if instance_id is None else str(instance_id)

    @traitlets.observe("value")
    def _chosen(self, change: dict[str, Any]) -> None:
        self._quiet = True
        try:
            self.dropdown.value = change["new"]
        finally:
            self._quiet = False
        remember_instance(self.environment, change["new"])
        instance = self.instance
        if instance is not None and instance.status and instance.status != "RUNNING":
            self.message.value = messages_html(
                [
                    (
                        "warning",
                        f"This instance is {instance.status}, not RUNNING: its tasks may not "
                        "accept a reset, or not run after it.",
                    )
                ]
            )
        elif instance is not None:
            self.message.value = ""

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
        options: list[tuple[str, str | None]] = [(PLACEHOLDER, None)]
        options += [(i.label, i.id) for i in instances]
        self._quiet = True
        try:
            self.dropdown.options = options
            self.dropdown.value = keep if keep in {i.id for i in instances} else None
        finally:
            self._quiet = False
        if not instances:
            self.message.value = messages_html([("warning", "This project has no instances.")])
        self.value = self.dropdown.value

    def _picked(self, change: dict[str, object]) -> None:
        if not self._quiet:
            self.value = self.dropdown.value
