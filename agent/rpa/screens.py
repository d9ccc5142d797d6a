"""A script's screen as an ``EnvSpec`` (``screen_spec``), opened by ``envs.factory.open_env``
like every other screen (``open_screen``).

The spec carries what the section says about opening: a browser's ``serve:`` folder, user
agent, headers, cookie file and certificates, Midscene's 1440x800 default viewport; an
Android ``deviceId`` (or ``--device``) and its ``launch:``; a desktop's display, without the
sandbox. What comes after the screen is open stays here: a desktop's ``launch:`` command and
a page's ``waitForNetworkIdle``.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from qvl_agent.agent.rpa.script import Script
from qvl_agent.agent.rpa.sections import NetworkIdle
from qvl_agent.envs.base import Env
from qvl_agent.envs.errors import ConfigError, EnvError
from qvl_agent.envs.factory import open_env
from qvl_agent.envs.spec import EnvSpec, env_spec

__all__ = ["screen_spec", "open_screen"]


def screen_spec(script: Script, *, headed: bool = False) -> EnvSpec:
    """The screen ``script`` drives (its ``web:``, ``android:`` or ``computer:`` section).

    Raises:
        ConfigError: a value the screen cannot take, naming the script.
    """
    values: dict[str, Any]
    if script.web is not None:
        web = script.web
        values = dict(kind="browser", url=web.url, serve=web.serve,
                      viewport=(web.viewportWidth, web.viewportHeight),
                      device_scale=web.deviceScaleFactor, headed=headed,
                      user_agent=web.userAgent, extra_http_headers=web.extraHTTPHeaders,
                      cookie_file=web.cookie, ignore_https_errors=web.acceptInsecureCerts)
    elif script.android is not None:
        values = dict(kind="android", device=script.android.deviceId,
                      launch=script.android.launch)
    else:
        assert script.computer is not None
        # No sandbox: an RPA script is the user's own and acts for them; a file it writes
        # belongs on this machine (tasks and `run` get envs.sandbox's throwaway one).
        values = dict(kind="desktop", display=script.computer.display, sandbox=False)
    try:
        return env_spec({k: v for k, v in values.items() if v is not None})
    except ConfigError as exc:
        raise ConfigError(f"{script.path}: {script.screen}: {exc}") from None


@contextmanager
def open_screen(script: Script, spec: EnvSpec) -> Iterator[Env]:
    """The screen ``spec`` describes, with what the script starts on it once open; closed
    (a served folder stopped with it) on the way out."""
    with open_env(spec) as env:
        if script.computer is not None and script.computer.launch:
            from qvl_agent.envs.desktop import DesktopEnv

            assert isinstance(env, DesktopEnv)
            # The user's own command line, split like a shell would but run without one.
            env.display.launch(shlex.split(script.computer.launch), log="launch")
            env.settle()
        if script.web is not None and script.web.waitForNetworkIdle is not None:
            _wait_for_network_idle(env, script.web.waitForNetworkIdle)
        yield env


def _wait_for_network_idle(env: Env, wait: NetworkIdle) -> None:
    from playwright.sync_api import Error as PlaywrightError

    from qvl_agent.envs.browser import BrowserEnv

    assert isinstance(env, BrowserEnv)
    try:
        env.page.wait_for_load_state("networkidle", timeout=wait.timeout)
    except PlaywrightError:
        if not wait.continueOnNetworkIdleError:
            raise EnvError(f"{env.page.url} did not go network-idle within {wait.timeout} ms") from None
