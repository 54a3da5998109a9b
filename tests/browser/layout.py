"""The overlap check of ``browser-testing.md``: no two visible controls drawn on top of each other.

A control can work from code and still be unusable: an option spilled under a button, so the
mouse lands on the button (issue 14, defect 1). This reads the bounding boxes of the visible
``label, button, input, select, textarea`` elements under a root and reports every pair that
intersects — except when one contains the other, or a ``<label for>`` with its own input.
Controls scrolled out of sight inside a scrolling box (the task list) are not drawn: skipped.
"""

from __future__ import annotations

from typing import Any

__all__ = ["overlapping_controls", "sideways_scrolling"]

_SCRIPT = """
(root) => {
  // What a scrolling box (a long list) scrolls out of sight is not drawn: only the part of a
  // control inside every scrolling ancestor can be hit by the mouse.
  const drawn = (el) => {
    const r = el.getBoundingClientRect();
    let [left, top, right, bottom] = [r.left, r.top, r.right, r.bottom];
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const s = getComputedStyle(up);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const box = up.getBoundingClientRect();
      [left, top] = [Math.max(left, box.left), Math.max(top, box.top)];
      [right, bottom] = [Math.min(right, box.right), Math.min(bottom, box.bottom)];
    }
    return {left, top, right, bottom};
  };
  const visible = (el) => {
    const r = drawn(el);
    const s = getComputedStyle(el);
    return r.right - r.left > 0 && r.bottom - r.top > 0 && s.visibility !== 'hidden'
      && s.display !== 'none';
  };
  const els = [...root.querySelectorAll('label, button, input, select, textarea')].filter(visible);
  const name = (el) => {
    const text = (el.innerText || el.value || el.getAttribute('placeholder') || '').trim();
    return `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} "${text.slice(0, 40)}"`;
  };
  const found = [];
  for (let i = 0; i < els.length; i++) {
    for (let j = i + 1; j < els.length; j++) {
      const a = els[i], b = els[j];
      if (a.contains(b) || b.contains(a)) continue;
      if (a.tagName === 'LABEL' && a.htmlFor && a.htmlFor === b.id) continue;
      if (b.tagName === 'LABEL' && b.htmlFor && b.htmlFor === a.id) continue;
      const p = drawn(a), q = drawn(b);
      const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (w > 1 && h > 1) found.push(`${name(a)} overlaps ${name(b)}`);
    }
  }
  return found;
}
"""


def overlapping_controls(page: Any, root: str = ".roma-reset-panel") -> list[str]:
    """Each pair of visible controls under ``root`` that intersect (more than 1 px each way)."""
    found: list[str] = page.locator(root).first.evaluate(_SCRIPT)
    return found


_WIDTH_SCRIPT = """
([root, skip]) => {
  const found = [];
  const page = document.scrollingElement || document.documentElement;
  if (page.scrollWidth > page.clientWidth + 1)
    found.push(`the page scrolls sideways: ${page.scrollWidth} > ${page.clientWidth} px`);
  const parent = root.parentElement;
  if (parent && root.getBoundingClientRect().right > parent.getBoundingClientRect().right + 1)
    found.push('the panel is wider than the output it is shown in');
  for (const el of [root, ...root.querySelectorAll('*')]) {
    if (skip && el.closest(skip)) continue;
    if (el.checkVisibility && !el.checkVisibility()) continue;  // e.g. inside a closed <details>
    const s = getComputedStyle(el);
    const scrolls = ['auto', 'scroll'].includes(s.overflowX);
    if (scrolls && el.scrollWidth > el.clientWidth + 1) {
      const owner = el.closest('[class*="roma-"]');
      const classes = owner ? [...owner.classList] : [];
      const where = classes.filter((c) => c.startsWith('roma-')).join('.');
      const name = `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} in ${where}`;
      found.push(`${name} scrolls sideways: ${el.scrollWidth} > ${el.clientWidth} px`);
    }
  }
  return found;
}
"""


def sideways_scrolling(
    page: Any, root: str = ".roma-reset-panel", *, skip: str | None = None
) -> list[str]:
    """Everything that scrolls horizontally in or around the panel: the page itself, the panel
    wider than its output, or any element under it with a horizontal scrollbar (but inside
    ``skip``, a CSS selector). Empty when the panel fits its width (issue 14, item 7)."""
    root_element = page.locator(root).first.element_handle()
    found: list[str] = page.evaluate(_WIDTH_SCRIPT, [root_element, skip])
    return found
