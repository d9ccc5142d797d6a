"""Declarative web tasks: browser setup steps, getters and oracle locators, and the built-in
``web`` suite (small local pages, OSWorld-style task files)."""

__all__: list[str] = []
