"""``dumpsys window`` (its sections), ``dumpsys power`` and ``dumpsys SurfaceFlinger``.

- ``window windows``: the window list, ending with ``mCurrentFocus`` and ``mFocusedApp``.
  The lock screen has the focus while it shows: ``StatusBar`` up to Android 10,
  ``NotificationShade`` from 11; with the screen off on 12+ no window has it
  (``mCurrentFocus=null``).
- ``window displays``: each display's size and density (and from Android 10 its focus).
- ``window policy``: PhoneWindowManager's state with ``KeyguardServiceDelegate``'s
  ``showing=``/``secure=`` lines (what the driver reads to know the phone is locked).
- ``window`` alone: all of these, as on a phone.
- ``power``: PowerManagerService's dump (``mWakefulness=Awake|Asleep``, ``mStayOn``,
  ``mScreenOffTimeoutSetting``, ``Display Power: state=ON|OFF``).
- ``SurfaceFlinger --display-id``: the physical display ids ``screencap -d`` takes (10+).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from qvl_agent.envs.sim.power import KEYGUARD_TIMEOUT_MS, MIN_TIMEOUT_MS, PLUGGED_USB
from qvl_agent.envs.sim.widgets import DENSITY, NAV_BAR_TOP, SCREEN_H, SCREEN_W

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["dump_window", "dump_power", "dump_surfaceflinger", "token", "current_focus"]


def token(*parts: object) -> str:
    """A stable object hash like the ``1f2e3d4`` in ``Window{1f2e3d4 u0 ...}``."""
    return f"{zlib.crc32(repr(parts).encode()):x}"


def record(phone: Phone, package: str) -> str:
    app = phone.apps[package]
    return (f"ActivityRecord{{{token('record', package)} u0 {app.component} "
            f"t{phone.task_id(package)}}}")


def _window(phone: Phone, package: str) -> str:
    app = phone.apps[package]
    return f"Window{{{token('window', package)} u0 {package}/{app.activity_class()}}}"


def _keyguard_window(phone: Phone) -> str:
    name = phone.profile.keyguard_window
    return f"Window{{{token('keyguard', name)} u0 {name}}}"


def current_focus(phone: Phone) -> str:
    """What ``mCurrentFocus=`` names now."""
    power = phone.power
    if power.keyguard:
        if not power.awake and phone.profile.sdk >= 31:
            return "null"
        return _keyguard_window(phone)
    return _window(phone, phone.foreground)


def _windows(phone: Phone) -> list[str]:
    front = phone.foreground
    ime = f"Window{{{token('ime')} u0 InputMethod}}"
    keyguard = phone.profile.keyguard_window
    lines = [
        "WINDOW MANAGER WINDOWS (dumpsys window windows)",
        f"  Window #0 Window{{{token('nav')} u0 NavigationBar0}}:",
        "    mDisplayId=0 rootTaskId=1 mSession=Session{4a3b2c1 1234:u0a10090} mOwnerUid=10090"
        " showForAllUsers=true package=com.android.systemui appop=NONE",
        f"  Window #1 {_keyguard_window(phone)}:",
        "    mDisplayId=0 rootTaskId=1 mSession=Session{4a3b2c1 1234:u0a10090} mOwnerUid=10090"
        " showForAllUsers=true package=com.android.systemui appop=NONE",
        f"    mViewVisibility={'0x0' if phone.power.keyguard else '0x8'} "
        f"mHaveFrame=true mObscured=false",
    ]
    if keyguard == "NotificationShade":
        lines += [f"  Window #2 Window{{{token('status')} u0 StatusBar}}:",
                  "    mDisplayId=0 rootTaskId=1 mOwnerUid=10090 showForAllUsers=true "
                  "package=com.android.systemui appop=NONE"]
    lines += [
        f"  Window #3 {ime}:",
        f"    mDisplayId=0 rootTaskId=1 mOwnerUid=10110 package={phone.current_ime_package()}",
        f"  Window #4 {_window(phone, front)}:",
        f"    mDisplayId=0 rootTaskId={phone.task_id(front)} mOwnerUid=1000 package={front}"
        " appop=NONE",
        "    mAttrs={(0,0)(fillxfill) sim={adjust=resize} ty=BASE_APPLICATION fmt=TRANSPARENT}",
        f"    Requested w={SCREEN_W} h={SCREEN_H} mLayoutSeq=120",
        "    mHasSurface=true isReadyForDisplay()=true mWindowRemovalAllowed=false",
        "",
        f"  mGlobalConfiguration={{1.0 ?mcc?mnc [en_US] ldltr sw411dp w411dp h914dp "
        f"{DENSITY}dpi nrml long port finger -keyb/v/h -nav/h}}",
        "  mHasPermanentDpad=false",
        "  mTopFocusedDisplayId=0",
        f"  mInputMethodWindow={ime}",
        f"  mCurrentFocus={current_focus(phone)}",
        f"  mFocusedApp={record(phone, front)}",
    ]
    return lines


def _displays(phone: Phone) -> list[str]:
    width, height = phone.display
    density = round(DENSITY / phone.scale)
    app_height = round(NAV_BAR_TOP / phone.scale)
    lines = ["WINDOW MANAGER DISPLAY CONTENTS (dumpsys window displays)"]
    for number, _ in enumerate(phone.profile.display_ids):
        if number == 0:
            base = "" if (width, height) == (SCREEN_W, SCREEN_H) else \
                f" base={width}x{height} {density}dpi"
            lines += [f"  Display: mDisplayId=0 rootTasks={len(phone.running_packages())}",
                      f"    init={SCREEN_W}x{SCREEN_H} {DENSITY}dpi{base} cur={width}x{height} "
                      f"app={width}x{app_height} rng={width}x{round(1017 / phone.scale)}-"
                      f"{app_height}x{round(2211 / phone.scale)}",
                      "    deferred=false mLayoutNeeded=false "
                      f"mTouchExcludeRegion=SkRegion((0,0,{width},{height}))"]
            if phone.profile.sdk >= 29:
                lines += [f"    mCurrentFocus={current_focus(phone)}",
                          f"    mFocusedApp={record(phone, phone.foreground)}"]
        else:
            lines += [f"  Display: mDisplayId={number + 1} rootTasks=0",
                      "    init=1920x1080 320dpi cur=1920x1080 app=1920x1080 "
                      "rng=1080x1080-1920x1920",
                      "    deferred=false mLayoutNeeded=false "
                      "mTouchExcludeRegion=SkRegion((0,0,1920,1080))"]
    return lines


def _policy(phone: Phone) -> list[str]:
    power, sdk = phone.power, phone.profile.sdk
    named = sdk >= 29
    screen = ("SCREEN_STATE_ON" if named else "2") if power.awake else \
        ("SCREEN_STATE_OFF" if named else "0")
    interactive = ("INTERACTIVE_STATE_AWAKE" if named else "2") if power.awake else \
        ("INTERACTIVE_STATE_SLEEP" if named else "0")
    off_reason = {None: "OFF_BECAUSE_OF_USER", "timeout": "OFF_BECAUSE_OF_TIMEOUT"}.get(
        power.last_sleep.reason if power.last_sleep else None, "OFF_BECAUSE_OF_USER")
    if not named:
        off_reason = "3" if off_reason.endswith("TIMEOUT") else "2"
    showing = str(power.keyguard).lower()
    return [
        "WINDOW MANAGER POLICY STATE (dumpsys window policy)",
        "    mSafeMode=false mSystemReady=true mSystemBooted=true",
        "    mLidState=LID_ABSENT mLidOpenRotation=-1 mCameraLensCoverState=LENS_COVER_ABSENT "
        "mHdmiPlugged=false",
        "    mLastSystemUiFlags=0x0 mResettingSystemUiFlags=0x0 mForceClearedSystemUiFlags=0x0",
        "    mWakeGestureEnabledSetting=true mSupportAutoRotation=true",
        "    mDockMode=EXTRA_DOCK_STATE_UNDOCKED mLidKeyboardAccessibility=0",
        "    mShortPressOnPowerBehavior=1 mLongPressOnPowerBehavior=1",
        "    mAllowLockscreenWhenOnDisplays=false mLockScreenTimeout=0 mLockScreenTimerActive=false",
        "    KeyguardServiceDelegate",
        f"      showing={showing}",
        f"      showingAndNotOccluded={showing}",
        f"      inputRestricted={str(power.keyguard and power.secure).lower()}",
        "      occluded=false",
        f"      secure={str(power.secure).lower()}",
        "      dreaming=false",
        "      systemIsReady=true",
        "      deviceHasKeyguard=true",
        "      enabled=true",
        f"      offReason={off_reason}",
        "      currentUser=0",
        "      bootCompleted=true",
        f"      screenState={screen}",
        f"      interactiveState={interactive}",
        "      KeyguardStateMonitor",
        f"        mIsShowing={showing}",
        "        mSimSecure=false",
        f"        mInputRestricted={str(power.keyguard and power.secure).lower()}",
        "        mTrusted=false",
        "        mCurrentUserId=0",
    ]


def dump_window(phone: Phone, section: str | None) -> str | None:
    """``dumpsys window [SECTION]``; None for a section the phone does not know."""
    sections = {"policy": _policy, "displays": _displays, "windows": _windows}
    aliases = {"p": "policy", "d": "displays", "w": "windows"}
    if section is None or section == "-a":
        lines = [line for name in ("policy", "displays", "windows")
                 for line in ["", *sections[name](phone)]][1:]
        return "\n".join(lines) + "\n"
    builder = sections.get(aliases.get(section, section))
    return None if builder is None else "\n".join(builder(phone)) + "\n"


def _ago(now: float, at: float) -> str:
    return f"{round(at * 1000)} ({round((now - at) * 1000)} ms ago)"


def dump_power(phone: Phone) -> str:
    power = phone.power
    now = power.now()
    timeout = power.timeout_ms()
    stay_on = power.stay_on()
    wakefulness = "Awake" if power.awake else "Asleep"
    sleep = power.last_sleep
    lines = [
        "POWER MANAGER (dumpsys power)", "",
        "Power Manager State:",
        "  Settings power_manager_constants:",
        "    no_cached_wake_locks=true",
        "  mDirty=0x0",
        f"  mWakefulness={wakefulness}",
        "  mWakefulnessChanging=false",
        "  mIsPowered=true",
        f"  mPlugType={PLUGGED_USB}",
        "  mBatteryLevel=100",
        "  mDockState=0",
        f"  mStayOn={str(stay_on).lower()}",
        "  mProximityPositive=false",
        "  mBootCompleted=true",
        "  mSystemReady=true",
        f"  mHalAutoSuspendModeEnabled={str(not power.awake).lower()}",
        f"  mHalInteractiveModeEnabled={str(power.awake).lower()}",
        "  mWakeLockSummary=0x0",
        f"  mUserActivitySummary={'0x1' if power.awake else '0x0'}",
        f"  mLastWakeTime={_ago(now, power.last_wake.at)}",
        f"  mLastSleepTime={_ago(now, sleep.at) if sleep else '0 (none)'}",
        f"  mLastSleepReason={sleep.reason if sleep else 'application'}",
        f"  mLastUserActivityTime={_ago(now, power.last_activity)}",
        "  mDisplayReady=true",
        f"  mHoldingDisplaySuspendBlocker={str(power.awake).lower()}",
        "",
        "Settings and Configuration:",
        f"  mScreenOffTimeoutSetting={power.setting_ms()}",
        "  mSleepTimeoutSetting=-1",
        "  mMaximumScreenOffTimeoutFromDeviceAdmin=9223372036854775807 (enforced=false)",
        f"  mStayOnWhilePluggedInSetting={phone.settings.get('global', 'stay_on_while_plugged_in')}",
        f"  mUserActivityTimeoutOverrideFromWindowManager="
        f"{KEYGUARD_TIMEOUT_MS if power.keyguard else -1}",
        f"  mMinimumScreenOffTimeoutConfig={MIN_TIMEOUT_MS}",
        "",
        f"Screen off timeout: {timeout if timeout is not None else power.setting_ms()} ms",
        "",
        f"Display Power: state={'ON' if power.awake else 'OFF'}",
    ]
    return "\n".join(lines) + "\n"


def dump_surfaceflinger(phone: Phone, args: list[str]) -> str:
    profile = phone.profile
    if "--display-id" in args and profile.sdk >= 29:
        panel = {"google": ("GGL", "Common Panel"), "samsung": ("SDC", "")}.get(
            profile.vendor.name, ("QVL", "EMU_display_0"))
        lines = []
        for number, display_id in enumerate(profile.display_ids):
            name = panel[1] if number == 0 else "HDMI Screen"
            lines.append(f"Display {display_id} (HWC display {number}): port={display_id & 0xFF}"
                         f" pnpId={panel[0]} displayName=\"{name}\"")
        return "\n".join(lines) + "\n"
    # Android 9 knows no --display-id: SurfaceFlinger dumps itself as for no argument.
    return ("Build configuration: [sf PRESENT_TIME_OFFSET=0 FORCE_HWC_FOR_RBG_TO_YUV=1 "
            "MAX_VIRT_DISPLAY_DIM=0 RUNNING_WITHOUT_SYNC_FRAMEWORK=0 "
            "NUM_FRAMEBUFFER_SURFACE_BUFFERS=3]\n"
            f"Display identification: {'unsupported' if profile.sdk < 29 else 'supported'}\n"
            f"Displays ({len(profile.display_ids)} entries)\n"
            f"+ DisplayDevice: Built-in Screen\n   type=0, hwcId=0, layerStack=0, "
            f"({SCREEN_W:4d}x{SCREEN_H:4d}), ANativeWindow=0x7a1c, orient= 0 (type=00000000), "
            f"flips=1412, isSecure=1, powerMode={2 if phone.power.awake else 0}, activeConfig=0,"
            " numLayers=4\n")
