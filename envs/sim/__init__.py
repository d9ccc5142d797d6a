"""The virtual phone: a Python process the real ``adb`` server and ``adbutils`` talk to unchanged.

``envs.sim.adbd`` speaks the device side of adb's transport protocol over TCP; ``Phone``
is the phone behind it (state, apps, screen, shell); ``VirtualPhone`` serves one on
127.0.0.1, and ``python -m qvl_agent.envs.sim`` runs one as a process.

    adbd            AdbDaemon: adb's wire protocol, one thread per stream
    sync            the file service behind adb pull, push and ls
    phone           Phone, PhoneConfig: the state and the shell handler
    interaction     where touches and keys go (the lock screen, the app), modifiers
    power           the screen's power, its timeout and the lock screen
    profiles        Profile, PROFILES: how android-9, -11, -14 and samsung-11 differ
    vendors         what AOSP, Google and Samsung call their apps
    server          VirtualPhone: a Phone plus its AdbDaemon
    shell/cmdline   the mksh-like command line: lists, pipes, $?, redirections
    tools/          one module per family of shell commands (input, am, pm, content, ...)
    apps/           the launcher, the five apps and the lock screen, one module each
    widgets/render/hierarchy/fonts   the widget tree, its drawing and its uiautomator XML
    store/settings_store/files/packages/logcat   the phone's data and its log
"""

from qvl_agent.envs.sim.adbd import AdbDaemon, ShellHandler, ShellResult
from qvl_agent.envs.sim.apps.flights import CITIES, Flight, booking_code, flights_for
from qvl_agent.envs.sim.phone import Phone, PhoneConfig
from qvl_agent.envs.sim.profiles import DEFAULT_PROFILE, PROFILES, Profile
from qvl_agent.envs.sim.server import VirtualPhone

__all__ = [
    "AdbDaemon", "ShellHandler", "ShellResult", "Phone", "PhoneConfig", "VirtualPhone",
    "Profile", "PROFILES", "DEFAULT_PROFILE",
    "CITIES", "Flight", "booking_code", "flights_for",
]
