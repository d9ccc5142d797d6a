"""``dumpsys``, ``wm`` and ``getprop``: what the phone says about itself.

Only the lines tools and agents read are produced, in the real format: ``mCurrentFocus`` and
``mFocusedApp`` (``dumpsys window``, ``envs.sim.tools.window_dump`` with ``power`` and
``SurfaceFlinger``), ``mResumedActivity`` (``dumpsys activity activities``),
``orientation=0`` (``dumpsys display``), versions (``dumpsys package``).
As on a phone, a window's title is the full activity class while an ActivityRecord shows
the short name (``com.android.settings/.Settings``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.tools.common import UsageError, fail, ok
from qvl_agent.envs.sim.tools.window_dump import (
    dump_power, dump_surfaceflinger, dump_window, record, token,
)
from qvl_agent.envs.sim.widgets import DENSITY, SCREEN_H, SCREEN_W

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["DUMPSYS", "package_dump", "properties"]

_SERVICES = ("SurfaceFlinger", "activity", "battery", "display", "input_method", "package",
             "power", "window")
_INSTALLED = "2024-01-01 12:00:00"


def _dump_activities(phone: Phone, top_only: bool = False) -> str:
    front = phone.foreground
    if top_only:
        app = phone.apps[front]
        task = phone.task_id(front)
        return (f"TASK 10{task:03d}:{front} id={task} userId=0\n"
                f"  ACTIVITY {app.component} {token('record', front)} pid={4000 + task}\n")
    lines = ["ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)",
             "Display #0 (activities from top to bottom):"]
    for package in phone.running_packages():
        kind = "home" if package == phone.launcher.package else "standard"
        task = phone.task_id(package)
        lines.append(f"  * Task{{{token('task', package)} #{task} type={kind} "
                     f"A=10{task:03d}:{package} U=0 visible={str(package == front).lower()} "
                     f"mode=fullscreen translucent=false sz={phone.stack_depth(package)}}}")
        for depth in reversed(range(phone.stack_depth(package))):
            lines.append(f"    * Hist  #{depth}: {record(phone, package)}")
    resumed = record(phone, front)
    # Each release names the resumed activity its own way (see envs.sim.profiles).
    match phone.profile.resumed_line:
        case "mResumedActivity":
            lines += ["", "  Running activities (most recent first):",
                      f"    TaskRecord{{{token('tr', front)} #{phone.task_id(front)} "
                      f"A={front} U=0 StackId=1 sz=1}}", "",
                      f"    mResumedActivity: {resumed}", f"    mLastPausedActivity: {resumed}"]
        case "ResumedActivity":
            lines += ["", f"  ResumedActivity: {resumed}",
                      f"  mLastPausedActivity: {resumed}"]
        case "topResumedActivity":
            lines += ["", "  Resumed activities in task display areas (from top to bottom):",
                      f"    Resumed: {resumed}", "", f"  topResumedActivity={resumed}"]
    return "\n".join(lines) + "\n"


def _dump_display() -> str:
    frame = f"Rect(0, 0 - {SCREEN_W}, {SCREEN_H})"
    return (
        "DISPLAY MANAGER (dumpsys display)\n"
        "  mOnlyCode=false\n  mSafeMode=false\n  mPendingTraversal=false\n"
        "  mViewports=[DisplayViewport{type=INTERNAL, valid=true, isActive=true, displayId=0, "
        "uniqueId='local:4619827259835644672', physicalPort=0, orientation=0, "
        f"logicalFrame={frame}, physicalFrame={frame}, deviceWidth={SCREEN_W}, "
        f"deviceHeight={SCREEN_H}}}]\n"
        "Display Devices: size=1\n"
        f"  DisplayDeviceInfo{{\"Built-in Screen\": uniqueId=\"local:4619827259835644672\", "
        f"{SCREEN_W} x {SCREEN_H}, modeId 1, defaultModeId 1, density {DENSITY}, "
        f"{DENSITY}.0 x {DENSITY}.0 dpi, touch INTERNAL, rotation 0, type INTERNAL, state ON, "
        "FLAG_DEFAULT_DISPLAY, FLAG_ROTATES_WITH_CONTENT, FLAG_SECURE}\n"
        "  mCurrentOrientation=0\n"
    )


def package_dump(phone: Phone, name: str) -> str:
    """``dumpsys package NAME``: what adbutils' ``app_info`` reads."""
    package = phone.packages.get(name)
    if package is None:
        return f"Unable to find package: {name}\n"
    flags = "SYSTEM HAS_CODE ALLOW_CLEAR_USER_DATA" if package.system else \
        "HAS_CODE ALLOW_CLEAR_USER_DATA"
    return (
        "Packages:\n"
        f"  Package [{name}] ({token('package', name)}):\n"
        f"    userId={10000 + list(phone.packages).index(name)}\n"
        f"    pkg=Package{{{token('pkg', name)} {name}}}\n"
        f"    codePath={package.path.rsplit('/', 1)[0]}\n"
        f"    versionCode={package.version_code} minSdk=30 targetSdk=34\n"
        f"    versionName={package.version_name}\n"
        f"    pkgFlags=[ {flags} ]\n"
        f"    firstInstallTime={_INSTALLED}\n"
        f"    lastUpdateTime={_INSTALLED}\n"
        f"    signatures=PackageSignatures{{{token('sig', name)} version:3, signatures:"
        f"[{token('cert', name)}], past signatures:[]}}\n"
    )


