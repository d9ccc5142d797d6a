"""``uiautomator dump``'s XML, written from the same widget tree the screen is drawn from.

The format is the one AOSP's ``AccessibilityNodeInfoDumper`` writes: one line, the node
attributes in its order, leaves self-closed. An empty EditText reports its hint as its text,
as ``TextView.getTextForAccessibility`` does on a real phone.
"""

from __future__ import annotations

from qvl_agent.envs.sim.widgets import Widget

__all__ = ["dump_xml"]

_HEADER = "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"


def _escape(value: str) -> str:
    # What KXmlSerializer escapes in attributes; other control characters become '?' as the
    # dumper's stripInvalidXMLChars does.
    value = (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
             .replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
             .replace("\t", "&#9;"))
    return "".join(c if c >= " " or c in "\n\r\t" else "?" for c in value)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _node(widget: Widget, index: int, out: list[str], scale: float) -> None:
    left, top, right, bottom = (round(v / scale) for v in widget.bounds)
    text = widget.text or (widget.hint if widget.cls == "android.widget.EditText" else "")
    attributes = (
        ("index", str(index)), ("text", text), ("resource-id", widget.rid),
        ("class", widget.cls), ("package", widget.package), ("content-desc", widget.desc),
        ("checkable", _flag(widget.checkable)), ("checked", _flag(widget.checked)),
        ("clickable", _flag(widget.clickable)), ("enabled", _flag(widget.enabled)),
        ("focusable", _flag(widget.focusable)), ("focused", _flag(widget.focused)),
        ("scrollable", _flag(widget.scrollable)),
        ("long-clickable", _flag(widget.long_clickable)),
        ("password", _flag(widget.password)), ("selected", _flag(widget.selected)),
        ("bounds", f"[{left},{top}][{right},{bottom}]"),
    )
    out.append("<node " + " ".join(f'{name}="{_escape(value)}"' for name, value in attributes))
    if not widget.children:
        out.append(" />")
        return
    out.append(">")
    for child_index, child in enumerate(widget.children):
        _node(child, child_index, out, scale)
    out.append("</node>")


def dump_xml(root: Widget, rotation: int = 0, scale: float = 1.0) -> str:
    """The whole hierarchy under ``root`` as ``uiautomator dump`` writes it (no newline);
    bounds divided by ``scale`` when the display runs at an override size."""
    out = [_HEADER, f'<hierarchy rotation="{rotation}">']
    _node(root, 0, out, scale)
    out.append("</hierarchy>")
    return "".join(out)
