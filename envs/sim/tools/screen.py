"""``screencap`` and ``uiautomator dump``: the screen as pixels and as a widget hierarchy.

Both come from the same widget tree at the same moment's state, so a node's bounds in the
dump are where its pixels are in the screenshot. With the screen off, screencap returns a
black image and uiautomator finds no window ("null root node").

``screencap -d`` checks its display id as each release does (AOSP ``screencap.cpp``): 9 has
display 0 only ("Unable to get handle for display N"); 11 takes a physical display id or a
layer stack and fails silently (exit 1) otherwise; 14 wants a well-formed 64-bit id
("Invalid display ID: ...") of a display that exists ("Failed to take screenshot. Status:
-2"), and warns on stderr when several displays exist and none was named.

``uiautomator dump`` (``DumpCommand.java``) connects (0.3-0.9 s), then waits until the
screen sent no accessibility event for 1 s, at most 10 s ("ERROR: could not get idle
state.", exit 0, no file). Now and then (seeded, ``PhoneConfig.flaky``) it finds no window
("ERROR: null root node returned by UiTestAutomationBridge."), or dies: its process is
killed ("Killed", exit 137), after an "UiAutomationService ... already registered!" crash
that only logcat shows, or by the system.
"""

from __future__ import annotations

import hashlib
import random
import struct
import time
from typing import TYPE_CHECKING, Literal

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.files import FileError
from qvl_agent.envs.sim.hierarchy import dump_xml
from qvl_agent.envs.sim.render import png
from qvl_agent.envs.sim.tools.common import fail, ok

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["SCREEN", "IDLE_ERROR", "NULL_ROOT", "MULTI_DISPLAY_WARNING", "dump_outcome",
           "planned_outcome"]

_SCREENCAP_USAGE = {
    28: "usage: {name} [-hp] [-d display-id] [FILENAME]\n   -h: this message\n"
        "   -p: save the file as a png.\n   -d: specify the display id to capture, default 0.\n",
    30: "usage: {name} [-hp] [-d display-id] [FILENAME]\n   -h: this message\n"
        "   -p: save the file as a png.\n"
        "   -d: specify the physical display ID to capture (default: {default})\n"
        "       see \"dumpsys SurfaceFlinger --display-id\" for valid display IDs.\n",
    34: "\nusage: {name} [-hp] [-d display-id] [FILENAME]\n   -h: this message\n"
        "   -p: save the file as a png.\n   -d: specify the display ID to capture{default}\n"
        "       see \"dumpsys SurfaceFlinger --display-id\" for valid display IDs.\n\n",
}
_USAGE_TAIL = ("If FILENAME ends with .png it will be saved as a png.\n"
               "If FILENAME is not given, the results will be printed to stdout.\n")
_UIAUTOMATOR_HELP = """Usage: uiautomator <subcommand> [options]

Available subcommands:

help: displays help message

runtest: executes UI automation tests
    runtest <class spec> [options]
    <class spec>: <JARS> < -c <CLASSES> | -e class <CLASSES> >
      <JARS>: a list of jar files containing test classes and dependencies. If
        the path is relative, it's assumed to be under /data/local/tmp. Use
        absolute path if the file is elsewhere. Multiple files can be
        specified, separated by space.
      <CLASSES>: a list of test class names to run, separated by comma. To
        a single method, use TestClass#testMethod format. The -e or -c option
        may be repeated. This option is not required and if not provided then
        all the tests in provided jars will be run automatically.
    options:
      --nohup: trap SIG_HUP, so test won't terminate even if parent process
               is terminated, e.g. USB is disconnected.
      -e debug [true|false]: wait for debugger to connect before starting.
      -e runner [CLASS]: use specified test runner class instead. If
        unspecified, framework default runner will be used.
      -e <NAME> <VALUE>: other name-value pairs to be passed to test classes.
        May be repeated.
      -e outputFormat simple | -s: enabled less verbose JUnit style output.

dump: creates an XML dump of current UI hierarchy
    dump [--verbose][file]
      [--compressed]: dumps compressed layout information.
      [file]: the location where the dumped XML should be stored, default is
      /sdcard/window_dump.xml

events: prints out accessibility events until terminated

"""
_DEFAULT_DUMP = "/sdcard/window_dump.xml"
MULTI_DISPLAY_WARNING = (
    "[Warning] Multiple displays were found, but no display id was specified! Defaulting to "
    "the first display found, however this default is not guaranteed to be consistent across "
    "captures. A display id should be specified.\n"
    "A display ID can be specified with the [-d display-id] option.\n"
    "See \"dumpsys SurfaceFlinger --display-id\" for valid display IDs.\n")
