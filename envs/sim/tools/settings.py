"""``settings``, ``svc``, ``ime`` and the radio ``cmd`` services: the switches a task sets.

``svc wifi enable``, ``cmd wifi set-wifi-enabled enabled`` and the Settings app's Wi-Fi
switch turn the radio on (which writes ``global wifi_on``). ``settings put`` only stores a
value, as on a phone: it switches no radio. Airplane mode is the Settings switch or ``cmd
connectivity airplane-mode enable``. The current keyboard is ``secure default_input_method``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.settings_store import ADB_IME, LATIN_IME, NAMESPACES
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
        case ["power", *_]:
            return ok()
    raise UsageError("Available commands:\n    help\n    power\n    data\n    wifi\n"
                     "    bluetooth\n    usb\n    nfc", 1)


def _installed_imes(phone: Phone) -> list[str]:
    return [LATIN_IME, *([ADB_IME] if phone.adb_keyboard_installed() else [])]


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
                    phone.settings.put("secure", "default_input_method", LATIN_IME)
                return ok(f"Input method {ime_id}: now disabled for user #0\n")
            return ok(f"Input method {ime_id}: already disabled for user #0\n")
        case "set":
            ime_id = operands[0]
            if ime_id not in enabled:
                return fail(f"Unknown input method {ime_id} cannot be selected for user #0", 1)
            phone.select_ime(ime_id)
            return ok(f"Input method {ime_id} selected for user #0\n")
        case "reset":
            _set_enabled(phone, [LATIN_IME])
            phone.settings.put("secure", "default_input_method", LATIN_IME)
            return ok(f"Reset current and enabled IMEs for user #0\n  Selected: {LATIN_IME}\n")
    raise UsageError(f"Unknown command: {verb}\n{_IME_USAGE}", 1)


def wifi_service(phone: Phone, args: list[str]) -> ShellResult:
    """``cmd wifi``: ``set-wifi-enabled enabled|disabled`` and ``status``."""
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


SETTINGS = {"settings": settings, "svc": svc, "ime": ime}
