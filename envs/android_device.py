"""``AndroidDevice``: what a phone over adb offers besides the Env contract.

Tasks read a phone's state through it (``settings get``, ``content query``, ``dumpsys``, the
uiautomator tree) and ADB Keyboard types through it. ``envs.android.AndroidEnv`` is one;
``tasks.android.device.device_of(env)`` narrows an ``Env`` to it with a clear error when the
env is not a phone.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Protocol, runtime_checkable

__all__ = ["AndroidDevice"]


@runtime_checkable
class AndroidDevice(Protocol):
    """A phone reached over adb."""

    serial: str

    def shell(self, args: list[str] | str, *, check: bool = True,
              changes_screen: bool = True) -> str:
        """Run a shell command on the phone and return its output; ``args`` as a list is
        quoted for the phone. ``check``: an exit code other than 0 raises ``EnvError``.
        ``changes_screen`` False: a pure query, the screen is known not to have changed."""
        ...

    def ui_xml(self) -> str:
        """The screen's ``uiautomator dump`` XML, never a stale one."""
        ...

    def ui_nodes(self) -> list[ET.Element]:
        """Every ``node`` element of a fresh dump."""
        ...

    def foreground_app(self) -> str | None:
        """The package in front, or None when the phone does not say."""
        ...

    def wake(self) -> None:
        """Make the screen ready for an episode: on, unlocked (no PIN) and kept on while the
        env is open; an ``EnvError`` for a phone locked with a PIN or a black screen."""
        ...
