"""Notes: a list of notes and an editor (title, body) that also edits existing notes.

Notes live in the ``notes`` table, served as ``content://com.qvl.notes/notes`` (``_id``,
``title``, ``body``).
"""

from __future__ import annotations

from qvl_agent.envs.sim.apps.base import App, Host, ListState, Screen
from qvl_agent.envs.sim.apps.layout import (
    CONTENT_TOP, ERROR, SECONDARY, app_bar, button, edit_text, fab, list_view, row, text_view,
)
from qvl_agent.envs.sim.store import ProviderUri, Table, Value
from qvl_agent.envs.sim.widgets import SCREEN_W, Rect, Widget

__all__ = ["NOTES", "TABLE"]

PACKAGE = "com.qvl.notes"
BAR = "#F9AB00"
ROW_H = 200
_ID = f"{PACKAGE}:id/"

TABLE = Table("notes", PACKAGE, (("title", "TEXT NOT NULL DEFAULT ''"),
                                 ("body", "TEXT NOT NULL DEFAULT ''")),
              uris=(ProviderUri("content://com.qvl.notes/notes"),))


class NoteList(Screen):
    """Notes in the order they were written; a row opens its note for editing."""

    def __init__(self) -> None:
        super().__init__()
        self.list = ListState()

    def build(self, host: Host) -> list[Widget]:
        notes = host.data.rows(TABLE.name, "_id")
        widgets = [app_bar("Notes", BAR)]
        if not notes:
            widgets.append(text_view((0, CONTENT_TOP + 200, SCREEN_W, CONTENT_TOP + 300),
                                     "No notes", rid=_ID + "empty", color=SECONDARY,
                                     align="center"))
        else:
            def make_row(index: int, bounds: Rect) -> Widget:
                note = notes[index]
                left, top, right, bottom = bounds
                body = str(note["body"] or "")
                children = [text_view((0, top + 20, right, top + 110), str(note["title"] or ""),
                                      rid=_ID + "note_title", size=50)]
                if body:
                    children.append(text_view((0, top + 110, right, top + 180),
                                              body.splitlines()[0] if body.strip() else "",
                                              rid=_ID + "note_preview", size=38,
                                              color=SECONDARY))
                return row(bounds, children, rid=_ID + "note_item",
                           on_click=lambda: host.push(NoteEditor(note)))

            widgets.append(list_view(self.list, len(notes), make_row, row_height=ROW_H,
                                     rid=_ID + "note_list"))
        widgets.append(fab("New note", _ID + "fab", lambda: host.push(NoteEditor())))
        return widgets


class NoteEditor(Screen):
    """A new note, or an existing one prefilled; Save needs a title."""

    fields = (_ID + "title", _ID + "body")

    def __init__(self, note: dict[str, Value] | None = None) -> None:
        super().__init__()
        self.error = ""
        self.note_id = int(note["_id"] or 0) if note else None
        if note:
            self.values[_ID + "title"] = str(note["title"] or "")
            self.values[_ID + "body"] = str(note["body"] or "")

    def save(self, host: Host) -> None:
        title = self.values[_ID + "title"].strip()
        if not title:
            self.error = "Title is required"
            return
        body = self.values[_ID + "body"]
        if self.note_id is None:
            host.data.add(TABLE.name, title=title, body=body)
        else:
            host.data.change(TABLE.name, self.note_id, title=title, body=body)
        host.pop()

    def build(self, host: Host) -> list[Widget]:
        top = CONTENT_TOP + 60
        widgets = [
            app_bar("New note" if self.note_id is None else "Edit note", BAR, up=host.pop),
            edit_text(self, _ID + "title", "Title", top),
            edit_text(self, _ID + "body", "Note", top + 200),
            button("Save", _ID + "save", top + 420, lambda: self.save(host)),
        ]
        if self.error:
            widgets.append(text_view((0, top + 600, SCREEN_W, top + 680), self.error,
                                     rid=_ID + "error", color=ERROR))
        return widgets


NOTES = App(PACKAGE, "Notes", ".MainActivity", colour="#F9AB00", root=NoteList,
            tables=(TABLE,), bar=BAR, system=False)
