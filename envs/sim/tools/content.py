"""``content query|insert|update|delete``: the apps' data through their ``content://`` URIs.

Output is the real tool's: ``Row: 0 _id=1, title=Shopping`` per row, ``No result found.``
for none, NULL for a null value; a provider's refusal is ``Error while accessing
provider:AUTHORITY`` and the Java exception on stderr, and the tool still exits 0 (AOSP's
``Content.java`` catches the exception and returns normally), so callers must read the output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.store import ProviderError, Value
from qvl_agent.envs.sim.tools.common import UsageError, ok

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["CONTENT"]

_USAGE = """usage: adb shell content [subcommand] [options]

usage: adb shell content insert --uri <URI> [--user <USER_ID>] --bind <BINDING> [--bind <BINDING>...]
  <BINDING>: <COLUMN:TYPE:VALUE> where TYPE is one of b (boolean), s (string), i (integer),
  l (long), f (float), d (double), n (null)

usage: adb shell content update --uri <URI> [--user <USER_ID>] [--where <WHERE>] --bind <BINDING> [...]

usage: adb shell content delete --uri <URI> [--user <USER_ID>] --where <WHERE>

usage: adb shell content query --uri <URI> [--user <USER_ID>] [--projection <PROJECTION>] [--where <WHERE>] [--sort <SORT_ORDER>]
  <PROJECTION> is a list of colon separated column names
"""


def _binding(text: str) -> tuple[str, Value]:
    column, _, rest = text.partition(":")
    kind, _, value = rest.partition(":")
    if not column or not kind:
        raise UsageError(f"Error: Invalid binding: {text}\n{_USAGE}", 1)
    try:
        match kind:
            case "s":
                return column, value
            case "i" | "l":
                return column, int(value)
            case "f" | "d":
                return column, float(value)
            case "b":
                return column, 1 if value.lower() == "true" else 0
            case "n":
                return column, None
    except ValueError:
        raise UsageError(f"Error: For input string: \"{value}\"", 1) from None
    raise UsageError(f"Error: Unsupported argument type: {kind}\n{_USAGE}", 1)


def _format(value: Value | bytes) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return "BLOB"
    return str(value)


def content(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    if not args:
        raise UsageError(_USAGE, 1)
    verb, options = args[0], args[1:]
    uri = where = sort = None
    projection: list[str] | None = None
    bindings: dict[str, Value] = {}
    index = 0
    while index < len(options):
        option = options[index]
        if option not in ("--uri", "--where", "--sort", "--projection", "--bind", "--user") \
                or index + 1 >= len(options):
            raise UsageError(f"Error: Unsupported argument: {option}\n{_USAGE}", 1)
        value = options[index + 1]
        match option:
            case "--uri":
                uri = value
            case "--where":
                where = value
            case "--sort":
                sort = value
            case "--projection":
                projection = [column for column in value.split(":") if column]
            case "--bind":
                column, bound = _binding(value)
                bindings[column] = bound
        index += 2
    if uri is None:
        raise UsageError(f"Error: A URI must be specified.\n{_USAGE}", 1)
    try:
        match verb:
            case "query":
                columns, rows = phone.data.query(uri, projection, where, sort)
                if not rows:
                    return ok("No result found.\n")
                return ok("".join(
                    f"Row: {number} " + ", ".join(f"{c}={_format(v)}" for c, v in
                                                  zip(columns, row)) + "\n"
                    for number, row in enumerate(rows)))
            case "insert":
                if not bindings:
                    raise UsageError(f"Error: Bindings must be specified.\n{_USAGE}", 1)
                phone.data.insert(uri, bindings)
                return ok()
            case "update":
                if not bindings:
                    raise UsageError(f"Error: Bindings must be specified.\n{_USAGE}", 1)
                phone.data.update(uri, bindings, where)
                return ok()
            case "delete":
                phone.data.delete(uri, where)
                return ok()
    except ProviderError as exc:
        return ShellResult(0, b"", f"Error while accessing provider:{exc.authority}\n{exc}\n"
                                   .encode("utf-8", "surrogateescape"))
    raise UsageError(f"Unsupported operation: {verb}\n{_USAGE}", 1)


CONTENT = {"content": content}
