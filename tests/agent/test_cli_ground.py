"""`qvl-agent ground` as a user runs it."""

import json

import pytest
from PIL import Image

from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen

# Each test starts qvl-agent in a fresh process.
pytestmark = pytest.mark.slow


@pytest.fixture
def screenshot(tmp_path):
    path = tmp_path / "shot.png"
    Image.new("RGB", (1920, 1080), "white").save(path)
    return path


def test_ground_prints_screen_coordinates_and_draws_them(tmp_path, screenshot):
    def respond(request):
        w, h = request.frame or request.image.size
        return f'```json\n[{{"bbox_2d": [0, 0, {w // 2}, {h // 2}], "label": "top-left quarter"}}]\n```'

    out = tmp_path / "annotated.png"
    with FakeQwen(respond) as server:
        result = run_cli("ground", str(screenshot), "the top-left quarter", "--endpoint", server.url,
                         "--max-pixels", "1003520", "--out", str(out))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["frame"] == [1316, 728] and answer["image"] == [1920, 1080]
    item, = answer["items"]
    assert item["box"] == [0, 0, 960, 540] and item["point"] == [480, 270]
    marked = Image.open(out).convert("RGB")
    assert marked.size == (1920, 1080)
    assert marked.getpixel((960, 270))[0] > 200 and marked.getpixel((960, 270))[1] < 80  # red box edge
    assert marked.getpixel((1500, 800)) == (255, 255, 255)


def test_ground_point_mode(screenshot):
    with FakeQwen(lambda r: '{"point_2d": [658, 364]}') as server:
        result = run_cli("ground", str(screenshot), "the centre", "--point", "--endpoint", server.url,
                         "--max-pixels", "1003520")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["items"][0]["point"] == [960, 540]


@pytest.mark.parametrize("args,message", [
    (["ground", "/no/such.png", "x"], "image not found: /no/such.png"),
    (["ground", "{bad}", "x", "--model", "./nowhere"], "cannot read"),
    (["ground", "{shot}", "x", "--model", "./nowhere"], "no Qwen2.5-VL checkpoint at './nowhere'"),
    (["ground", "{shot}", "x"], "no Qwen2.5-VL weights for 'Qwen/Qwen2.5-VL-3B-Instruct'"),
    (["ground", "{shot}", "x", "--min-pixels", "9000", "--max-pixels", "100"], "min_pixels"),
])
def test_bad_input_is_one_line_and_non_zero(tmp_path, screenshot, args, message):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    args = [a.replace("{shot}", str(screenshot)).replace("{bad}", str(bad)) for a in args]
    result = run_cli(*args, env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_malformed_answer_is_one_line(screenshot):
    with FakeQwen(lambda r: "I think it's somewhere on the left") as server:
        result = run_cli("ground", str(screenshot), "x", "--endpoint", server.url)
    assert result.returncode == 2
    assert result.stderr.startswith("error: no bbox_2d or point_2d found")
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(screenshot):
    result = run_cli("--debug", "ground", "/no/such.png", "x")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_tiny_model_answers_are_handled(tmp_path, screenshot, tiny_checkpoint):
    """Whatever the random model writes, the command reports exactly that: the boxes it names
    in the image's pixels, or the one line that says why its answer is unusable."""
    from qvl_agent.envs.errors import ModelBehaviorError
    from qvl_agent.model.grounding import locate
    from qvl_agent.model.transformers_backend import TransformersBackend

    backend = TransformersBackend(str(tiny_checkpoint), min_pixels=3136, max_pixels=200704)
    try:
        expected = locate(backend, Image.open(screenshot).convert("RGB"), "the button")
    except ModelBehaviorError as exc:  # greedy decoding: the command must meet the same answer
        expected = exc
    result = run_cli("ground", str(screenshot), "the button", "--model", str(tiny_checkpoint),
                     "--max-pixels", "200704")
    assert "Traceback" not in result.stderr
    if isinstance(expected, ModelBehaviorError):
        assert result.returncode == 2, result.stdout
        assert result.stderr.strip().splitlines()[-1] == f"error: {expected}"  # after the loading bar
    else:
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        assert answer["raw"] == expected.raw
        assert [item["point"] for item in answer["items"]] == \
            [[round(i.point.x, 1), round(i.point.y, 1)] for i in expected.items]
