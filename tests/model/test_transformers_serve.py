"""Against a real strict server: ``transformers serve`` with the tiny checkpoint.

It refuses request fields it does not know by name (422 "Unexpected fields in the request:
{'repetition_penalty'}"), has no /tokenize, and refuses an ``<|image_pad|>`` without its
image: every one of those once ended a run at step 0.
"""

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.model]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tiny_checkpoint, tmp_path_factory):
    """``transformers serve CHECKPOINT`` on 127.0.0.1 (its console script, run by this Python)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-c", "from transformers.cli.transformers import main; main()",
             "serve", str(tiny_checkpoint), "--host", "127.0.0.1", "--port", str(port),
             "--device", "cpu"], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=5) as reply:
                    if json.loads(reply.read())["data"]:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_doctor_reports_which_sampling_fields_transformers_serve_takes(served):
    result = run_cli("doctor", "--endpoint", served)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    row = next(line for line in lines if "generation settings" in line)
    assert row.startswith("ok") and "repetition_penalty refused as a field" in row
    assert "goes in generation_config" in row
    # The exact image-token check works without /tokenize and without a bare <|image_pad|>.
    assert any(line.startswith("ok") and "image tokens at 1932x1092" in line for line in lines)


@pytest.mark.browser
def test_a_run_goes_past_step_0_on_transformers_serve(served, tmp_path):
    out = tmp_path / "run"
    result = run_cli("run", "click the button", "--env", "browser", "--endpoint", served,
                     "--max-steps", "1", "--max-new-tokens", "16", "--out", str(out))
    assert "refused the request" not in result.stderr, result.stderr
    assert result.stderr.count("note: the model server at") == 1
    meta = json.loads((out / "meta.json").read_text())
    # The random model's answers are unusable, fed back three times (--max-steps counts only
    # executed actions), never a refused request.
    assert meta["status"] == "model_errors" and "unusable answers in a row" in meta["message"], meta
    step = json.loads((out / "trajectory.jsonl").read_text().splitlines()[0])
    assert step["raw"] and step["prompt_tokens"] > 1196  # 1288x728: the frame's tokens, checked exactly
