"""What is drawn agrees with what is dumped: widgets' pixels lie inside their bounds."""

from __future__ import annotations

import io
import struct
import pytest
from PIL import Image, ImageChops

from tests.envs.sim.driver import Driver



BUILT_IN = 4619827259835644672       # the Pixel's built-in display (it has two)


def screenshot(driver: Driver) -> Image.Image:
    result = driver.run(f"screencap -p -d {BUILT_IN}")
    assert result.exit_code == 0
    image = Image.open(io.BytesIO(result.stdout))
    assert image.format == "PNG" and image.size == (1080, 2400)
    return image.convert("RGB")


def dominant(image: Image.Image) -> tuple[int, int, int]:
    colours = image.getcolors(image.width * image.height) or []
    count, colour = max(colours)
    return colour  # type: ignore[return-value]


@pytest.mark.parametrize(("package", "rid"), [
    ("com.google.android.contacts", "com.google.android.contacts:id/fab"),
    ("com.qvl.notes", "com.qvl.notes:id/fab"),
    ("com.qvl.flights", "com.qvl.flights:id/search"),
])
def test_a_buttons_colour_fills_its_bounds_and_stops_there(driver, package, rid):
    driver.sh(f"monkey -p {package} 1")
    image = screenshot(driver)
    left, top, right, bottom = driver.bounds(driver.node(rid=rid))
    inside = dominant(image.crop((left + 20, top + 20, right - 20, bottom - 20)))
    assert inside != (255, 255, 255)
    assert image.getpixel(((left + right) // 2, top - 6)) == (255, 255, 255)
    assert image.getpixel(((left + right) // 2, bottom + 6)) == (255, 255, 255)
    assert image.getpixel((left + 40, (top + bottom) // 2)) == inside


def test_typing_changes_pixels_only_inside_the_focused_field(driver):
    driver.sh("monkey -p com.qvl.notes 1")
    driver.tap(rid="com.qvl.notes:id/fab")
    driver.tap(rid="com.qvl.notes:id/title")
    before = screenshot(driver)
    driver.type("Hello")
    after = screenshot(driver)
    changed = ImageChops.difference(before, after).getbbox()
    left, top, right, bottom = driver.bounds(driver.node(rid="com.qvl.notes:id/title"))
    assert changed is not None
    assert left <= changed[0] and top <= changed[1] and changed[2] <= right \
        and changed[3] <= bottom


def test_the_status_bar_shows_the_radios(driver):
    before = screenshot(driver)
    driver.sh("svc wifi enable")
    after = screenshot(driver)
    changed = ImageChops.difference(before, after).getbbox()
    assert changed is not None and changed[3] <= 84          # only the status bar changed
    driver.sh("cmd connectivity airplane-mode enable")
    assert ImageChops.difference(after, screenshot(driver)).getbbox() is not None


def test_every_node_lies_inside_the_screen_and_its_parent(driver):
    for package in ("com.android.settings", "com.google.android.deskclock", "com.qvl.flights"):
        driver.sh(f"am force-stop {package}; monkey -p {package} 1")
        root = driver.dump()
        assert root.tag == "hierarchy" and root.get("rotation") == "0"
        for parent in root.iter("node"):
            p_left, p_top, p_right, p_bottom = driver.bounds(parent)
            assert 0 <= p_left < p_right <= 1080 and 0 <= p_top < p_bottom <= 2400
            for child in parent.findall("node"):
                c_left, c_top, c_right, c_bottom = driver.bounds(child)
                assert p_left <= c_left and p_top <= c_top and c_right <= p_right \
                    and c_bottom <= p_bottom
                assert child.get("package") == package


def test_the_dump_has_the_real_attribute_order(driver):
    xml = driver.sh("uiautomator dump /dev/tty")
    assert xml.startswith("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"
                          "<hierarchy rotation=\"0\"><node index=\"0\" text=\"\" "
                          "resource-id=\"\" class=\"android.widget.FrameLayout\" "
                          "package=\"com.google.android.apps.nexuslauncher\" content-desc=\"\" "
                          "checkable=\"false\" checked=\"false\" clickable=\"false\" "
                          "enabled=\"true\" focusable=\"false\" focused=\"false\" "
                          "scrollable=\"false\" long-clickable=\"false\" password=\"false\" "
                          "selected=\"false\" bounds=\"[0,0][1080,2400]\">")
    assert xml.endswith("</hierarchy>UI hierchary dumped to: /dev/tty\n")


def test_screencap_without_p_is_raw_rgba(driver):
    raw = driver.run(f"screencap -d {BUILT_IN}").stdout
    width, height, pixel_format, _ = struct.unpack("<4I", raw[:16])
    assert (width, height, pixel_format, len(raw)) == (1080, 2400, 1, 16 + 1080 * 2400 * 4)
    assert driver.sh("screencap -p /sdcard/s.png; ls /sdcard/s.png") == "/sdcard/s.png\n"


def test_select_all_highlights_the_text_inside_the_field(driver):
    driver.sh("monkey -p com.qvl.notes 1")
    driver.tap(rid="com.qvl.notes:id/fab")
    driver.fill("com.qvl.notes:id/title", "Hello")
    before = screenshot(driver)
    driver.sh("input keycombination KEYCODE_CTRL_LEFT KEYCODE_A")
    changed = ImageChops.difference(before, screenshot(driver)).getbbox()
    left, top, right, bottom = driver.bounds(driver.node(rid="com.qvl.notes:id/title"))
    assert changed is not None and left <= changed[0] and changed[2] <= right \
        and top <= changed[1] and changed[3] <= bottom
    driver.type("Bye")                                      # typing replaces the selection
    assert driver.node(rid="com.qvl.notes:id/title").get("text") == "Bye"
