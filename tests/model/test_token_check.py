"""The exact prompt-token check against a fake server that counts like vLLM."""

import re

import pytest
from PIL import Image, ImageDraw

from qvl_agent.envs.base import Size
from qvl_agent.envs.errors import ConfigError
from qvl_agent.model.frame import Frame
from qvl_agent.model.openai_backend import OpenAIBackend, to_openai_messages
from qvl_agent.model.prompts import PastStep, agent_messages
from qvl_agent.model.token_check import expected_prompt_tokens, text_probe
from tests.fakeqwen import FakeQwen, count_tokens, tool_call

SCREEN = Size(width=1920, height=1080)


def screenshot():
    image = Image.new("RGB", (1920, 1080), "white")
    ImageDraw.Draw(image).rectangle([1460, 880, 1540, 920], fill="blue")
    return image


def messages_for(frame, history=()):
    return agent_messages("computer_use", frame.size, "press the button",
                          frame.resize(screenshot()), list(history), history_images=len(history))


def test_the_exact_count_is_what_a_matching_server_reports():
    frame = Frame.for_image(screenshot(), SCREEN)
    past = [PastStep(call=None, answer="<tool_call>x</tool_call>", image=frame.resize(screenshot()))]
    messages = messages_for(frame, past)
    from qvl_agent.model.openai_backend import to_openai_messages

    probe = count_tokens(to_openai_messages(text_probe(messages)), [])
    images = [frame.resize(screenshot())] * 2
    assert expected_prompt_tokens(probe, [i.size for i in images]) == \
        count_tokens(to_openai_messages(messages), images)


@pytest.mark.parametrize("tokenize_endpoint", [True, False])
def test_a_matching_server_passes_and_is_checked_once_per_image_size(tokenize_endpoint):
    frame = Frame.for_image(screenshot(), SCREEN)
    with FakeQwen(lambda r: tool_call(action="wait", time=1),
                  tokenize_endpoint=tokenize_endpoint) as server:
        backend = OpenAIBackend(server.url)
        backend.generate(messages_for(frame))
        backend.generate(messages_for(frame))
    assert len(server.requests) == 2 and not server.violations
    checks = server.tokenize_calls if tokenize_endpoint else len(server.probes)
    assert checks == 1  # the first request of that size only
    assert (len(server.probes) == 0) is tokenize_endpoint


@pytest.mark.parametrize("tokenize_endpoint", [True, False])
def test_a_server_that_shrinks_by_13_percent_is_refused_and_the_advice_works(tokenize_endpoint):
    frame = Frame.for_image(screenshot(), SCREEN)
    shrunk = int(frame.width * frame.height * 0.87 * 0.87)
    with FakeQwen(lambda r: tool_call(action="wait", time=1), max_pixels=shrunk,
                  tokenize_endpoint=tokenize_endpoint) as server:
        with pytest.raises(ConfigError) as info:
            OpenAIBackend(server.url).generate(messages_for(frame))
        message = str(info.value)
        assert "shrinks the screenshots" in message
        assert f"--mm-processor-kwargs '{{\"max_pixels\": {frame.width * frame.height}}}'" in message
        assert f"SGLANG_IMAGE_MAX_PIXELS={frame.width * frame.height}" in message
        # The client-side way out it names: a --max-pixels the server leaves alone.
        suggested = int(re.search(r"--max-pixels (\d+)", message).group(1))
        smaller = Frame.for_image(screenshot(), SCREEN, max_pixels=suggested)
        OpenAIBackend(server.url, max_pixels=suggested).generate(messages_for(smaller))
    assert server.requests[-1].image.size == smaller.size


def test_a_shrink_of_a_single_row_of_patches_is_caught():
    frame = Frame.for_image(screenshot(), SCREEN)  # 1932x1092
    with FakeQwen(lambda r: tool_call(action="wait", time=1),
                  max_pixels=frame.width * frame.height - 1) as server:
        with pytest.raises(ConfigError, match="shrinks the screenshots"):
            OpenAIBackend(server.url).generate(messages_for(frame))
    assert server.requests[0].image.size != frame.size  # what the model would have seen


def test_a_truncated_answer_is_reported_as_truncated():
    frame = Frame.for_image(screenshot(), SCREEN)
    long = "Thought: " + "let me think about this " * 40 + tool_call(action="wait", time=1)
    with FakeQwen(lambda r: long) as server:
        generation = OpenAIBackend(server.url).generate(messages_for(frame), max_new_tokens=32)
    assert generation.truncated and len(generation.text) < len(long)


@pytest.mark.parametrize("tokenize_endpoint", [True, False])
def test_a_count_no_resize_explains_is_a_different_rendering_not_a_resize(tokenize_endpoint):
    frame = Frame.for_image(screenshot(), SCREEN)  # 1932x1092: a row of patches is 69 tokens
    with FakeQwen(lambda r: tool_call(action="wait", time=1), extra_prompt_tokens=-9,
                  tokenize_endpoint=tokenize_endpoint) as server:
        with pytest.raises(ConfigError) as info:
            OpenAIBackend(server.url).generate(messages_for(frame))
    message = str(info.value)
    assert "renders the prompt differently" in message and "shrinks" not in message
    exact = count_tokens(to_openai_messages(messages_for(frame)), [frame.resize(screenshot())])
    probe = exact - frame.image_tokens + 1
    assert f"counted {exact - 9} prompt tokens where the exact count is {exact}" in message
    assert f"({probe} for the text" in message and "a difference of -9 that no resize" in message
    assert message.endswith("Check that it serves a Qwen2.5-VL-Instruct checkpoint with its own "
                            "chat template (no --chat-template), and run qvl-agent doctor "
                            "--endpoint URL")
    assert "--max-pixels" not in message  # no pixel limit fixes it


