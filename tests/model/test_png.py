"""encode_png: any PNG decoder reads back exactly the frame's pixels."""

import io
import zlib

import pytest
from PIL import Image

from qvl_agent.model.openai_backend import to_openai_messages
from qvl_agent.model.png import encode_png


def noisy(size, mode="RGB"):
    return Image.effect_noise(size, 80).convert(mode)


@pytest.fixture(params=["isal", "zlib"], autouse=True)
def deflater(request, monkeypatch):
    """Every test for both deflaters: ISA-L where installed, zlib where it is not."""
    import qvl_agent.model.png as png

    if request.param == "zlib":
        monkeypatch.setattr(png, "_deflater", zlib)
    else:
        assert png._deflater is not zlib, "isal is a dependency; it should be installed"
    return request.param


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (56, 28), (1316, 728), (1932, 1092), (1092, 2408)])
def test_pixels_come_back_exactly(size):
    image = noisy(size)
    image.paste((30, 90, 200), (0, 0, size[0] // 2, size[1] // 2))  # flat areas next to noise
    data = encode_png(image)
    back = Image.open(io.BytesIO(data))
    back.load()  # checks every chunk's CRC and the zlib checksum
    assert back.mode == "RGB" and back.size == size
    assert back.tobytes() == image.tobytes()


def test_the_stream_is_one_valid_zlib_stream_even_in_pieces():
    image = noisy((1932, 1092))
    data = encode_png(image)
    start = data.index(b"IDAT") + 4
    length = int.from_bytes(data[start - 8:start - 4], "big")
    raw = zlib.decompress(data[start:start + length])  # header, every piece, adler32
    assert len(raw) == 1092 * (1932 * 3 + 1)


def test_other_modes_are_sent_as_rgb():
    image = noisy((60, 40), "L")
    back = Image.open(io.BytesIO(encode_png(image)))
    assert back.mode == "RGB" and back.tobytes() == image.convert("RGB").tobytes()


def test_an_image_sent_again_is_encoded_once():
    image = noisy((56, 28))
    first = to_openai_messages([{"role": "user", "content": [{"type": "image", "image": image}]}])
    again = to_openai_messages([{"role": "user", "content": [{"type": "image", "image": image}]}])
    assert first[0]["content"][0]["image_url"]["url"] is again[0]["content"][0]["image_url"]["url"]



def test_a_forked_child_encodes_too():
    """The pool's threads do not survive a fork: the child must not wait for them forever."""
    import multiprocessing
    import os

    image = noisy((1932, 1092))  # several pieces: every one goes to the pool
    expected = encode_png(image)  # the parent's pool now has (idle) threads
    child = multiprocessing.get_context("fork").Process(
        target=lambda: os._exit(0 if encode_png(image) == expected else 3), daemon=True)
    child.start()
    child.join(60)  # a bound on a hang, not on speed: the encode takes milliseconds
    if child.is_alive():
        child.kill()
        pytest.fail("encode_png in a forked child never finished: it waited for the parent's threads")
    assert child.exitcode == 0  # 3: the child's PNG differs from the parent's
