"""The offline grounders' matching rules: exact words, a kind hint, never a guess."""

from __future__ import annotations

import pytest

from qvl_agent.agent.rpa.grounders import UiaGrounder, describe_target
from qvl_agent.agent.rpa.ocr import OcrWord, _phrase
from qvl_agent.envs.base import Observation, Size
from PIL import Image


@pytest.mark.parametrize("prompt, name, role", [
    ("the Username field", "username", "input"),
    ("the user's name field", "user's name", "input"),
    ('the "Log in" button', "log in", "button"),
    ("the 'Save' button", "save", "button"),
    ("Wi-Fi", "wi-fi", None),
    ('the text "Thank you"', "thank you", None),
])
def test_descriptions(prompt, name, role):
    found = describe_target(prompt)
    assert (found.name, found.role) == (name, role)


def test_ocr_phrases_are_consecutive_words_of_one_line():
    words = [OcrWord("Log", (10, 10, 40, 30), (1, 1, 1), 90), OcrWord("in", (45, 10, 60, 30), (1, 1, 1), 90),
             OcrWord("Log", (10, 80, 40, 100), (1, 1, 2), 90), OcrWord("out", (45, 80, 80, 100), (1, 1, 2), 90)]
    assert _phrase(words, ["log", "in"]) == (10, 10, 60, 30)
    assert _phrase(words, ["log", "out"]) == (10, 80, 80, 100)
    assert _phrase(words, ["in", "log"]) is None


class _Phone:
    """Answers the two shell commands the uia grounder uses, like a phone whose first dump
    meets an animation ("could not get idle state", exit 0, no file)."""

    XML = ('<?xml version="1.0"?><hierarchy rotation="0">'
           '<node text="Wi-Fi" class="android.widget.TextView" content-desc="" bounds="[0,300][820,380]"/>'
           '<node text="" class="android.widget.EditText" content-desc="Search" bounds="[0,500][1080,600]"/>'
           '<node text="Wi-Fi calling" class="android.widget.TextView" content-desc="" bounds="[0,700][820,780]"/>'
           '</hierarchy>')

    def __init__(self):
        self.dumps = 0
        self.written = False

    def shell(self, args, check=True):
        if args[0] == "rm":
            self.written = False
            return ""
        if args[0] == "uiautomator":
            self.dumps += 1
            if self.dumps == 1:
                return "ERROR: could not get idle state.\n"
            self.written = True
            return "UI hierchary dumped to: /sdcard/window_dump.xml\n"
        assert args[0] == "cat" and self.written, "read a dump that was not written"
        return self.XML


def test_uia_takes_the_exact_name_and_waits_out_an_animation():
    phone = _Phone()
    seen = Observation(screenshot=Image.new("RGB", (8, 8)), screen=Size(width=1080, height=2400))
    wifi = UiaGrounder().find(phone, seen, "Wi-Fi")
    assert (wifi.point.x, wifi.point.y) == (410, 340) and phone.dumps == 2
    search = UiaGrounder().find(phone, seen, "the Search field")  # content-desc, an EditText
    assert search.point.y == 550
    assert UiaGrounder().find(phone, seen, "Bluetooth") is None
