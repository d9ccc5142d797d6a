"""Secrets on a phone (the virtual phone over adb): typed only into the app they are bound
to, and masked where the uiautomator tree shows them."""

from __future__ import annotations

import re

import pytest
from PIL import Image

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.envs.actions import Click, OpenApp, Point, Terminate, TypeText

pytestmark = [pytest.mark.slow]

PIN = "4815162342"
TITLE = "com.qvl.notes:id/title"


def _box(env, rid: str) -> tuple[int, int, int, int]:
    node = next(n for n in env.ui_nodes() if n.get("resource-id") == rid)
    return tuple(map(int, re.findall(r"-?\d+", node.get("bounds"))))  # type: ignore[return-value]


def _centre(box) -> Point:
    return Point(x=(box[0] + box[2]) / 2, y=(box[1] + box[3]) / 2)


def test_a_secret_bound_to_an_app_is_typed_there_masked_and_refused_elsewhere(virtual_phone, tmp_path):
    env = virtual_phone

    def actions():
        yield OpenApp(name="Notes")
        yield Click(at=_centre(_box(env, "com.qvl.notes:id/fab")))
        yield Click(at=_centre(_box(env, TITLE)))
        yield TypeText(text="<secret:PIN>")
        yield TypeText(text="<secret:BANK_PIN>")  # bound to another app
        yield Terminate(status="success")

    trajectory = run_episode(env, ScriptedPolicy(actions()), "write the pin down",
                             secrets={"PIN@com.qvl.notes": PIN, "BANK_PIN@com.bank.app": "999999"},
                             recorder=RunRecorder(tmp_path / "run"))
    field = next(n for n in env.ui_nodes() if n.get("resource-id") == TITLE)
    assert field.get("text") == PIN  # the phone holds the value, once

    assert trajectory.status == "success"
    typed, refused = trajectory.steps[3], trajectory.steps[4]
    assert typed.error is None and typed.action == TypeText(text="<secret:PIN>")
    assert refused.error_kind == "SecretRefusedError"
    assert "only be typed on com.bank.app, and typing now goes to com.qvl.notes" in refused.error

    # Before typing the field shows its hint; after, its box is masked in what was stored.
    left, top, right, bottom = _box(env, TITLE)
    inner = [(x, y) for x in range(left + 8, right - 8, 7) for y in range(top + 8, bottom - 8, 5)]
    before = Image.open(tmp_path / "run" / "step_004.png").convert("RGB")
    after = Image.open(tmp_path / "run" / "step_005.png").convert("RGB")
    grey = lambda image: sum(image.getpixel(p) == (96, 96, 96) for p in inner) / len(inner)  # noqa: E731
    assert grey(before) < 0.05 and grey(after) > 0.6
    for path in (tmp_path / "run").iterdir():
        assert PIN.encode() not in path.read_bytes(), path.name
