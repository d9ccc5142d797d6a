"""Contacts: a list sorted by name, an editor (name, phone) and a detail page.

The data belongs to ``com.android.providers.contacts`` and is shaped as ContactsProvider2
shapes it: a ``raw_contacts`` row per person and ``data`` rows (a StructuredName, whose
``data1`` becomes the raw contact's ``display_name``, and Phone rows). As on a phone:

- ``content://com.android.contacts/raw_contacts`` and ``.../data`` take inserts; a data
  insert needs ``raw_contact_id`` and ``mimetype``.
- ``content://com.android.contacts/data/phones`` (``display_name``, ``data1`` = ``number``)
  and the legacy ``content://contacts/phones`` (``name``, ``number``) are for queries;
  inserting there is refused ("Unknown uri").
- ``content delete --uri .../raw_contacts --where ...`` removes those contacts with their
  data rows (they have no account, so nothing waits for a sync).
- ``pm clear com.android.contacts`` (the app) keeps the contacts; ``pm clear
  com.android.providers.contacts`` removes them (Samsung's provider refuses: "Failed").
"""

from __future__ import annotations

from qvl_agent.envs.sim.apps.base import App, Host, ListState, Screen
from qvl_agent.envs.sim.apps.layout import (
    CONTENT_TOP, ERROR, MARGIN, SECONDARY, app_bar, button, edit_text, fab, list_view, row,
    text_view,
)
from qvl_agent.envs.sim.store import ProviderUri, Table
from qvl_agent.envs.sim.widgets import SCREEN_W, Paint, Rect, Widget

__all__ = ["CONTACTS", "RAW_CONTACTS", "DATA", "NAME_TYPE", "PHONE_TYPE", "PROVIDER"]

PACKAGE = "com.android.contacts"
PROVIDER = "com.android.providers.contacts"
NAME_TYPE = "vnd.android.cursor.item/name"
PHONE_TYPE = "vnd.android.cursor.item/phone_v2"
BAR = "#1A73E8"
ROW_H = 160
_ID = f"{PACKAGE}:id/"

_PHONES = (
    "SELECT d._id AS _id, d.raw_contact_id AS raw_contact_id, r._id AS contact_id, "
    "r.display_name AS display_name, d.mimetype AS mimetype, d.data1 AS data1, "
    "d.data1 AS number, d.data2 AS data2 FROM data d JOIN raw_contacts r "
    f"ON r._id = d.raw_contact_id WHERE d.mimetype = '{PHONE_TYPE}' AND r.deleted = 0")
_LEGACY_PHONES = (
    "SELECT d._id AS _id, r._id AS person, r.display_name AS name, d.data1 AS number, "
    "d.data2 AS type FROM data d JOIN raw_contacts r ON r._id = d.raw_contact_id "
    f"WHERE d.mimetype = '{PHONE_TYPE}' AND r.deleted = 0")
_TRIGGERS = tuple(
    f"CREATE TRIGGER data_name_{when.lower()} AFTER {when} ON data "
    f"WHEN NEW.mimetype = '{NAME_TYPE}' BEGIN UPDATE raw_contacts "
    "SET display_name = NEW.data1 WHERE _id = NEW.raw_contact_id; END"
    for when in ("INSERT", "UPDATE")) + (
    # A local raw contact deleted through its URI goes with its data rows.
    "CREATE TRIGGER raw_contact_deleted AFTER DELETE ON raw_contacts BEGIN "
    "DELETE FROM data WHERE raw_contact_id = OLD._id; END",)
# What the app lists: one row per named person, with their first number.
_LIST_VIEW = (
    "CREATE VIEW contact_list AS SELECT r._id AS _id, r.display_name AS display_name, "
    "(SELECT data1 FROM data WHERE raw_contact_id = r._id "
    f"AND mimetype = '{PHONE_TYPE}' ORDER BY _id LIMIT 1) AS data1 FROM raw_contacts r "
    "WHERE r.deleted = 0 AND r.display_name IS NOT NULL")

RAW_CONTACTS = Table("raw_contacts", PROVIDER, (
    ("account_name", "TEXT"), ("account_type", "TEXT"), ("display_name", "TEXT"),
    ("deleted", "INTEGER NOT NULL DEFAULT 0")),
    uris=(ProviderUri("content://com.android.contacts/raw_contacts"),))
DATA = Table("data", PROVIDER, (
    ("raw_contact_id", "INTEGER NOT NULL REFERENCES raw_contacts(_id)"),
    ("mimetype", "TEXT NOT NULL"), ("data1", "TEXT"), ("data2", "TEXT")),
    uris=(
        ProviderUri("content://com.android.contacts/data",
                    required=("raw_contact_id", "mimetype")),
        ProviderUri("content://com.android.contacts/data/phones", {"number": "data1"},
                    select=_PHONES, insert=False),
        ProviderUri("content://contacts/phones", {"number": "data1"},
                    select=_LEGACY_PHONES, insert=False),
    ), extra_sql=(*_TRIGGERS, _LIST_VIEW))
_LIST = "contact_list"
_ORDER = "display_name COLLATE NOCASE, _id"
_AVATARS = ("#1A73E8", "#188038", "#E37400", "#A142F4", "#D93025", "#12B5CB")


class ContactList(Screen):
    """Every contact by name; the "+" button opens an empty editor."""

    def __init__(self) -> None:
        super().__init__()
        self.list = ListState()

    def build(self, host: Host) -> list[Widget]:
        contacts = host.data.rows(_LIST, _ORDER)
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
        raw = host.data.add(RAW_CONTACTS.name, account_name=None, account_type=None)
        host.data.add(DATA.name, raw_contact_id=raw, mimetype=NAME_TYPE, data1=name)
        number = self.values[_ID + "phone_field"].strip()
        if number:
            host.data.add(DATA.name, raw_contact_id=raw, mimetype=PHONE_TYPE, data1=number,
                          data2="2")    # TYPE_MOBILE
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
        contact = host.data.get(_LIST, self.contact_id)
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
               root=ContactList, tables=(RAW_CONTACTS, DATA), bar=BAR)
