"""How a declarative suite opens its env, by kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import ConfigError

__all__ = ["open_env_for"]


def open_env_for(kind: EnvKind) -> Callable[[dict[str, Any]], Env]:
    def open_browser(options: dict[str, Any]) -> Env:
        from qvl_agent.envs.browser import BrowserConfig, BrowserEnv

        width, height = options.get("viewport", (1280, 720))
        return BrowserEnv(BrowserConfig(width=width, height=height,
                                        browser_path=options.get("browser_path")))

    def open_phone(options: dict[str, Any]) -> Env:
        from qvl_agent.envs.android import open_android

        return open_android(options.get("device"))

    def open_desktop(options: dict[str, Any]) -> Env:
        from qvl_agent.envs.desktop import open_desktop

        # Each worker opens its own env: with "virtual", its own Xvfb.
        return open_desktop(options.get("display", "virtual"), options.get("monitor"))

    if kind is EnvKind.browser:
        return open_browser
    if kind is EnvKind.desktop:
        return open_desktop
    if kind is EnvKind.android:
        return open_phone
    raise ConfigError(f"declarative tasks cannot run on a {kind.value} env yet")
