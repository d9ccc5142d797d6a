"""Clock: the alarm list with on/off switches and an editor (hour, minute, label).

Alarms live in the ``alarms`` table, served as ``content://com.android.deskclock/alarms``
(``_id``, ``hour``, ``minutes``, ``enabled`` 1/0, ``label``).
"""

from __future__ import annotations

from qvl_agent.envs.sim.apps.base import App, Host, ListState, Screen
from qvl_agent.envs.sim.apps.layout import (
    CONTENT_TOP, ERROR, SECONDARY, app_bar, button, edit_text, fab, list_view, row, switch,
    text_view,
)
from qvl_agent.envs.sim.store import ProviderUri, Table, Value
from qvl_agent.envs.sim.widgets import SCREEN_W, Rect, Widget

__all__ = ["CLOCK", "TABLE", "parse_time"]

PACKAGE = "com.android.deskclock"
BAR = "#3949AB"
ROW_H = 220
_ID = f"{PACKAGE}:id/"

TABLE = Table("alarms", PACKAGE, (("hour", "INTEGER NOT NULL DEFAULT 0"),
                                  ("minutes", "INTEGER NOT NULL DEFAULT 0"),
                                  ("enabled", "INTEGER NOT NULL DEFAULT 1"),
                                  ("label", "TEXT NOT NULL DEFAULT ''")),
              uris=(ProviderUri("content://com.android.deskclock/alarms"),))


def parse_time(hour: str, minute: str) -> tuple[int, int] | None:
    """The (hour, minute) an editor's fields mean, or None if they are no valid 24 h time."""
    hour, minute = hour.strip(), minute.strip()
    if not (hour.isascii() and hour.isdigit() and minute.isascii() and minute.isdigit()):
        return None
    if len(hour) > 2 or len(minute) > 2 or int(hour) > 23 or int(minute) > 59:
        return None
    return int(hour), int(minute)


def _two_digits(value: Value) -> str:
    return f"{value:02d}" if isinstance(value, int) else str(value)


class AlarmList(Screen):
    """Alarms by time; the switch turns one on or off, the row opens it for editing."""

    def __init__(self) -> None:
        super().__init__()
        self.list = ListState()

    def build(self, host: Host) -> list[Widget]:
        alarms = host.data.rows(TABLE.name, "hour, minutes, _id")
        widgets = [app_bar("Alarms", BAR)]
        if not alarms:
            widgets.append(text_view((0, CONTENT_TOP + 200, SCREEN_W, CONTENT_TOP + 300),
                                     "No alarms", rid=_ID + "empty", color=SECONDARY,
                                     align="center"))
        else:
            def make_row(index: int, bounds: Rect) -> Widget:
                alarm = alarms[index]
                alarm_id = int(alarm["_id"] or 0)
                left, top, right, bottom = bounds
                enabled = bool(alarm["enabled"])

                def flip() -> None:
                    host.data.change(TABLE.name, alarm_id, enabled=0 if enabled else 1)

                children = [text_view((0, top + 20, 820, top + 140),
                                      f"{_two_digits(alarm['hour'])}:"
                                      f"{_two_digits(alarm['minutes'])}",
                                      rid=_ID + "digital_clock", size=80,
                                      color="#202124" if enabled else SECONDARY)]
                if alarm["label"]:
                    children.append(text_view((0, top + 140, 820, top + 200), str(alarm["label"]),
                                              rid=_ID + "alarm_label", size=38, color=SECONDARY))
                children.append(switch((860, top + 70, SCREEN_W - 48, bottom - 70),
                                       _ID + "onoff", enabled, flip))
                return row(bounds, children, rid=_ID + "alarm_item",
                           on_click=lambda: host.push(AlarmEditor(alarm)))

            widgets.append(list_view(self.list, len(alarms), make_row, row_height=ROW_H,
                                     rid=_ID + "alarm_recycler_view"))
        widgets.append(fab("Add alarm", _ID + "fab", lambda: host.push(AlarmEditor()),
                           colour=BAR))
        return widgets


class AlarmEditor(Screen):
    """A new alarm, or an existing one (then Save keeps its ``_id`` and on/off state)."""

    fields = (_ID + "hour", _ID + "minute", _ID + "label")

    def __init__(self, alarm: dict[str, Value] | None = None) -> None:
        super().__init__()
        self.error = ""
        self.alarm_id = int(alarm["_id"] or 0) if alarm else None
        if alarm:
            self.values[_ID + "hour"] = _two_digits(alarm["hour"])
            self.values[_ID + "minute"] = _two_digits(alarm["minutes"])
            self.values[_ID + "label"] = str(alarm["label"] or "")

    def save(self, host: Host) -> None:
        time = parse_time(self.values[_ID + "hour"], self.values[_ID + "minute"])
        if time is None:
            self.error = "Invalid time"
            return
        label = self.values[_ID + "label"].strip()
        if self.alarm_id is None:
            host.data.add(TABLE.name, hour=time[0], minutes=time[1], enabled=1, label=label)
        else:
            host.data.change(TABLE.name, self.alarm_id, hour=time[0], minutes=time[1],
                             label=label)
        host.pop()

    def build(self, host: Host) -> list[Widget]:
        top = CONTENT_TOP + 60
        title = "Add alarm" if self.alarm_id is None else "Edit alarm"
        widgets = [
            app_bar(title, BAR, up=host.pop),
            edit_text(self, _ID + "hour", "Hour", top),
            edit_text(self, _ID + "minute", "Minute", top + 200),
            edit_text(self, _ID + "label", "Label", top + 400),
            button("Save", _ID + "save", top + 620, lambda: self.save(host), colour=BAR),
        ]
        if self.error:
            widgets.append(text_view((0, top + 800, SCREEN_W, top + 880), self.error,
                                     rid=_ID + "error", color=ERROR))
        return widgets


CLOCK = App(PACKAGE, "Clock", ".DeskClock", colour="#3949AB", root=AlarmList,
            tables=(TABLE,), bar=BAR)