def dumpsys(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    if not args:
        return ok("Currently running services:\n" + "".join(f"  {s}\n" for s in _SERVICES))
    service, rest = args[0], args[1:]
    match service:
        case "window":
            dump = dump_window(phone, rest[0] if rest else None)
            return ok(dump if dump is not None else
                      f"Unknown argument: {rest[0]}; use -h for help\n")
        case "SurfaceFlinger":
            return ok(dump_surfaceflinger(phone, rest))
        case "activity":
            return ok(_dump_activities(phone, top_only=rest[:1] == ["top"]))
        case "display":
            return ok(_dump_display())
        case "package":
            names = [arg for arg in rest if not arg.startswith("-")]
            return ok(package_dump(phone, names[0]) if names else "")
        case "power":
            return ok(dump_power(phone))
        case "battery":
            return ok("Current Battery Service state:\n  AC powered: false\n  USB powered: true\n"
                      "  Wireless powered: false\n  Dock powered: false\n  status: 2\n"
                      "  health: 2\n  present: true\n  level: 100\n  scale: 100\n"
                      "  voltage: 5000\n  temperature: 250\n  technology: Li-ion\n")
        case "input_method":
            # The selected keyboard shows as bound at once; ADB Keyboard registers its
            # receiver only later (in onCreateInputView), which nothing here reveals.
            current = phone.settings.get("secure", "default_input_method")
            return ok(f"Current Input Method Manager state:\n  mCurMethodId={current}\n"
                      f"  mCurId={current}\n  mHaveConnection=true\n  mInputShown="
                      f"{str(phone.current_screen().focus is not None).lower()}\n")
    return ok(f"Can't find service: {service}\n")


def wm(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    match args:
        case ["size"]:
            override = phone.profile.override_size
            return ok(f"Physical size: {SCREEN_W}x{SCREEN_H}\n" + (
                f"Override size: {override[0]}x{override[1]}\n" if override else ""))
        case ["density"]:
            return ok(f"Physical density: {DENSITY}\n")
        case ["size" | "density", "reset"]:
            return ok()
        case ["dismiss-keyguard"]:
            phone.power.dismiss()       # unlocked, or the PIN pad when a PIN is set
            return ok()
        case ["size" | "density", value]:
            return fail(f"Error: the virtual phone's display cannot change its {args[0]} "
                        f"(asked for {value})", 1)
    raise UsageError("usage: wm [size [WxH|reset]|density [DPI|reset]|dismiss-keyguard]", 1)


def properties(phone: Phone) -> dict[str, str]:
    """The system properties ``getprop`` lists."""
    config, profile = phone.config, phone.profile
    vendor, tag = profile.vendor, profile.build_id
    return {
        "init.svc.bootanim": "stopped", "persist.sys.locale": "en-US",
        "persist.sys.timezone": "UTC", "ro.boot.serialno": config.serialno,
        "ro.build.characteristics": "default",
        "ro.build.description": f"{vendor.product}-user {profile.release} {tag} release-keys",
        "ro.build.fingerprint": f"{vendor.brand}/{vendor.product}/{vendor.device}:"
                                f"{profile.release}/{tag}/1:user/release-keys",
        "ro.build.id": tag, "ro.build.type": "user",
        "ro.build.version.release": profile.release, "ro.build.version.sdk": str(profile.sdk),
        "ro.debuggable": "0", "ro.product.brand": vendor.brand, "ro.product.cpu.abi": "x86_64",
        "ro.product.device": vendor.device, "ro.product.manufacturer": vendor.manufacturer,
        "ro.product.model": phone.model, "ro.product.name": vendor.product, "ro.secure": "1",
        "ro.serialno": config.serialno, "ro.sf.lcd_density": str(DENSITY),
        "sys.boot_completed": "1",
    }


def getprop(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    props = properties(phone)
    if not args:
        return ok("".join(f"[{key}]: [{value}]\n" for key, value in sorted(props.items())))
    return ok(props.get(args[0], args[1] if len(args) > 1 else "") + "\n")


DUMPSYS = {"dumpsys": dumpsys, "wm": wm, "getprop": getprop}
