"""A login with secrets on a real page: the page gets the values, nothing the run leaves does.

`qvl-agent run --secret PASSWORD=... --secret BANK_PIN@bank.example --secrets-file F` with the
fake Qwen server: the site receives the password and a current TOTP code; `grep -r` of every
value over the run directory, the exported SFT data, the CLI's output and every request the
model server received finds nothing; the site-bound secret is refused and the model told.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pyotp
import pytest
from PIL import Image

from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call
from tests.pages import PageServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "Tr0ub4dor&3-s3cret"
PIN = "8675309-pin"
SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
VIEWPORT = (1000, 600)
USER, PASS, CODE, SIGN_IN = (250, 120), (250, 190), (250, 260), (180, 345)
# CSS boxes of the fields in login.html (left, top, right, bottom)
USER_BOX, PASS_BOX, CODE_BOX = (100, 100, 400, 140), (100, 170, 400, 210), (100, 240, 400, 280)
MASK = (96, 96, 96)


def _script(request: QwenRequest, number: int) -> str:
    at = lambda point: request.to_frame(*point, VIEWPORT)  # noqa: E731
    return [
        lambda: tool_call(action="left_click", coordinate=at(USER)),
        lambda: tool_call(action="type", text="alice"),
        lambda: tool_call(action="left_click", coordinate=at(PASS)),
        lambda: tool_call(action="type", text="<secret:PASSWORD>"),
        lambda: tool_call(action="left_click", coordinate=at(CODE)),
        lambda: tool_call(action="type", text="<secret:BANK_PIN>"),  # bound to another site
        lambda: tool_call(action="type", text="<secret:OTP_TOTP>"),
        lambda: tool_call(action="left_click", coordinate=at(SIGN_IN)),
        lambda: tool_call(action="terminate", status="success"),
    ][number]()


def _grey_share(image: Image.Image, box: tuple[float, float, float, float], tolerance: int = 0) -> float:
    left, top, right, bottom = (round(v) for v in box)
    pixels = [image.getpixel((x, y)) for x in range(left + 3, right - 3) for y in range(top + 3, bottom - 3)]
    grey = [p for p in pixels if all(abs(c - m) <= tolerance for c, m in zip(p, MASK))]
    return len(grey) / len(pixels)


def _grep(value: str, path: Path) -> str:
    """What `grep -r` finds of ``value`` under ``path`` (empty: nothing)."""
    found = subprocess.run(["grep", "-r", "-a", "-F", "-l", "--", value, str(path)],
                           capture_output=True, text=True)
    assert found.returncode in (0, 1), found.stderr
    return found.stdout


@pytest.fixture(scope="module")
def login(tmp_path_factory):
    """One login run and its SFT export, shared by the tests of this module."""
    tmp = tmp_path_factory.mktemp("login")
    secrets_file = tmp / "secrets.env"
    secrets_file.write_text(f"# the authenticator's seed\nexport OTP_TOTP='{SEED}'\n")
    secrets_file.chmod(0o600)
    requests: list[QwenRequest] = []

    def respond(request: QwenRequest) -> str:
        requests.append(request)
        return _script(request, len(requests) - 1)

    out = tmp / "run"
    with PageServer() as pages, FakeQwen(respond) as qwen:
        result = run_cli("run", "sign in as alice", "--env", "browser", "--url",
                         pages.url("login.html"), "--viewport", "1000x600", "--endpoint", qwen.url,
                         "--out", str(out), "--secret", f"PASSWORD={PASSWORD}",
                         "--secret", "BANK_PIN@bank.example", "--secrets-file", str(secrets_file),
                         env={"QVL_SECRET_BANK_PIN": PIN})
        signed_in = pages.of_type("signin")
        bodies = [json.dumps(r.body) for r in qwen.requests] + [json.dumps(b) for b in qwen.probes]
    export = run_cli("export", "sft", str(out), "--out", str(tmp / "sft"), "--validation", "0")
    return dict(result=result, out=out, signed_in=signed_in, requests=requests, bodies=bodies,
                export=export, sft=tmp / "sft", finished=time.time())


def test_the_page_receives_the_real_password_and_a_current_code(login):
    result = login["result"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("success:")
    event, = login["signed_in"]
    assert event["user"] == "alice" and event["password"] == PASSWORD
    totp = pyotp.TOTP(SEED)
    assert event["code"] in {totp.at(login["finished"], counter_offset=k) for k in (-3, -2, -1, 0)}


def test_no_value_is_in_the_run_the_export_the_output_or_any_request(login):
    assert login["export"].returncode == 0, login["export"].stderr
    assert "train: 8 samples" in login["export"].stdout  # every executed answer, none refused
    code = login["signed_in"][0]["code"]
    for value in (PASSWORD, PIN, SEED, code):
        assert _grep(value, login["out"]) == ""
        assert _grep(value, login["sft"]) == ""
        assert value not in login["result"].stdout + login["result"].stderr
        assert not [body for body in login["bodies"] if value in body]
    # What is recorded is the placeholder the model wrote.
    lines = [json.loads(line) for line in (login["out"] / "trajectory.jsonl").read_text().splitlines()]
    assert lines[3]["action"] == {"kind": "type", "text": "<secret:PASSWORD>"}
    meta = json.loads((login["out"] / "meta.json").read_text())
    assert [s["name"] for s in meta["options"]["secrets"]] == ["OTP_TOTP", "PASSWORD", "BANK_PIN"]


def test_the_model_is_told_the_names_it_may_use_and_the_export_repeats_it(login):
    first = "\n".join(login["requests"][0].texts)
    assert "<secret:PASSWORD>" in first and "<secret:OTP_TOTP> (the current one-time code)" in first
    assert "<secret:BANK_PIN> (only on bank.example)" in first
    row = json.loads((login["sft"] / "train.jsonl").read_text().splitlines()[0])
    user = "".join(p.get("text", "") for p in row["messages"][1]["content"])
    assert user == "".join(login["requests"][0].texts[1:])  # the very text the model was sent


def test_a_secret_bound_to_another_site_is_refused_and_the_model_told(login):
    lines = [json.loads(line) for line in (login["out"] / "trajectory.jsonl").read_text().splitlines()]
    refused = lines[5]
    assert refused["error_kind"] == "SecretRefusedError"
    assert "may only be typed on bank.example" in refused["error"] and "127.0.0.1" in refused["error"]
    told = "\n".join(login["requests"][6].texts)
    assert "<secret:BANK_PIN> may only be typed on bank.example" in told
    assert PIN not in login["signed_in"][0]["code"]  # the code field got the TOTP code only


def test_fields_that_hold_a_secret_are_masked_in_stored_and_sent_screenshots(login):
    out = login["out"]
    before = Image.open(out / "step_007.png").convert("RGB")  # the code field still empty
    after = Image.open(out / "step_008.png").convert("RGB")   # the code typed
    assert _grey_share(before, CODE_BOX) < 0.02 and _grey_share(before, PASS_BOX) > 0.7
    assert _grey_share(after, CODE_BOX) > 0.7 and _grey_share(after, PASS_BOX) > 0.7
    assert _grey_share(after, USER_BOX) < 0.02  # "alice" is no secret: only its letters
    sent = login["requests"][7]  # the request of step 8: its image, in frame pixels
    sx, sy = sent.frame[0] / VIEWPORT[0], sent.frame[1] / VIEWPORT[1]
    box = (CODE_BOX[0] * sx, CODE_BOX[1] * sy, CODE_BOX[2] * sx, CODE_BOX[3] * sy)
    assert _grey_share(sent.image, box, tolerance=8) > 0.6
