"""``python -m qvl_agent.envs.sim``: serve a virtual phone until SIGTERM or SIGINT.

With ``--with-parent`` (as ``--device sim`` starts it) it also stops when the process that
started it dies, so a killed eval worker leaves no phone behind.

Prints exactly one line on stdout once it accepts connections,
``qvl-sim listening on 127.0.0.1:PORT``, so a parent process can read the port and run
``adb connect 127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from types import FrameType

from qvl_agent.envs.sim.phone import PhoneConfig
from qvl_agent.envs.sim.profiles import DEFAULT_PROFILE, PROFILES
from qvl_agent.envs.sim.server import VirtualPhone


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m qvl_agent.envs.sim",
        description="A virtual Android phone that the adb server and adbutils connect to.")
    parser.add_argument("--port", type=int, default=0,
                        help="TCP port on 127.0.0.1 (default 0: a free one, never 5555-5585)")
    parser.add_argument("--serialno", default="qvl-sim", help="the serial number it reports")
    parser.add_argument("--model", default=None, help="ro.product.model (default: the profile's)")
    parser.add_argument("--profile", default=DEFAULT_PROFILE, choices=sorted(PROFILES),
                        help=f"which Android release's quirks (default {DEFAULT_PROFILE})")
    parser.add_argument("--no-animations", action="store_true",
                        help="instant: a still screen right after every input, swipes and "
                             "uiautomator dumps without waiting (default: a phone's timing)")
    parser.add_argument("--steady", action="store_true",
                        help="uiautomator never fails at random (default: now and then, "
                             "as on phones)")
    parser.add_argument("--seed", type=int, default=0,
                        help="which uiautomator dumps fail and how long each takes (default 0)")
    parser.add_argument("--pin", default=None,
                        help="lock the screen with this PIN (default: swipe to unlock)")
    parser.add_argument("--no-adb-keyboard", action="store_true",
                        help="leave ADB Keyboard (com.android.adbkeyboard) uninstalled")
    parser.add_argument("--debug", action="store_true", help="log every connection and stream")
    parser.add_argument("--with-parent", action="store_true",
                        help="stop (and adb disconnect) when the process that started it dies")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if args.pin is not None and not (args.pin.isdigit() and len(args.pin) >= 4):
        print("qvl-sim: --pin takes at least 4 digits", file=sys.stderr)
        return 2
    config = PhoneConfig(serialno=args.serialno, model=args.model,
                         adb_keyboard=not args.no_adb_keyboard, profile=args.profile,
                         animations=not args.no_animations, flaky=not args.steady,
                         seed=args.seed, lock_pin=args.pin)
    try:
        virtual = VirtualPhone(config, port=args.port)
        virtual.start()
    except (ValueError, OSError) as exc:
        print(f"qvl-sim: cannot start: {exc}", file=sys.stderr)
        return 2
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"qvl-sim listening on 127.0.0.1:{virtual.port}", flush=True)
    parent = os.getppid()
    orphaned = False
    try:
        while not stopping.wait(0.2):
            if args.with_parent and os.getppid() != parent:
                orphaned = True  # e.g. an eval worker killed at its time limit
                break
    finally:
        virtual.stop()
    if orphaned:
        _forget(virtual.serial)
    return 0


def _forget(serial: str) -> None:
    """Take the phone off the adb server's list; nobody else is left to do it."""
    adb = shutil.which("adb")
    if adb:
        subprocess.run([adb, "disconnect", serial], capture_output=True, timeout=30, check=False)


if __name__ == "__main__":
    sys.exit(main())
