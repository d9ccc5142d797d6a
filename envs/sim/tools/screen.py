"""``screencap`` and ``uiautomator dump``: the screen as pixels and as a widget hierarchy.

Both come from the same widget tree at the same moment's state, so a node's bounds in the
dump are where its pixels are in the screenshot.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.files import FileError
from qvl_agent.envs.sim.hierarchy import dump_xml
from qvl_agent.envs.sim.render import png
from qvl_agent.envs.sim.tools.common import UsageError, fail, ok

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["SCREEN"]

_SCREENCAP_USAGE = """usage: screencap [-hp] [-d display-id] [FILENAME]
   -h: this message
   -p: save the file as a png.
   -d: specify the physical display ID to capture (default: 0)
If FILENAME ends with .png it will be saved as a png.
If FILENAME is not given, the results will be printed to stdout.
"""
_UIAUTOMATOR_USAGE = """Usage: uiautomator <subcommand> [options]

Available subcommands:

help: displays help message

dump: creates an XML dump of current UI hierarchy
    dump [--verbose][--compressed] [file]
"""
_DEFAULT_DUMP = "/sdcard/window_dump.xml"
# What screencap prints on a phone with several displays when no -d is given (AOSP
# screencap.cpp), on stdout, before the image.
MULTI_DISPLAY_WARNING = (
    "[Warning] Multiple displays were found, but no display id was specified! Defaulting to "
    "the first display found, however this default is not guaranteed to be consistent across "
    "captures. A display id should be specified.\n"
    "A display ID can be specified with the [-d display_id] option.\n"
    "See \"dumpsys SurfaceFlinger --display-id\" for valid display IDs.\n")
IDLE_ERROR = "ERROR: could not get idle state.\n"
_RGBA_8888, _SRGB = 1, 142671872


def screencap(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    as_png, path, index, display = False, None, 0, None
    while index < len(args):
        arg = args[index]
        if arg == "-p":
            as_png = True
        elif arg == "-d" and index + 1 < len(args):
            index += 1
            display = args[index]
        elif arg == "-h" or arg.startswith("-"):
            raise UsageError(_SCREENCAP_USAGE, 1 if arg != "-h" else 0)
        else:
            path = arg
        index += 1
    image = phone.screenshot()
    if as_png or (path is not None and path.endswith(".png")):
        data = png(image)
    else:
        rgba = image.convert("RGBA")
        data = struct.pack("<4I", rgba.width, rgba.height, _RGBA_8888, _SRGB) + rgba.tobytes()
    if path is None:
        if phone.profile.multi_display and display is None:
            return ok(MULTI_DISPLAY_WARNING.encode() + data)
        return ok(data)
    try:
        phone.files.write(path, data)
    except FileError as exc:
        return fail(f"Error opening file: {path} ({exc})", 1)
    return ok()


def uiautomator(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    if not args or args[0] != "dump":
        if args[:1] in ([], ["help"]):
            return ok(_UIAUTOMATOR_USAGE)
        raise UsageError(f"Unknown command: {args[0]}\n{_UIAUTOMATOR_USAGE}", 1)
    paths = [arg for arg in args[1:] if not arg.startswith("--")]
    path = paths[0] if paths else _DEFAULT_DUMP
    if phone.animation_progress() is not None:
        # DumpCommand waits for idle, gives up and returns normally: exit 0, no file written.
        return ok(stderr=IDLE_ERROR)
    xml = dump_xml(phone.tree(), scale=phone.scale)
    done = f"UI hierchary dumped to: {path}\n"     # sic: the real tool's spelling
    if path in ("/dev/tty", "/dev/stdout"):
        return ok(xml + done)
    try:
        phone.files.write(path, xml.encode("utf-8"))
    except FileError as exc:
        return fail(f"ERROR: could not write {path}: {exc}", 1)
    return ok(done)


SCREEN = {"screencap": screencap, "uiautomator": uiautomator}
