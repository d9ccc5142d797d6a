"""What adb shell commands print, read the way real phones print it (see ``envs.android``)."""

from __future__ import annotations

import re

from qvl_agent.envs.errors import EnvError

__all__ = ["PNG_SIGNATURE", "png_in", "resumed_package", "input_text_parts"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Android 9: "mResumedActivity: ActivityRecord{..}", 10-11: "ResumedActivity: ..",
# 12+: "topResumedActivity=ActivityRecord{..}".
_RESUMED = re.compile(r"^\s*(?:topResumedActivity=|m?ResumedActivity: ?)ActivityRecord\{\S+ u\d+ "
                      r"([\w.]+)/", re.M)


def resumed_package(dump: str) -> str | None:
    """The package of the resumed activity in ``dumpsys activity activities``, any release."""
    match = _RESUMED.search(dump)
    return match.group(1) if match else None


def png_in(data: bytes, serial: str = "the phone") -> bytes:
    """The PNG in ``screencap -p``'s output, without any text printed before it.

    Raises:
        EnvError: there is no PNG; the message shows what came instead.
    """
    start = data.find(PNG_SIGNATURE)
    if start < 0:
        text = data[:200].decode("utf-8", "replace").strip()
        raise EnvError(f"{serial}: screencap did not return a PNG ({len(data)} bytes): {text!r}")
    return data[start:]


def input_text_parts(text: str) -> list[str]:
    """How to type ``text`` with ``input text``, which reads ``%s`` as a space.

    Newlines and tabs become their own parts (sent as key presses). A literal ``%s`` is
    split across two calls (``...%`` then ``s...``), since no call may contain it; spaces
    then become ``%s``.
    """
    parts: list[str] = []
    for run in re.split(r"(\n|\t)", text.replace("\r\n", "\n")):
        if run in ("\n", "\t"):
            parts.append(run)
            continue
        pieces = run.split("%s")
        for i, piece in enumerate(pieces):
            call = ("s" if i else "") + piece + ("%" if i < len(pieces) - 1 else "")
            if call:
                parts.append(call.replace(" ", "%s"))
    return parts
