"""``settings``, ``svc``, ``ime``, ``locksettings`` and the radio ``cmd`` services.

``svc wifi enable``, ``cmd wifi set-wifi-enabled enabled`` and the Settings app's Wi-Fi
switch turn the radio on (which writes ``global wifi_on``). ``settings put`` only stores a
value, as on a phone: it switches no radio. Airplane mode is the Settings switch or ``cmd
connectivity airplane-mode enable``. The current keyboard is ``secure default_input_method``.
``svc power stayon true|false|usb|ac|wireless`` writes ``global stay_on_while_plugged_in``.
Android 9's ``cmd wifi`` serves root only: the shell user gets a SecurityException.
``locksettings set-pin|clear|verify|get-disabled`` manage the lock screen's PIN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.settings_store import ADB_IME, NAMESPACES
from qvl_agent.envs.sim.tools.common import UsageError, fail, ok

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["SETTINGS"]

_SETTINGS_USAGE = ("usage:  settings [--user <USER_ID> | current] get namespace key\n"
                   "        settings [--user <USER_ID> | current] put namespace key value\n"
                   "        settings [--user <USER_ID> | current] delete namespace key\n"
                   "        settings [--user <USER_ID> | current] list namespace\n"
                   "\n'namespace' is one of {system, secure, global}, case-insensitive")
_IME_USAGE = ("usage: ime list [-a] [-s]\n       ime enable [--user <USER_ID>] <ID>\n"
              "       ime disable [--user <USER_ID>] <ID>\n"
              "       ime set [--user <USER_ID>] <ID>\n       ime reset [--user <USER_ID>]")


def settings(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    if args[:1] == ["--user"]:
        args = args[2:]
    if len(args) < 2:
        raise UsageError(_SETTINGS_USAGE, 1)
    verb, namespace, rest = args[0], args[1].lower(), args[2:]
    if namespace not in NAMESPACES:
        raise UsageError(f"Invalid namespace '{args[1]}'\n{_SETTINGS_USAGE}", 1)
    store = phone.settings
    match verb, rest:
        case "get", [key, *_]:
            value = store.get(namespace, key)
            return ok(f"{'null' if value is None else value}\n")
        case "put", [key, value, *_]:
            store.put(namespace, key, value)
            return ok()
        case "delete", [key, *_]:
            return ok(f"Deleted {1 if store.delete(namespace, key) else 0} rows\n")
        case "list", []:
            return ok("".join(f"{key}={value}\n" for key, value in store.items(namespace)))
    raise UsageError(_SETTINGS_USAGE, 1)


def svc(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    keys = {"wifi": "wifi_on", "bluetooth": "bluetooth_on"}
    match args:
        case [radio, "enable" | "disable" as state] if radio in keys:
            phone.settings.set_radio(keys[radio], state == "enable")
            return ok()
        case ["data", "enable" | "disable" as state]:
            phone.settings.put("global", "mobile_data", "1" if state == "enable" else "0")
            return ok()
        case ["power", "stayon", value] if value in _STAY_ON:
            phone.settings.put("global", "stay_on_while_plugged_in", str(_STAY_ON[value]))
            return ok()
        case ["power", *_]:
            raise UsageError(_SVC_POWER_USAGE, 1)
    raise UsageError("Available commands:\n    help\n    power\n    data\n    wifi\n"
                     "    bluetooth\n    usb\n    nfc", 1)


# BatteryManager.BATTERY_PLUGGED_AC | _USB | _WIRELESS, as PowerCommand sets them.
_STAY_ON = {"true": 7, "false": 0, "ac": 1, "usb": 2, "wireless": 4}
_SVC_POWER_USAGE = (
    "Control the power manager\n\n"
    "usage: svc power stayon [true|false|usb|ac|wireless]\n"
    "         Set the 'keep awake while plugged in' setting.\n"
    "       svc power reboot [reason]\n"
    "         Perform a runtime shutdown and reboot device with specified reason.\n"
    "       svc power shutdown\n"
    "         Perform a runtime shutdown and power off the device.\n")


def _installed_imes(phone: Phone) -> list[str]:
    return [phone.profile.vendor.ime, *([ADB_IME] if phone.adb_keyboard_installed() else [])]


def _enabled_imes(phone: Phone) -> list[str]:
    value = phone.settings.get("secure", "enabled_input_methods") or ""
    return [ime for ime in _installed_imes(phone) if ime in value.split(":")]


def _set_enabled(phone: Phone, imes: list[str]) -> None:
    phone.settings.put("secure", "enabled_input_methods", ":".join(imes))


def _ime_long(ime: str) -> str:
    package, _, service = ime.partition("/")
    name = package + service if service.startswith(".") else service
    return (f"{ime}:\n  mId={ime} mSettingsActivityName=null mIsVrOnly=false "
            "mSupportsSwitchingToNextInputMethod=false\n  mIsDefaultResId=0x0\n  Service:\n"
            "    priority=0 preferredOrder=0 match=0x108000 specificIndex=-1 isDefault=false\n"
            f"    ServiceInfo:\n      name={name}\n"
            f"      packageName={package}\n      enabled=true exported=true "
            "directBootAware=false\n      permission=android.permission.BIND_INPUT_METHOD\n"
            "      flags=0x0\n")


def ime(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    if not args:
        raise UsageError(_IME_USAGE, 1)
    verb = args[0]
    operands = [arg for i, arg in enumerate(args[1:], 1)
                if not arg.startswith("-") and args[i - 1] != "--user"]
    installed, enabled = _installed_imes(phone), _enabled_imes(phone)
    match verb:
        case "list":
            shown = installed if "-a" in args else enabled
            if "-s" in args:
                return ok("".join(f"{ime_id}\n" for ime_id in shown))
            return ok("".join(_ime_long(ime_id) for ime_id in shown))
        case "enable" | "disable" | "set" if not operands:
            raise UsageError(f"Error: no input method ID given\n{_IME_USAGE}", 1)
        case "enable":
            ime_id = operands[0]
            if ime_id not in installed:
                return fail(f"Unknown input method {ime_id} cannot be enabled for user #0", 1)
            if ime_id in enabled:
                return ok(f"Input method {ime_id}: already enabled for user #0\n")
            _set_enabled(phone, [*enabled, ime_id])
            return ok(f"Input method {ime_id}: now enabled for user #0\n")
        case "disable":
            ime_id = operands[0]
            if ime_id not in installed:
                return fail(f"Unknown input method {ime_id} cannot be disabled for user #0", 1)
            if ime_id in enabled:
                _set_enabled(phone, [other for other in enabled if other != ime_id])
                if phone.settings.get("secure", "default_input_method") == ime_id:
                    phone.settings.put("secure", "default_input_method",
                                       phone.profile.vendor.ime)
                return ok(f"Input method {ime_id}: now disabled for user #0\n")
            return ok(f"Input method {ime_id}: already disabled for user #0\n")
        case "set":
            ime_id = operands[0]
            if ime_id not in enabled:
                return fail(f"Unknown input method {ime_id} cannot be selected for user #0", 1)
            phone.select_ime(ime_id)
            return ok(f"Input method {ime_id} selected for user #0\n")
        case "reset":
            stock = phone.profile.vendor.ime
            _set_enabled(phone, [stock])
            phone.settings.put("secure", "default_input_method", stock)
            return ok(f"Reset current and enabled IMEs for user #0\n  Selected: {stock}\n")
    raise UsageError(f"Unknown command: {verb}\n{_IME_USAGE}", 1)


_SECURITY_WIFI = (
    "Security exception: Uid 2000 does not have access to wifi commands\n\n"
    "java.lang.SecurityException: Uid 2000 does not have access to wifi commands\n"
    "\tat com.android.server.wifi.WifiShellCommand.checkRootPermission("
    "WifiShellCommand.java:295)\n"
    "\tat com.android.server.wifi.WifiShellCommand.onCommand(WifiShellCommand.java:67)\n"
    "\tat android.os.ShellCommand.exec(ShellCommand.java:103)\n"
    "\tat android.os.Binder.shellCommand(Binder.java:634)\n"
    "\tat android.os.Binder.onTransact(Binder.java:532)\n")


def wifi_service(phone: Phone, args: list[str]) -> ShellResult:
    """``cmd wifi``: ``set-wifi-enabled enabled|disabled`` and ``status`` (from Android 10;
    9's serves root only)."""
    if phone.profile.sdk < 29:
        return fail(_SECURITY_WIFI, 255)
    match args:
        case ["set-wifi-enabled", "enabled" | "disabled" as state]:
            phone.settings.set_radio("wifi_on", state == "enabled")
            return ok()
        case ["status", *_]:
            return ok(f"Wifi is {'enabled' if phone.settings.radio('wifi_on') else 'disabled'}\n")
    raise UsageError("Wi-Fi (wifi) commands:\n  set-wifi-enabled enabled|disabled\n  status", 1)


def bluetooth_service(phone: Phone, args: list[str]) -> ShellResult:
    """``cmd bluetooth_manager enable|disable``."""
    match args:
        case ["enable" | "disable" as state, *_]:
            phone.settings.set_radio("bluetooth_on", state == "enable")
            return ok()
    raise UsageError("Bluetooth Manager Commands:\n  enable\n  disable", 1)


def connectivity_service(phone: Phone, args: list[str]) -> ShellResult:
    """``cmd connectivity airplane-mode [enable|disable]``, which takes the radios down."""
    match args:
        case ["airplane-mode"]:
            return ok("enabled\n" if phone.settings.radio("airplane_mode_on") else "disabled\n")
        case ["airplane-mode", "enable" | "disable" as state]:
            phone.settings.set_airplane_mode(state == "enable")
            return ok()
    raise UsageError("Connectivity service commands:\n  airplane-mode [enable|disable]", 1)


_LOCK_USAGE = ("usage: locksettings set-pin [--old OLD] PIN\n"
               "       locksettings clear --old OLD\n"
               "       locksettings verify [--old OLD]\n"
               "       locksettings get-disabled\n")


def locksettings(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    """LockSettingsShellCommand: the lock screen's PIN (checked against ``--old``)."""
    old, rest = "", list(args)
    if "--old" in rest:
        at = rest.index("--old")
        old = rest[at + 1] if at + 1 < len(rest) else ""
        del rest[at:at + 2]
    power = phone.power
    if rest[:1] in (["set-pin"], ["clear"], ["verify"]) and power.secure and old != power.pin:
        return ShellResult(255, f"Old password '{old}' didn't match\n".encode())
    match rest:
        case ["set-pin", pin] if pin.isdigit() and len(pin) >= 4:
            power.set_pin(pin)
            return ok(f"Pin set to '{pin}'\n")
        case ["set-pin", _]:
            return fail("Error while executing command: set-pin\n"
                        "java.lang.IllegalArgumentException: pin must be at least 4 digits", 255)
        case ["clear"]:
            power.set_pin(None)
            return ok("Lock credential cleared\n")
        case ["verify"]:
            return ok("Lock credential verified successfully\n")
        case ["get-disabled"]:
            return ok("false\n")
    raise UsageError(_LOCK_USAGE, 1)


SETTINGS = {"settings": settings, "svc": svc, "ime": ime, "locksettings": locksettings}
