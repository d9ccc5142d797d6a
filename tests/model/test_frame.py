import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from qvl_agent.envs.base import Size
from qvl_agent.envs.errors import ConfigError
from qvl_agent.model.frame import FACTOR, Frame, smart_resize
from tests.conftest import DATA

CASES = json.loads((DATA / "qwen25vl" / "smart_resize_cases.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['width']}x{c['height']}@{c['max_pixels']}")
def test_frame_matches_the_reference_resize_cases(case):
    frame = Frame.for_image((case["width"], case["height"]), (case["width"], case["height"]),
                            min_pixels=case["min_pixels"], max_pixels=case["max_pixels"])
    assert frame.size == (case["resized_width"], case["resized_height"])
    assert frame.image_tokens == case["llm_image_tokens"]


@settings(max_examples=2000, deadline=None)
@given(st.integers(1, 20000), st.integers(1, 20000), st.integers(784, 200_000),
       st.integers(784, 20_000_000))
def test_our_smart_resize_is_qwen_vl_utils_own(width, height, min_pixels, max_pixels):
    # Ours, so that a server's client needs no torch; it must agree with qwen-vl-utils
    # everywhere, the refusals included.
    from qwen_vl_utils import smart_resize as theirs

    min_pixels, max_pixels = sorted((min_pixels, max_pixels))
    try:
        expected = theirs(height, width, factor=FACTOR, min_pixels=min_pixels,
                          max_pixels=max_pixels)
    except ValueError:
        with pytest.raises(ValueError, match="aspect ratio"):
            smart_resize(height, width, FACTOR, min_pixels, max_pixels)
        return
    assert smart_resize(height, width, FACTOR, min_pixels, max_pixels) == expected


def test_hidpi_screenshot_maps_back_to_css_pixels():
    # A 1280x720 CSS viewport at device scale 2 gives a 2560x1440 screenshot.
    frame = Frame.for_image((2560, 1440), Size(width=1280, height=720), max_pixels=1003520)
    assert frame.size == (1316, 728)
    point = frame.to_screen(658, 364)  # the middle of the frame
    assert (point.x, point.y) == (640, 360)
    assert frame.to_frame(point) == (658, 364)


def test_resize_gives_exactly_the_frame():
    image = Image.new("RGBA", (1920, 1080))
    frame = Frame.for_image(image, (1920, 1080), max_pixels=1003520)
    resized = frame.resize(image)
    assert resized.size == (1316, 728) and resized.mode == "RGB"
    same = Image.new("RGB", frame.size)
    assert frame.resize(same) is same  # a frame-sized image is a fixed point


def test_contains_is_half_open():
    frame = Frame.for_image((56, 56), (56, 56))
    assert frame.size == (56, 56)
    assert frame.contains(0, 0) and frame.contains(55.9, 55.9)
    assert not frame.contains(56, 0) and not frame.contains(-0.1, 3)
    assert not frame.contains(float("nan"), 1)


def test_bad_pixel_limits_are_config_errors():
    with pytest.raises(ConfigError, match="min_pixels"):
        Frame.for_image((100, 100), (100, 100), min_pixels=5000, max_pixels=4000)
    with pytest.raises(ConfigError, match="aspect ratio"):
        Frame.for_image((10, 5000), (10, 5000))


def _noise(size=(640, 360)):
    import numpy as np

    return Image.fromarray(np.random.default_rng(7).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def test_resize_is_antialiased_bicubic_like_qwen_vl_utils():
    import numpy as np

    image = _noise()
    frame = Frame.for_image(image, image.size, max_pixels=50176)
    ours = np.asarray(frame.resize(image), dtype=int)
    pil = np.asarray(image.resize(frame.size, Image.Resampling.BICUBIC), dtype=int)
    assert np.abs(ours - pil).max() <= 2  # what the docstring promises
    # A one-pixel checkerboard shrunk 4 times is flat grey when antialiased, never a pattern.
    board = Image.fromarray((np.indices((448, 448)).sum(axis=0) % 2 * 255).astype(np.uint8)).convert("RGB")
    small = np.asarray(Frame.for_image(board, board.size, max_pixels=112 * 112).resize(board), dtype=int)
    assert small.shape[:2] == (112, 112) and small.std() < 8


def test_without_torch_the_resize_is_pils_bicubic(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)  # as on a server's client without [local]
    image = _noise()
    frame = Frame.for_image(image, image.size, max_pixels=50176)
    assert frame.resize(image).tobytes() == image.resize(frame.size, Image.Resampling.BICUBIC).tobytes()


def test_pixel_limits_start_at_one_patch_and_say_so():
    Frame.for_image((100, 100), (100, 100), min_pixels=FACTOR * FACTOR, max_pixels=FACTOR * FACTOR)
    with pytest.raises(ConfigError, match=r"pixel limits must satisfy 784 <= min_pixels <= max_pixels"):
        Frame.for_image((100, 100), (100, 100), min_pixels=783, max_pixels=4000)


def test_an_aspect_ratio_of_200_is_the_last_one_allowed():
    assert smart_resize(28, 5600, FACTOR, 784, 12845056)  # 1:200
    with pytest.raises(ValueError, match=r"smaller than 200, got 201\.0"):
        smart_resize(28, 5628, FACTOR, 784, 12845056)


def test_a_screen_given_as_a_pair_and_distances_scale_per_axis():
    frame = Frame.for_image((1000, 500), (2000, 1500))  # the screenshot smaller than the screen
    assert frame.screen == Size(width=2000, height=1500)
    assert (frame.image_width, frame.image_height) == (1000, 500)
    sx, sy = 2000 / frame.width, 1500 / frame.height
    assert frame.scale_to_screen(10, 20) == pytest.approx((10 * sx, 20 * sy))
    assert frame.scale_to_screen(-3, 0) == pytest.approx((-3 * sx, 0))
