"""Contacts: a list sorted by name, an editor (name, phone) and a detail page.

Rows live in the ``contacts`` table, served as ``content://com.android.contacts/data/phones``
(``_id``, ``display_name``, ``data1``, with ``number`` as another name for ``data1``) and as
the legacy ``content://contacts/phones`` (also ``name`` for ``display_name``).
"""

from __future__ import annotations

from envs.sim.apps.base import App, Host, ListState, Screen
from envs.sim.apps.layout import (
    CONTENT_TOP, ERROR, MARGIN, SECONDARY, app_bar, button, edit_text, fab, list_view, row,
    text_view,
)
from envs.sim.store import ProviderUri, Table
from envs.sim.widgets import SCREEN_W, Paint, Rect, Widget

__all__ = ["CONTACTS", "TABLE"]

PACKAGE = "com.android.contacts"
BAR = "#1A73E8"
ROW_H = 160
_ID = f"{PACKAGE}:id/"

TABLE = Table("contacts", PACKAGE, (("display_name", "TEXT"), ("data1", "TEXT")), uris=(
    ProviderUri("content://com.android.contacts/data/phones", {"number": "data1"}),
    ProviderUri("content://contacts/phones", {"number": "data1", "name": "display_name"}),
))
_ORDER = "display_name COLLATE NOCASE, _id"
_AVATARS = ("#1A73E8", "#188038", "#E37400", "#A142F4", "#D93025", "#12B5CB")


class ContactList(Screen):
    """Every contact by name; the "+" button opens an empty editor."""

    def __init__(self) -> None:
        super().__init__()
        self.list = ListState()

    def build(self, host: Host) -> list[Widget]:
        contacts = host.data.rows(TABLE.name, _ORDER)
        widgets = [app_bar("Contacts", BAR)]
        if not contacts:
            widgets.append(text_view((0, CONTENT_TOP + 200, SCREEN_W, CONTENT_TOP + 300),
                                     "No contacts", rid=_ID + "empty", color=SECONDARY,
                                     align="center"))
        else:
            def make_row(index: int, bounds: Rect) -> Widget:
                contact = contacts[index]
                name = str(contact["display_name"] or "")
                left, top, right, bottom = bounds
                avatar = Widget("android.widget.ImageView", (MARGIN, top + 24, MARGIN + 112,
                                                             bottom - 24),
                                paint=Paint(background=_AVATARS[int(contact["_id"] or 0) % 6],
                                            radius=56, glyph=(name[:1] or "?").upper(),
                                            color="#FFFFFF", size=52, align="center"))
                label = text_view((MARGIN + 112, top, right, bottom), name,
                                  rid=_ID + "contact_name", size=48, padding=40)
                return row(bounds, [avatar, label],
                           on_click=lambda: host.push(ContactDetail(int(contact["_id"] or 0))))

            widgets.append(list_view(self.list, len(contacts), make_row, row_height=ROW_H,
                                     rid=_ID + "contact_list"))
        widgets.append(fab("Create contact", _ID + "fab", lambda: host.push(ContactEditor()),
                           colour=BAR))
        return widgets


class ContactEditor(Screen):
    """A new contact's name and number; Save refuses an empty name."""

    fields = (_ID + "name_field", _ID + "phone_field")

    def __init__(self) -> None:
        super().__init__()
        self.error = ""

    def save(self, host: Host) -> None:
        name = self.values[_ID + "name_field"].strip()
        if not name:
            self.error = "Name is required"
            return
        host.data.add(TABLE.name, display_name=name,
                      data1=self.values[_ID + "phone_field"].strip())
        host.pop()

    def build(self, host: Host) -> list[Widget]:
        top = CONTENT_TOP + 60
        widgets = [
            app_bar("Create contact", BAR, up=host.pop),
            edit_text(self, _ID + "name_field", "Name", top),
            edit_text(self, _ID + "phone_field", "Phone", top + 200),
            button("Save", _ID + "save", top + 420, lambda: self.save(host), colour=BAR),
        ]
        if self.error:
            widgets.append(text_view((0, top + 600, SCREEN_W, top + 680), self.error,
                                     rid=_ID + "error", color=ERROR))
        return widgets


class ContactDetail(Screen):
    """One contact's name and number."""

    def __init__(self, contact_id: int) -> None:
        super().__init__()
        self.contact_id = contact_id

    def build(self, host: Host) -> list[Widget]:
        contact = host.data.get(TABLE.name, self.contact_id)
        widgets = [app_bar("", BAR, up=host.pop)]
        if contact is None:
            widgets.append(text_view((0, CONTENT_TOP + 200, SCREEN_W, CONTENT_TOP + 300),
                                     "Contact not found", rid=_ID + "empty", color=SECONDARY,
                                     align="center"))
            return widgets
        top = CONTENT_TOP + 80
        widgets += [
            text_view((0, top, SCREEN_W, top + 120), str(contact["display_name"] or ""),
                      rid=_ID + "detail_name", size=64, bold=True, align="center"),
            text_view((0, top + 200, SCREEN_W, top + 260), "Phone", color=SECONDARY, size=38),
            text_view((0, top + 260, SCREEN_W, top + 340), str(contact["data1"] or ""),
                      rid=_ID + "detail_number", size=52),
        ]
        return widgets


CONTACTS = App(PACKAGE, "Contacts", ".activities.PeopleActivity", colour="#1A73E8",
               root=ContactList, tables=(TABLE,), bar=BAR)