IDLE_ERROR = "ERROR: could not get idle state.\n"
NULL_ROOT = "ERROR: null root node returned by UiTestAutomationBridge.\n"
_REGISTERED = (
    "java.lang.IllegalStateException: UiAutomationService android.accessibilityservice."
    "IAccessibilityServiceClient$Stub$Proxy@{token:x}already registered!\n"
    "\tat android.os.Parcel.createExceptionOrNull(Parcel.java:2425)\n"
    "\tat android.os.Parcel.createException(Parcel.java:2409)\n"
    "\tat android.os.Parcel.readException(Parcel.java:2392)\n"
    "\tat android.os.Parcel.readException(Parcel.java:2334)\n"
    "\tat android.app.IUiAutomationConnection$Stub$Proxy.connect(IUiAutomationConnection.java:"
    "474)\n"
    "\tat android.app.UiAutomation.connect(UiAutomation.java:263)\n"
    "\tat com.android.uiautomator.core.UiAutomationShellWrapper.connect("
    "UiAutomationShellWrapper.java:26)\n"
    "\tat com.android.commands.uiautomator.DumpCommand.run(DumpCommand.java:71)\n"
    "\tat com.android.commands.uiautomator.Launcher.main(Launcher.java:83)\n"
    "\tat com.android.internal.os.RuntimeInit.nativeFinishInit(Native Method)\n"
    "\tat com.android.internal.os.RuntimeInit.main(RuntimeInit.java:355)")
_RGBA_8888, _SRGB = 1, 1
IDLE_S, GLOBAL_S = 1.0, 10.0           # DumpCommand: waitForIdle(1000, 1000 * 10)


def _usage(phone: Phone) -> str:
    sdk = min(_SCREENCAP_USAGE, key=lambda key: abs(key - phone.profile.sdk))
    ids = phone.profile.display_ids
    default = str(ids[0]) if sdk == 30 else (f" (default: {ids[0]})" if len(ids) == 1 else "")
    return _SCREENCAP_USAGE[sdk].format(name="screencap", default=default) + _USAGE_TAIL


def _display_problem(phone: Phone, display: str | None) -> tuple[str, bool] | None:
    """(stderr, exists) when ``-d`` names no display this release can capture."""
    if display is None:
        return None
    sdk, ids = phone.profile.sdk, phone.profile.display_ids
    if sdk < 29:
        number = int(display) if display.lstrip("-").isdigit() else 0       # atoi
        return None if number == 0 else (f"Unable to get handle for display {number}\n", False)
    if sdk < 31:
        digits = display.lstrip("-")
        number = int(digits[:len(digits) - len(digits.lstrip("0123456789"))] or "0")
        return None if number in ids or number == 0 else ("", False)        # a layer stack
    if not display.isdigit() or int(display) >= 2 ** 64:
        return "Invalid display ID: Out of range [0, 2^64).\n", False
    return None if int(display) in ids else ("Failed to take screenshot. Status: -2\n", False)


