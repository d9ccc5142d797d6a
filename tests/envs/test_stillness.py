"""A screen whose only change is a blinking caret has stopped moving."""

from PIL import Image, ImageDraw

from qvl_agent.envs.stillness import same_but_caret


def _screen(*boxes):
    image = Image.new("RGB", (1080, 2400), "white")
    for box in boxes:
        ImageDraw.Draw(image).rectangle(box, fill="black")
    return image


def test_a_caret_blink_is_still_and_anything_larger_is_not():
    field = (100, 500, 900, 600)
    caret = (400, 515, 405, 585)  # a phone's text cursor: 6 x 71 px
    assert same_but_caret(_screen(field), _screen(field), (12, 160))
    blinking_off = _screen()
    ImageDraw.Draw(blinking_off).rectangle(caret, fill="black")
    assert same_but_caret(_screen(), blinking_off, (12, 160))
    assert not same_but_caret(_screen(), _screen(field), (12, 160))          # a field appeared
    assert not same_but_caret(_screen(), _screen((400, 515, 420, 585)), (12, 160))  # a typed letter
    assert not same_but_caret(_screen(), Image.new("RGB", (1080, 2399), "white"), (12, 160))
