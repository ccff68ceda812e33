"""ClickTable: an HTML table whose rows, cells, checkboxes and row buttons talk back to Python.

ipywidgets' HTML output cannot send a click to the kernel and a grid of Buttons is slow and
unreadable, so this is a small anywidget (ES module + CSS, no build step). Python sets
`columns`/`rows`; the browser sets `event` ({"kind": "click"|"action", "row", "column"|"action",
"n"}) and `checked`. Cells are HTML made (and escaped) by `_view`; tests fire events with
`click()` / `action()` exactly as the browser does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets as T

__all__ = ["ClickTable", "TABLE_CSS"]

_ESM = r"""
function render({ model, el }) {
  el.classList.add("dmq-ct-root");
  const send = (ev) => { ev.n = Date.now() + Math.random(); model.set("event", ev); model.save_changes(); };
  function draw() {
    const cols = model.get("columns"), rows = model.get("rows"), acts = model.get("actions");
    const checkable = model.get("checkable"), checked = new Set(model.get("checked"));
    const selected = model.get("selected");
    el.innerHTML = "";
    if (!rows.length) {
      const p = document.createElement("p"); p.className = "dmq-ct-empty"; p.textContent = model.get("empty");
      el.appendChild(p); return;
    }
    const table = document.createElement("table"); table.className = "dmq-ct " + model.get("css");
    const thead = table.createTHead().insertRow();
    if (checkable) {
      const th = document.createElement("th"); th.className = "dmq-ct-check";
      const box = document.createElement("input"); box.type = "checkbox"; box.className = "dmq-check-all";
      box.checked = rows.length > 0 && rows.every(r => checked.has(r.id));
      box.title = "Select every row on this page";
      box.addEventListener("change", () => {
        model.set("checked", box.checked ? rows.map(r => r.id) : []); model.save_changes();
      });
      th.appendChild(box); thead.appendChild(th);
    }
    for (const c of cols) {
      const th = document.createElement("th"); th.textContent = c.label; th.className = c.align === "left" ? "dmq-l" : "";
      if (c.title) th.title = c.title;
      thead.appendChild(th);
    }
    if (acts.length) { const th = document.createElement("th"); th.className = "dmq-l"; thead.appendChild(th); }
    const tbody = table.createTBody();
    for (const r of rows) {
      const tr = tbody.insertRow(); tr.dataset.row = r.id;
      tr.className = "dmq-ct-row " + (r.cls || "") + (r.id === selected ? " dmq-selected" : "");
      if (checkable) {
        const td = tr.insertCell(); td.className = "dmq-ct-check";
        const box = document.createElement("input"); box.type = "checkbox"; box.className = "dmq-check";
        box.checked = checked.has(r.id);
        box.addEventListener("click", (e) => e.stopPropagation());
        box.addEventListener("change", () => {
          const now = new Set(model.get("checked"));
          if (box.checked) now.add(r.id); else now.delete(r.id);
          model.set("checked", rows.map(x => x.id).filter(id => now.has(id))); model.save_changes();
        });
        td.appendChild(box);
      }
      for (const c of cols) {
        const td = tr.insertCell(); td.innerHTML = r.cells[c.key] ?? "";
        td.className = (c.align === "left" ? "dmq-l " : "") + "dmq-c-" + c.key;
        td.dataset.column = c.key;
        td.addEventListener("click", () => send({ kind: "click", row: r.id, column: c.key }));
      }
      if (acts.length) {
        const td = tr.insertCell(); td.className = "dmq-l dmq-ct-actions";
        for (const a of acts) {
          if (!(r.actions || []).includes(a.name)) continue;
          const b = document.createElement("button"); b.textContent = a.label;
          b.className = "dmq-ct-btn dmq-act-" + a.name + (a.style ? " dmq-ct-" + a.style : "");
          b.title = a.title || a.label;
          b.addEventListener("click", (e) => { e.stopPropagation(); send({ kind: "action", row: r.id, action: a.name }); });
          td.appendChild(b);
        }
      }
    }
    el.appendChild(table);
  }
  for (const name of ["columns", "rows", "actions", "checkable", "checked", "selected", "empty", "css"]) {
    model.on("change:" + name, draw);
  }
  draw();
}
export default { render };
"""

#: Theme-aware styles: Jupyter's CSS variables with light fallbacks, dark fallbacks under
#: `[data-jp-theme-light=false]` (JupyterLab and Voilà set it).
TABLE_CSS = r"""
.dmq-ct-root { width: 100%; overflow-x: auto; --dmq-fg: var(--jp-ui-font-color1, rgba(0,0,0,.87));
  --dmq-muted: var(--jp-ui-font-color2, #777); --dmq-line: var(--jp-border-color2, #e0e0e0);
  --dmq-head: var(--jp-layout-color2, #f3f3f3); --dmq-hover: var(--jp-layout-color3, #e8eef7);
  --dmq-sel: rgba(33, 150, 243, .22); --dmq-bad: var(--jp-error-color1, #d32f2f);
  --dmq-ok: var(--jp-success-color1, #388e3c); --dmq-warn: var(--jp-warn-color1, #b26b00); }
table.dmq-ct { border-collapse: collapse; font-size: var(--jp-ui-font-size1, 13px); color: var(--dmq-fg);
  font-family: var(--jp-ui-font-family, system-ui, sans-serif); min-width: 60%; }
table.dmq-ct th, table.dmq-ct td { padding: 4px 6px; border-bottom: 1px solid var(--dmq-line);
  text-align: right; white-space: nowrap; line-height: 1.35; }
table.dmq-ct th { background: var(--dmq-head); font-weight: 600; position: sticky; top: 0; }
table.dmq-ct .dmq-l { text-align: left; }
table.dmq-ct tr.dmq-ct-row { cursor: pointer; }
table.dmq-ct tr.dmq-ct-row:hover td { background: var(--dmq-hover); }
table.dmq-ct tr.dmq-ct-row.dmq-selected td { background: var(--dmq-sel); }
table.dmq-ct td.dmq-ct-check, table.dmq-ct th.dmq-ct-check { width: 22px; padding: 0 4px; text-align: center; }
table.dmq-ct td.dmq-zero { color: var(--dmq-muted); }
table.dmq-ct .dmq-bad { color: var(--dmq-bad); }
table.dmq-ct .dmq-ok { color: var(--dmq-ok); }
table.dmq-ct .dmq-warn { color: var(--dmq-warn); }
table.dmq-ct .dmq-muted { color: var(--dmq-muted); }
table.dmq-ct code { font-size: 12px; background: transparent; color: inherit; }
table.dmq-ct td.dmq-c-payload { max-width: clamp(11em, calc(100vw - 840px), 32em); overflow: hidden; text-overflow: ellipsis; }
table.dmq-ct td.dmq-c-error { max-width: 11em; overflow: hidden; text-overflow: ellipsis; }
table.dmq-ct .dmq-wrap { white-space: normal; max-width: 28em; overflow-wrap: anywhere; }
table.dmq-ct .dmq-badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px;
  border: 1px solid currentColor; }
.dmq-ct-btn { font-size: 12px; margin: 0 1px; padding: 1px 6px; border-radius: 3px; cursor: pointer;
  border: 1px solid var(--dmq-line); background: var(--jp-layout-color1, #fff); color: var(--dmq-fg); }
.dmq-ct-btn:hover { background: var(--dmq-hover); }
.dmq-ct-danger { color: var(--dmq-bad); } .dmq-ct-warning { color: var(--dmq-warn); } .dmq-ct-success { color: var(--dmq-ok); }
.dmq-ct-empty { color: var(--dmq-muted); margin: 6px 0; }
svg.dmq-spark { vertical-align: middle; }
"""


class ClickTable(anywidget.AnyWidget):
    """A table of HTML cells; clicks, row buttons and checkboxes come back as traitlet changes."""

    _esm = _ESM
    _css = TABLE_CSS
    columns = T.List(T.Dict()).tag(sync=True)      # [{"key", "label", "align", "title"}]
    rows = T.List(T.Dict()).tag(sync=True)         # [{"id", "cells": {key: html}, "cls", "actions"}]
    actions = T.List(T.Dict()).tag(sync=True)      # [{"name", "label", "style", "title"}]
    checkable = T.Bool(False).tag(sync=True)
    checked = T.List(T.Unicode()).tag(sync=True)
    selected = T.Unicode("").tag(sync=True)
    empty = T.Unicode("Nothing here.").tag(sync=True)
    css = T.Unicode("").tag(sync=True)
    event = T.Dict().tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._click: list[Callable[[str, str], Any]] = []
        self._action: list[Callable[[str, str], Any]] = []
        self._n = 0
        self.observe(self._dispatch, names="event")

    def on_click(self, fn: Callable[[str, str], Any]) -> None:
        """fn(row_id, column_key) when a cell is clicked."""
        self._click.append(fn)

    def on_action(self, fn: Callable[[str, str], Any]) -> None:
        """fn(row_id, action_name) when a row button is clicked."""
        self._action.append(fn)

    def click(self, row: str, column: str = "") -> None:
        """What a click on a cell does in the browser (for code and tests)."""
        self._n += 1
        self.event = {"kind": "click", "row": row, "column": column, "n": -self._n}

    def action(self, row: str, action: str) -> None:
        """What a click on a row's button does in the browser."""
        self._n += 1
        self.event = {"kind": "action", "row": row, "action": action, "n": -self._n}

    @property
    def row_ids(self) -> list[str]:
        return [r["id"] for r in self.rows]

    def _dispatch(self, change: dict[str, Any]) -> None:
        ev = change["new"] or {}
        row = str(ev.get("row", ""))
        if ev.get("kind") == "click":
            for fn in self._click:
                fn(row, str(ev.get("column", "")))
        elif ev.get("kind") == "action":
            for fn in self._action:
                fn(row, str(ev.get("action", "")))
