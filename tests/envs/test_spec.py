"""One typed spec per screen, its defaults in one place, and the one factory that opens it."""

from __future__ import annotations

from pathlib import Path

import pytest

import qvl_agent
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import ConfigError, EnvError
from qvl_agent.envs.spec import (
    AndroidSpec, BrowserSpec, DesktopSpec, env_spec, task_spec, updated,
)
from qvl_agent.eval.config import EvalConfig
from qvl_agent.tasks.registry import get_suite


@pytest.mark.parametrize("values, line", [
    ({"kind": "browser", "viewport": "50x50"}, "--viewport 50x50 is not a screen size"),
    ({"kind": "browser", "viewport": "wide"}, "--viewport must look like 1280x720, got 'wide'"),
    ({"kind": "browser", "device_scale": 9}, "--device-scale 9: must be at most 4"),
    ({"kind": "browser", "allowed_domains": "example.org"}, "invalid option --allow-domain 'example.org'"),
    ({"kind": "browser", "device": "sim"}, "--device does not apply to a browser screen (it takes "
                                           "--url, --viewport, --device-scale, --headed, "
                                           "--browser-path, --allow-domain, --serve, "
                                           "--user-agent, --extra-http-headers, --cookie-file, "
                                           "--ignore-https-errors)"),
    ({"kind": "android", "device": "sim:android-99"}, "--device sim:android-99: no virtual phone "
                                                      "profile 'android-99'; choose one of"),
    ({"kind": "android", "display": ":0"}, "--display does not apply to an android screen"),
    ({"kind": "android", "launch": "Settings\nrm -rf"}, "--launch must be one line without control"),
    ({"kind": "browser", "serve": "/nonexistent/qvl"}, "--serve /nonexistent/qvl: no such folder"),
    ({"kind": "browser", "serve": ".", "url": "http://example.org/"},
     "with --serve, --url is a path in the served folder, not 'http://example.org/'"),
    ({"kind": "browser", "cookie_file": "/nonexistent/c.json"}, "--cookie-file /nonexistent/c.json: no such file"),
    ({"kind": "browser", "user_agent": "qvl\r\nX-Evil: 1"}, "--user-agent must be one line"),
    ({"kind": "browser", "extra_http_headers": {"Bad Name": "x"}},
     "--extra-http-headers: 'Bad Name' is not an HTTP header name"),
    ({"kind": "browser", "extra_http_headers": {"X-Token": "a\nb"}},
     "--extra-http-headers X-Token must be one line"),
    ({"kind": "desktop", "display": "somewhere"}, "--display must be 'virtual'"),
    ({"kind": "desktop", "display": "virtual:5x5"}, "--display virtual:5x5: 5x5 is not a screen size"),
    ({"kind": "desktop", "monitor": 0}, "--monitor 0: must be at least 1"),
    ({"kind": "toaster"}, "--env must be one of browser, android, desktop, got 'toaster'"),
    ({}, "say which screen: --env browser|android|desktop"),
])
def test_a_bad_field_is_one_config_error_line_naming_its_flag(values, line):
    with pytest.raises(ConfigError) as caught:
        env_spec(values)
    message = str(caught.value)
    assert message.startswith(line), message
    assert "\n" not in message and "pydantic" not in message


def test_the_python_api_names_keywords_not_flags():
    with pytest.raises(ConfigError, match=r"^invalid option monitor= 0: Input should be greater"):
        env_spec({"kind": "desktop", "monitor": 0}, keywords=True)
    with pytest.raises(ConfigError, match=r"^device= does not apply to a browser screen \(it takes url=, "):
        qvl_agent.open_env("browser", device="sim")


