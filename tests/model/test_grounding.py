import pytest
from PIL import Image

from qvl_agent.envs.base import Size
from qvl_agent.envs.errors import ActionParseError, ActionRejectedError
from qvl_agent.model.grounding import locate
from qvl_agent.model.scripted import ScriptedVLM


def test_box_is_returned_in_screen_coordinates():
    # 2560x1440 screenshot of a 1280x720 screen, frame 1316x728 at OSWorld's cap.
    backend = ScriptedVLM(['```json\n[{"bbox_2d": [658, 364, 1316, 728], "label": "Submit"}]\n```'],
                          max_pixels=1003520)
    result = locate(backend, Image.new("RGB", (2560, 1440)), "the Submit button",
                    screen=Size(width=1280, height=720))
    item, = result.items
    assert item.box == (640, 360, 1280, 720)
    assert (item.point.x, item.point.y) == (960, 540)
    assert item.label == "Submit"
    assert result.frame == (1316, 728)
    asked, = backend.requests
    assert asked[0]["content"][0]["image"].size == (1316, 728)
    assert "the Submit button" in asked[0]["content"][1]["text"]


def test_points_and_several_items():
    backend = ScriptedVLM(['[{"point_2d": [10, 20]}, {"point_2d": [30, 40], "label": "b"}]'])
    result = locate(backend, Image.new("RGB", (56, 56)), "dots", shape="point")
    assert [(i.point.x, i.point.y) for i in result.items] == [(10, 20), (30, 40)]
    assert "point" in backend.requests[0][0]["content"][1]["text"]


def test_out_of_image_answers_and_non_answers_are_model_errors():
    with pytest.raises(ActionRejectedError, match="outside the image"):
        locate(ScriptedVLM(['{"bbox_2d": [0, 0, 57, 10]}']), Image.new("RGB", (56, 56)), "x")
    with pytest.raises(ActionParseError):
        locate(ScriptedVLM(["I don't see it"]), Image.new("RGB", (56, 56)), "x")
