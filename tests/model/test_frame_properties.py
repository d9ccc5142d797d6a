"""Properties of ``Frame``'s maps for any screen, any device scale and any pixel limits.

A click the model gives in frame pixels must land on the screen, and a point on the screen
that an oracle turns into a frame pixel must come back to within one frame pixel of itself.
Both are checked through the code the agent runs (``from_action`` and ``to_action``) as well
as through the bare ``Frame`` methods.
"""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from qwen_vl_utils import smart_resize

from qvl_agent.envs.actions import Click, Point
from qvl_agent.envs.base import Size
from qvl_agent.envs.errors import ConfigError
from qvl_agent.model.convert import from_action, to_action
from qvl_agent.model.frame import FACTOR, Frame

MAX_RATIO = 200  # smart_resize refuses images more elongated than this


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    """A frame for a random screen, shot at a random device scale, under random limits."""
    width = draw(st.integers(1, 4000))
    height = draw(st.integers(1, 4000))
    assume(max(width, height) / min(width, height) < MAX_RATIO)
    scale = draw(st.sampled_from([1.0, 1.25, 1.5, 2.0, 2.625, 3.0]))
    image = (max(1, round(width * scale)), max(1, round(height * scale)))
    assume(max(image) / min(image) < MAX_RATIO)
    min_pixels = draw(st.integers(FACTOR * FACTOR, 64 * FACTOR * FACTOR))
    max_pixels = draw(st.integers(min_pixels, 16384 * FACTOR * FACTOR))
    if 0 in smart_resize(image[1], image[0], FACTOR, min_pixels, max_pixels):
        # Too thin for so few pixels: refused with one line instead of an empty frame.
        with pytest.raises(ConfigError, match="raise --max-pixels"):
            Frame.for_image(image, Size(width=width, height=height),
                            min_pixels=min_pixels, max_pixels=max_pixels)
        assume(False)
    frame = Frame.for_image(image, Size(width=width, height=height),
                            min_pixels=min_pixels, max_pixels=max_pixels)
    assert frame.width % FACTOR == 0 and frame.height % FACTOR == 0
    return frame


def below(limit: float) -> st.SearchStrategy[float]:
    """Any float in [0, limit)."""
    return st.floats(0, limit, exclude_max=True)


@st.composite
def frame_points(draw: st.DrawFn) -> tuple[Frame, float, float]:
    frame = draw(frames())
    # The edges are where an off-by-one shows: pick them often.
    x = draw(st.one_of(st.sampled_from([0, frame.width - 1]), st.integers(0, frame.width - 1),
                       below(frame.width)))
    y = draw(st.one_of(st.sampled_from([0, frame.height - 1]), st.integers(0, frame.height - 1),
                       below(frame.height)))
    return frame, x, y


@st.composite
def screen_points(draw: st.DrawFn) -> tuple[Frame, Point]:
    frame = draw(frames())
    w, h = frame.screen.width, frame.screen.height
    x = draw(st.one_of(st.sampled_from([0.0, w - 1.0, w - 1e-6]), below(w)))
    y = draw(st.one_of(st.sampled_from([0.0, h - 1.0, h - 1e-6]), below(h)))
    return frame, Point(x=max(0.0, x), y=max(0.0, y))


def on_screen(frame: Frame, point: Point) -> bool:
    return 0 <= point.x < frame.screen.width and 0 <= point.y < frame.screen.height


@settings(max_examples=400, deadline=None)
@given(frame_points())
def test_every_frame_point_maps_inside_the_screen(case):
    frame, x, y = case
    assert frame.contains(x, y)
    assert on_screen(frame, frame.to_screen(x, y)), (frame, x, y)
    # The same through the path a model's click takes.
    click = to_action(from_json(x, y), frame)
    assert isinstance(click, Click) and click.at is not None and on_screen(frame, click.at)


@settings(max_examples=400, deadline=None)
@given(screen_points())
def test_screen_to_frame_to_screen_comes_back_within_one_frame_pixel(case):
    frame, point = case
    # One frame pixel, in screen units, along each axis.
    pixel_x = frame.screen.width / frame.width
    pixel_y = frame.screen.height / frame.height

    # Exact maps: back to the same point (up to float rounding).
    fx, fy = frame.to_frame(point)
    assert 0 <= fx < frame.width and 0 <= fy < frame.height
    back = frame.to_screen(fx, fy)
    assert abs(back.x - point.x) <= 1e-9 * frame.screen.width
    assert abs(back.y - point.y) <= 1e-9 * frame.screen.height

    # Through whole frame pixels, as an oracle's call is written and the agent reads it.
    call = from_action(Click(at=point), frame, "computer_use")
    x, y = call.arguments["coordinate"]
    assert isinstance(x, int) and isinstance(y, int) and frame.contains(x, y)
    landed = to_action(call, frame).at
    assert landed is not None and on_screen(frame, landed)
    assert abs(landed.x - point.x) <= pixel_x, (frame, point, landed)
    assert abs(landed.y - point.y) <= pixel_y, (frame, point, landed)


def test_a_thin_screen_under_a_small_pixel_cap_is_one_clear_error():
    with pytest.raises(ConfigError, match="raise --max-pixels"):
        Frame.for_image((4000, 40), (4000, 40), min_pixels=784, max_pixels=784)


def test_a_point_just_past_the_frame_is_not_on_it():
    frame = Frame.for_image((1280, 720), (1280, 720), max_pixels=1003520)
    assert frame.contains(frame.width - 1, frame.height - 1)
    assert not frame.contains(frame.width, 0) and not frame.contains(0, frame.height)


def from_json(x: float, y: float):
    from qvl_agent.model.parsing import ToolCall

    return ToolCall(name="computer_use", arguments={"action": "left_click", "coordinate": [x, y]})