def test_a_shrink_names_the_size_the_server_made_and_the_advice_converges():
    frame = Frame.for_image(screenshot(), SCREEN)
    with FakeQwen(lambda r: tool_call(action="wait", time=1), max_pixels=1003520) as server:
        with pytest.raises(ConfigError) as info:
            OpenAIBackend(server.url).generate(messages_for(frame))
        made = server.requests[0].image.size
        assert f"as for {made[0]}x{made[1]}" in str(info.value)
        suggested = int(re.search(r"--max-pixels (\d+)", str(info.value)).group(1))
        smaller = Frame.for_image(screenshot(), SCREEN, max_pixels=suggested)
        OpenAIBackend(server.url, max_pixels=suggested).generate(messages_for(smaller))


def test_an_enlarging_server_names_the_size_it_made():
    from types import SimpleNamespace

    from qvl_agent.model.token_check import check_prompt_tokens

    small = Size(width=280, height=280)
    frame = Frame.for_image(Image.new("RGB", (280, 280), "white"), small)  # 10x10 patches
    messages = agent_messages("computer_use", frame.size, "press the button",
                              frame.resize(Image.new("RGB", (280, 280), "white")), [])
    probe = 500
    expected = expected_prompt_tokens(probe, [frame.size])
    server = SimpleNamespace(base_url="http://127.0.0.1:9/v1")  # its min_pixels made 560x560
    with pytest.raises(ConfigError) as info:
        check_prompt_tokens(server, messages, expected + 20 * 20 - 10 * 10, probe=probe)
    message = str(info.value)
    assert "enlarges the screenshots" in message and "as for 560x560" in message
    assert "1 screenshot of 280x280" in message and "--min-pixels" in message


def _images(*sizes):
    return [{"role": "user", "content": [
        {"type": "image", "image": Image.new("RGB", size, "white")} for size in sizes]}]


def _server_made(sizes, **limits):
    """What a server's processor (qwen-vl-utils' own smart_resize) makes of each size."""
    from qwen_vl_utils import smart_resize

    limits = {"min_pixels": 3136, "max_pixels": 12845056, **limits}
    return [(w, h) for width, height in sizes
            for h, w in [smart_resize(height, width, factor=28, **limits)]]


def _refusal(sizes, made, probe=500):
    """The check's message for a server that fed the model ``made`` for frames of ``sizes``."""
    from types import SimpleNamespace

    from qvl_agent.model.token_check import check_prompt_tokens, image_tokens

    fed = sum(image_tokens(size) for size in made)
    needed = sum(image_tokens(size) for size in sizes)
    server = SimpleNamespace(base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError) as info:
        check_prompt_tokens(server, _images(*sizes), expected_prompt_tokens(probe, sizes) + fed - needed,
                            probe=probe)
    return str(info.value)


def test_the_probe_has_the_placeholder_text_where_each_image_was():
    messages = [{"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "look"},
                                             {"type": "image", "image": Image.new("RGB", (56, 56))},
                                             {"type": "text", "text": "then click"}]}]
    assert text_probe(messages, "<pad>") == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "text", "text": "<pad>"},
                                     {"type": "text", "text": "then click"}]}]


def test_a_server_that_cannot_count_the_probe_is_not_checked():
    from types import SimpleNamespace

    from qvl_agent.model.token_check import check_prompt_tokens

    server = SimpleNamespace(base_url="http://127.0.0.1:9/v1", count_prompt_tokens=lambda m: None)
    check_prompt_tokens(server, _images((280, 280)), 12345)  # no /tokenize, no usage: no check


@pytest.mark.parametrize("sizes, max_pixels", [
    *[([(1932, 1092), (1316, 728)], limit)
      for limit in [2103472, 1055264, 511952, 500976, 35280, 7056, 3920]],
    ([(280, 280), (308, 252)], 99 * 28 * 28),  # 10x10 and 11x9 blocks: only the first shrinks
])
def test_the_sizes_named_are_the_sizes_a_server_made_of_frames_of_two_sizes(sizes, max_pixels):
    from qvl_agent.model.token_check import image_tokens, server_resized

    made = _server_made(sizes, max_pixels=max_pixels)
    assert server_resized(sizes, sum(image_tokens(size) for size in made), shrink=True) == made


def test_a_shrink_of_screenshots_of_several_sizes_names_the_largest_of_each():
    sizes = [(840, 812), (1120, 280), (280, 1120)]
    made = _server_made(sizes, max_pixels=341040)
    assert made[0] == (588, 560)  # the largest by area: neither the widest nor the tallest
    message = _refusal(sizes, made)
    assert "shrinks the screenshots" in message and "3 screenshots of 840x812;" in message
    assert "as for 588x560)" in message and message.endswith(f"--max-pixels {588 * 560} here")
    assert f"\"max_pixels\": {840 * 812}}}'" in message


def test_an_enlargement_just_past_four_times_each_side_is_named():
    made = _server_made([(280, 168)], min_pixels=16 * 280 * 168 + 1)
    assert made == [(1148, 700)]  # 41x25 blocks from 10x6: the smallest limit above 16x rounds up
    message = _refusal([(280, 168)], made)
    assert "enlarges the screenshots" in message and "as for 1148x700)" in message
    assert "1 screenshot of 280x168;" in message


def test_the_sizes_named_are_the_sizes_a_server_enlarged_frames_of_two_sizes_to():
    from qvl_agent.model.token_check import image_tokens, server_resized

    sizes = [(56, 56), (56, 112)]  # 4 and 8 blocks; the server's min_pixels is 9 blocks
    made = _server_made(sizes, min_pixels=9 * 28 * 28)
    assert made == [(84, 84), (84, 140)]
    assert server_resized(sizes, sum(image_tokens(size) for size in made), shrink=False) == made
