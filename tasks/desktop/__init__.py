"""Desktop tasks in OSWorld's format: its setup steps, getters and file metrics on this
machine's desktop, and the built-in ``desktop`` suite on real Debian applications."""

__all__: list[str] = []
