"""``open_env``: the one way a screen is opened, from an ``EnvSpec`` (``envs.spec``).

``run``, ``eval`` (its workers, local or on Ray), ``rpa``, the suites, the dataset builders
and the Python API (``qvl_agent.open_env``) all open their screens here, so a default (the
sandbox, the display, the viewport) is the same for every one of them.

    with open_env("desktop", display="virtual") as env:      # the Python API
        env.observe()
    env = open_env(DesktopSpec(display="virtual"))            # a spec made elsewhere

Each backend is imported when its kind is opened: opening a browser needs no adb, a phone
no display.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_never

from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.spec import AndroidSpec, BrowserSpec, DesktopSpec, EnvSpec, env_spec

__all__ = ["open_env"]


def open_env(spec: EnvSpec | EnvKind | str, /, **options: Any) -> Env:
    """Start the screen ``spec`` describes; close it with ``close()`` or a ``with`` block.

    Args:
        spec: an ``EnvSpec``, or a kind (``"browser"``, ``"android"``, ``"desktop"``) whose
            spec is made from ``options``, the spec's fields as keywords.

    Raises:
        ConfigError: an option this kind of screen does not have, or a bad value.
        EnvNotFoundError: no browser, phone or display to use.
    """
    if isinstance(spec, (str, EnvKind)):
        spec = env_spec({"kind": spec, **options}, keywords=True)
    elif options:
        raise TypeError("open_env(spec) takes no options; put them in the spec, or call "
                        "open_env(kind, **options)")
    match spec:
        case BrowserSpec():
            from qvl_agent.envs.browser import BrowserConfig, BrowserEnv

            width, height = spec.viewport
            return BrowserEnv(BrowserConfig(
                url=spec.url, width=width, height=height, device_scale_factor=spec.device_scale,
                headless=not spec.headed, browser_path=spec.browser_path,
                allowed_domains=spec.allowed_domains, serve=spec.serve,
                user_agent=spec.user_agent, extra_http_headers=spec.extra_http_headers,
                cookie_file=spec.cookie_file, ignore_https_errors=spec.ignore_https_errors))
        case AndroidSpec():
            from qvl_agent.envs.android import open_android

            phone = open_android(spec.device)
            if spec.launch is not None:
                try:
                    phone.launch(spec.launch)
                except BaseException:
                    phone.close()  # a launch that fails must not leave a virtual phone running
                    raise
            return phone
        case DesktopSpec():
            from qvl_agent.envs.desktop import DesktopConfig, DesktopEnv

            return DesktopEnv(DesktopConfig(display=spec.display, monitor=spec.monitor,
                                            sandbox=spec.sandbox, open=spec.open))
        case _:
            assert_never(spec)
