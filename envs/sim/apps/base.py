"""What an app is to the virtual phone: a package, a launcher activity and a stack of screens.

A ``Screen`` is one page of an app (a list, an editor). It keeps what a page keeps on a real
phone (typed text, the focused field, how far a list is scrolled) and builds its widget tree
from that and from the phone's data on demand. The phone owns one stack of screens per app
(its task): tapping opens screens, BACK closes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from qvl_agent.envs.sim.profiles import Profile
from qvl_agent.envs.sim.settings_store import SettingsStore
from qvl_agent.envs.sim.store import ContentStore, Table
from qvl_agent.envs.sim.widgets import Widget

__all__ = ["App", "Host", "Screen", "ListState"]


class Host(Protocol):
    """What an app may ask of the phone it runs on."""

    data: ContentStore
    settings: SettingsStore
    profile: Profile

    def push(self, screen: Screen) -> None:
        """Open ``screen`` on top of the foreground app's stack."""

    def pop(self) -> None:
        """Close the foreground app's top screen (the app closes with its last one)."""

    def launch(self, package: str) -> None:
        """Bring an app to the foreground, as its launcher icon does."""


class Screen:
    """One page of an app; subclasses list their text fields and build their widgets.

    ``fields`` are the resource-ids of the page's EditTexts in focus order: the keyboard
    types into the focused one, ENTER moves to the next.
    """

    fields: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.values: dict[str, str] = {rid: "" for rid in self.fields}
        self.focus: str | None = None
        self.selected = False           # the focused field's whole text is selected

    def build(self, host: Host) -> list[Widget]:
        """The page's widgets below the status bar, drawn in list order (later on top)."""
        raise NotImplementedError

    def focus_field(self, rid: str) -> None:
        self.focus, self.selected = rid, False

    def type(self, text: str) -> None:
        """Append to the focused field (or replace its selection); with nothing focused,
        typing goes nowhere."""
        if self.focus is not None:
            current = "" if self.selected else self.values[self.focus]
            self.values[self.focus] = current + text
            self.selected = False

    def delete(self) -> None:
        """Erase the selection, or the last character (the caret is always at the end)."""
        if self.focus is not None:
            self.values[self.focus] = "" if self.selected else self.values[self.focus][:-1]
            self.selected = False

    def delete_word(self) -> None:
        """Ctrl+DEL: back to the start of the word before the caret."""
        if self.focus is not None:
            text = "" if self.selected else self.values[self.focus]
            self.values[self.focus] = text[:len(text.rstrip()) - len(text.rstrip().split(" ")[-1])]
            self.selected = False

    def clear(self) -> None:
        if self.focus is not None:
            self.values[self.focus] = ""
            self.selected = False

    def next_field(self) -> None:
        """Move focus to the next field, if there is one."""
        self.selected = False
        if self.focus is not None and (at := self.fields.index(self.focus)) + 1 < len(self.fields):
            self.focus = self.fields[at + 1]


@dataclass(frozen=True)
class App:
    """An installed app: identity, looks, its launcher activity and its data."""

    package: str
    label: str
    activity: str                       # short form, e.g. ".Settings"
    colour: str                         # launcher icon colour
    root: Callable[[], Screen]          # the page its launcher activity opens on
    bar: str = "#FFFFFF"                # app bar and status bar colour
    tables: tuple[Table, ...] = ()
    launchable: bool = True             # has a MAIN/LAUNCHER activity
    system: bool = True                 # preinstalled (pm list packages -s) or not (-3)
    aosp_package: str = ""              # the AOSP name its resource ids use, when renamed

    @property
    def id_prefix(self) -> str:
        """How this app's resource ids are written in its code (``pkg:id/``)."""
        return f"{self.aosp_package or self.package}:id/"

    @property
    def component(self) -> str:
        return f"{self.package}/{self.activity}"

    def activity_class(self, activity: str | None = None) -> str:
        """The fully qualified class of ``activity`` (default: the launcher activity)."""
        name = activity or self.activity
        return self.package + name if name.startswith(".") else name


class ListState:
    """How far a list is scrolled, in whole rows (rows never show cut in half)."""

    def __init__(self) -> None:
        self.first = 0

    def window(self, count: int, visible: int) -> range:
        """The indices of the rows on screen, after clamping to the list's length."""
        self.first = max(0, min(self.first, count - visible))
        return range(self.first, min(count, self.first + visible))

    def scroll(self, dy: int, row_height: int, count: int, visible: int) -> None:
        """Follow a drag of ``dy`` pixels: dragging up (dy < 0) shows later rows."""
        self.first = max(0, min(self.first + round(-dy / row_height), max(0, count - visible)))