def screencap(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    as_png, path, display, index = False, None, None, 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("-") and len(arg) > 1:
            for at, flag in enumerate(arg[1:], 1):
                if flag == "p":
                    as_png = True
                elif flag == "d":
                    display = arg[at + 1:] or (args[index + 1] if index + 1 < len(args) else None)
                    if display is None:
                        return fail("screencap: option requires an argument -- d\n"
                                    + _usage(phone))
                    index += 0 if arg[at + 1:] else 1
                    break
                elif flag == "h":
                    return fail(_usage(phone))
                else:
                    return fail(f"screencap: unknown option -- {flag}\n" + _usage(phone))
        elif path is None:
            path = arg
        else:
            return fail(_usage(phone))
        index += 1
    if path is not None:
        try:
            phone.files.write(path, b"")        # opened (and truncated) before the capture
        except FileError as exc:
            return fail(f"Error opening file: {path} ({exc})", 1)
    if (problem := _display_problem(phone, display)) is not None:
        return ShellResult(1, b"", problem[0].encode())
    warning = MULTI_DISPLAY_WARNING if phone.profile.sdk >= 31 and display is None \
        and phone.profile.multi_display else ""
    image = phone.screenshot()
    if display is not None and phone.profile.sdk >= 31 and int(display) != \
            phone.profile.display_ids[0]:
        image = image.point(lambda value: 0)    # the second display shows nothing
    if as_png or (path is not None and path.endswith(".png")):
        data = _png(phone, image)
    else:
        rgba = image.convert("RGBA")
        header = (rgba.width, rgba.height, _RGBA_8888) + ((_SRGB,) if phone.profile.sdk >= 29
                                                           else ())
        data = struct.pack(f"<{len(header)}I", *header) + rgba.tobytes()
    if path is None:
        return ShellResult(0, data, warning.encode(), warning.encode() + data)
    phone.files.write(path, data)
    return ShellResult(0, b"", warning.encode())


def _png(phone: Phone, image: object) -> bytes:
    """The image as PNG, encoded once per distinct frame: a driver waiting for a still
    screen asks for the same frame again and again, and encoding is most of the cost."""
    key = hashlib.blake2b(image.tobytes(), digest_size=16).digest()  # type: ignore[attr-defined]
    cached = phone.png_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    data = png(image)  # type: ignore[arg-type]
    phone.png_cache = (key, data)
    return data


Outcome = Literal["ok", "null_root", "registered", "killed"]


def planned_outcome(seed: int, number: int) -> tuple[Outcome, float]:
    """How dump ``number`` of a flaky phone with ``seed`` goes, and its connect time."""
    rng = random.Random(f"{seed}:{number}")
    luck, connect = rng.random(), 0.3 + 0.6 * rng.random()
    outcome: Outcome = "null_root" if luck < 0.025 else "registered" if luck < 0.035 \
        else "killed" if luck < 0.045 else "ok"
    return outcome, connect


def dump_outcome(phone: Phone) -> tuple[Outcome, float]:
    """How the phone's next dump goes and how long it takes to connect: drawn from the
    phone's seed and the dump's number, so a phone replays the same sequence."""
    with phone.lock:
        number = phone.dumps
        phone.dumps += 1
    outcome, connect = planned_outcome(phone.config.seed, number)
    return (outcome if phone.config.flaky else "ok"), (connect if phone.config.animations
                                                       else 0.0)


def _wait_for_idle(phone: Phone, connected: float) -> bool:
    """UiAutomation.waitForIdle(1000, 10000): True once 1 s passed without events."""
    deadline = connected + GLOBAL_S
    while True:
        with phone.lock:
            quiet_since = max(connected, phone.events_until())
        now = time.monotonic()
        if now - quiet_since >= IDLE_S:
            return True
        if now >= deadline:
            return False
        time.sleep(max(0.0, min(quiet_since + IDLE_S, deadline) - now))


def uiautomator(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    """Runs without the phone's lock held: a dump takes seconds while other commands run."""
    if args[:1] != ["dump"]:
        return ok(stderr=_UIAUTOMATOR_HELP)
    paths = [arg for arg in args[1:] if not arg.startswith("-")]
    path = paths[-1] if paths else _DEFAULT_DUMP
    outcome, connect = dump_outcome(phone)
    time.sleep(connect)
    if outcome in ("registered", "killed"):
        if outcome == "registered":
            token = random.Random(phone.dumps).getrandbits(28)
            phone.logcat.write("AndroidRuntime", f"FATAL EXCEPTION: main\nPID: {4600 + phone.dumps}"
                               f"\n{_REGISTERED.format(token=token)}", level="E",
                               pid=4600 + phone.dumps, buffer="crash")
        return ShellResult(137, b"", b"Killed\n")
    if phone.config.animations and not _wait_for_idle(phone, time.monotonic()):
        return ok(stderr=IDLE_ERROR)
    with phone.lock:
        if outcome == "null_root" or not phone.power.awake:
            return ok(stderr=NULL_ROOT)
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