def test_the_defaults_are_decided_in_one_place():
    assert BrowserSpec() == env_spec({"kind": "browser"})
    assert BrowserSpec().viewport == (1280, 720) and BrowserSpec().device_scale == 1.0
    assert not BrowserSpec().headed and BrowserSpec().allowed_domains is None
    assert AndroidSpec().device is None
    assert DesktopSpec().display is None  # $DISPLAY, the user's own
    assert DesktopSpec(display="virtual").sandbox  # a virtual display is sandboxed unless asked
    assert not DesktopSpec().unsafe_host
    # A suite's tasks: the same, but a desktop is a virtual display (in the same sandbox).
    assert task_spec(EnvKind.desktop) == DesktopSpec(display="virtual")
    assert task_spec(EnvKind.browser) == BrowserSpec()
    assert task_spec(EnvKind.android) == AndroidSpec()


def test_every_caller_gets_the_one_sandbox_default():
    """`run --display virtual`, a desktop suite and `eval --display virtual` sandbox through the
    spec's default; an RPA script's `display: virtual` turns it off, as the README says."""
    from qvl_agent.agent.rpa.runner import screen_spec
    from qvl_agent.agent.rpa.script import load_script

    run = env_spec({"kind": "desktop", "display": "virtual"})  # what `run` builds from its flags
    suite = get_suite("desktop")
    assert run.sandbox and suite.spec().sandbox and suite.spec({"display": "virtual:800x600"}).sandbox
    script = Path(__file__).parents[2] / "examples" / "rpa" / "desktop_ocr.yaml"
    rpa = screen_spec(load_script(script, {"NAME": "x", "OUT_FILE": "/tmp/x"}))
    assert rpa == DesktopSpec(display="virtual", sandbox=False)


def test_a_browser_spec_takes_the_options_an_rpa_script_gives(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "cookies.json").write_text("[]")
    spec = env_spec({"kind": "browser", "url": "index.html", "serve": str(tmp_path / "site"),
                     "user_agent": "qvl/1", "extra_http_headers": {"X-Token": "t"},
                     "cookie_file": str(tmp_path / "cookies.json"), "ignore_https_errors": True})
    assert spec.serve == str((tmp_path / "site").resolve()) and spec.url == "index.html"
    assert spec.cookie_file == str((tmp_path / "cookies.json").resolve())
    assert env_spec({"kind": "android", "device": "sim", "launch": "https://example.com/"}).launch
    # None of it is on unless asked: the defaults stay where the other callers had them.
    plain = BrowserSpec()
    assert (plain.serve, plain.user_agent, plain.extra_http_headers, plain.cookie_file,
            plain.ignore_https_errors) == (None, None, None, None, False)
    assert AndroidSpec().launch is None


def test_a_suite_takes_the_users_flags_and_refuses_others():
    miniwob = get_suite("miniwob")
    spec = miniwob.spec({"browser_path": "/opt/chrome"})
    assert spec.browser_path == "/opt/chrome"
    assert spec.viewport == (160, 210) and spec.allowed_domains == ["127.0.0.1"]  # the suite's own
    with pytest.raises(ConfigError, match=r"^suite 'miniwob': --device does not apply to a browser screen$"):
        miniwob.spec({"device": "sim"})
    with pytest.raises(ConfigError, match="suite 'android' runs on android screens, not browser"):
        get_suite("android").spec(BrowserSpec())
    assert updated(AndroidSpec(), {"device": "sim:android-9"}) == AndroidSpec(device="sim:android-9")


def test_eval_json_reads_back_the_same_spec(tmp_path):
    config = EvalConfig(suite="desktop", out=tmp_path, env=DesktopSpec(display="virtual:800x600"))
    again = EvalConfig.model_validate_json(config.model_dump_json())
    assert isinstance(again.env, DesktopSpec) and again.env == config.env


@pytest.mark.desktop
def test_the_api_opens_a_screen_as_a_context_manager():
    with qvl_agent.open_env("desktop", display="virtual:640x480", sandbox=False) as env:
        observation = env.observe()
        assert observation.screen.width == 640 and observation.screen.height == 480
        assert observation.extras["sandboxed"] is False
        assert env.display.managed  # a fresh Xvfb, not anyone's own display
    with pytest.raises(EnvError, match="is stopped"):
        env.display.launch(["true"])  # the block closed the screen and its display
