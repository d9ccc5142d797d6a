"""AndroidWorld-style tasks checked through adb, and the helpers that read a phone's state."""

__all__: list[str] = []
