"""OpenAIBackend against a local OpenAI-compatible server that answers like Qwen."""

import socket

import pytest
from PIL import Image, ImageDraw

from qvl_agent.envs.actions import Click
from qvl_agent.envs.base import Size
from qvl_agent.envs.errors import ConfigError, ModelUnavailableError
from qvl_agent.model.convert import to_action
from qvl_agent.model.frame import Frame
from qvl_agent.model.openai_backend import OpenAIBackend
from qvl_agent.model.parsing import parse_tool_call
from qvl_agent.model.prompts import agent_messages
from tests.fakeqwen import _tokenizer, FakeQwen, tool_call

SCREEN = (1920, 1080)
BUTTON = (1500, 900)  # where the target is, in screen coordinates


def screenshot():
    image = Image.new("RGB", SCREEN, "white")
    ImageDraw.Draw(image).rectangle([BUTTON[0] - 40, BUTTON[1] - 20, BUTTON[0] + 40, BUTTON[1] + 20], fill="blue")
    return image


def find_blue(image):
    """What a model does: look at the image it was sent and name a point in it."""
    xs, ys = [], []
    pixels = image.load()
    for y in range(0, image.height, 2):
        for x in range(0, image.width, 2):
            r, g, b = pixels[x, y]
            if b > 200 and r < 60:
                xs.append(x)
                ys.append(y)
    return [round(sum(xs) / len(xs)), round(sum(ys) / len(ys))]


@pytest.mark.parametrize("max_pixels", [12845056, 1003520])
def test_request_carries_the_frame_and_the_answer_becomes_the_screen_action(max_pixels):
    def respond(request):
        return "Thought: the blue button.\n" + tool_call(request.tool, action="left_click",
                                                         coordinate=find_blue(request.image))

    with FakeQwen(respond) as server:
        backend = OpenAIBackend(server.url, max_pixels=max_pixels)
        frame = Frame.for_image(screenshot(), Size(width=SCREEN[0], height=SCREEN[1]), max_pixels=max_pixels)
        generation = backend.generate(agent_messages("computer_use", frame.size, "press the button",
                                                     frame.resize(screenshot())))
    request, = server.requests
    assert request.image.size == frame.size  # the server got exactly the frame...
    assert request.frame == frame.size  # ...and the prompt states that size
    assert not server.violations
    assert request.body["model"] == "Qwen2.5-VL-7B-Instruct"  # asked the server for its model
    assert request.body["temperature"] == 0.0
    action = to_action(parse_tool_call(generation.text), frame)
    assert isinstance(action, Click)
    assert abs(action.at.x - BUTTON[0]) <= 4 and abs(action.at.y - BUTTON[1]) <= 4
    # Usage as the server counts it (the answer and the end-of-turn token), and the frame's share
    assert generation.prompt_tokens > frame.image_tokens == generation.image_tokens
    assert generation.completion_tokens == len(_tokenizer().encode(generation.text).ids) + 1


def test_server_errors_are_retried_then_succeed():
    with FakeQwen(lambda r: tool_call(action="wait", time=1), failures=[503, 502]) as server:
        backend = OpenAIBackend(server.url, model="m", max_retries=3)
        generation = backend.generate([{"role": "user", "content": "hi"}])
    assert "wait" in generation.text
    assert len(server.requests) == 1 and not server.failures


def test_client_errors_are_one_clear_line_without_retry():
    with FakeQwen(lambda r: "x", failures=[400, 400]) as server:
        backend = OpenAIBackend(server.url, model="m", max_retries=3)
        with pytest.raises(ModelUnavailableError, match=r"refused the request \(400\): injected failure 400"):
            backend.generate([{"role": "user", "content": "hi"}])
    assert server.failures == [400]  # only one request was made


def test_persistent_server_errors_give_up():
    with FakeQwen(lambda r: "x", failures=[500] * 5) as server:
        backend = OpenAIBackend(server.url, model="m", max_retries=1)
        with pytest.raises(ModelUnavailableError, match=r"failed with 500 \(2 tries in \d+ s\): injected failure 500"):
            backend.generate([{"role": "user", "content": "hi"}])


def test_unreachable_server_says_so():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ModelUnavailableError, match="cannot reach the model server"):
        OpenAIBackend(f"http://127.0.0.1:{port}/v1", max_retries=0)


def test_api_key_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sekret")
    monkeypatch.setenv("OPENAI_API_KEY", "not-this-one")
    with FakeQwen(lambda r: tool_call(action="wait", time=1)) as server:
        backend = OpenAIBackend(server.url, model="m", api_key_env="MY_KEY")
        backend.generate([{"role": "user", "content": "hi"}])
    # What the server received, on every request it got (the generation included).
    assert len(server.requests) == 1 and server.authorizations
    assert set(server.authorizations) == {"Bearer sekret"}


def test_the_key_goes_to_tokenize_too(monkeypatch):
    # With a screenshot, the token check asks /tokenize before generating: a server that
    # needs a key refuses a request that carries another one (or "EMPTY").
    monkeypatch.setenv("MY_KEY", "sekret")
    frame = Frame.for_image((640, 360), Size(width=640, height=360))
    with FakeQwen(lambda r: tool_call(action="wait", time=1)) as server:
        backend = OpenAIBackend(server.url, model="m", api_key_env="MY_KEY")
        backend.generate(agent_messages("computer_use", frame.size, "g",
                                        frame.resize(Image.new("RGB", (640, 360), "white"))))
    assert server.tokenize_calls == 1 and len(server.requests) == 1
    assert set(server.authorizations) == {"Bearer sekret"}


def test_a_server_that_shrinks_the_image_by_13_percent_is_caught():
    frame = Frame.for_image((1920, 1080), Size(width=1920, height=1080))  # 1932x1092
    shrunk = int(frame.width * frame.height * 0.87 * 0.87)  # 13% smaller on each side
    with FakeQwen(lambda r: tool_call(action="wait", time=1), max_pixels=shrunk) as server:
        backend = OpenAIBackend(server.url)
        with pytest.raises(ConfigError, match=r"shrinks the screenshots.*--mm-processor-kwargs "
                                              r".*SGLANG_IMAGE_MAX_PIXELS.*--max-pixels \d+"):
            backend.generate(agent_messages("computer_use", frame.size, "g", frame.resize(screenshot())))


# A server that is up but hangs, answers what is not an OpenAI response, or rate-limits.

_HTML = (200, "text/html", "<html><body><h1>502 Bad Gateway</h1> nginx</body></html>")


def test_a_server_that_never_answers_is_tried_twice_and_said_to_hang():
    """It accepts the connection and never answers: the tries stop at twice the request
    timeout (not max_retries x timeout), and the message says it did not answer."""
    with FakeQwen(lambda r: tool_call(action="wait", time=1), delay_s=3) as server:
        backend = OpenAIBackend(server.url, model="m", max_retries=3, timeout=1)
        with pytest.raises(ModelUnavailableError) as failed:
            backend.generate([{"role": "user", "content": "hi"}])
        tries = server.chat_requests
    message = str(failed.value)
    assert "did not answer within 1 s (2 tries" in message and "--request-timeout" in message
    assert "is it running" not in message
    assert tries == 2


@pytest.mark.parametrize("raw, said", [
    (_HTML, "an HTML page: '<html><body><h1>502 Bad Gateway</h1> nginx</body></html>'"),
    ((200, "application/json", '{"choices": [{"message": '), "a body that is not JSON"),
    ((200, "application/json", '{"error": "upstream"}'), "JSON without choices"),
], ids=["html", "cut-json", "no-choices"])
def test_a_200_that_is_not_an_openai_response_is_retried_then_named(raw, said):
    with FakeQwen(lambda r: tool_call(action="wait", time=1), raw_answers=[raw]) as server:
        backend = OpenAIBackend(server.url, model="m", max_retries=2)
        assert "wait" in backend.generate([{"role": "user", "content": "hi"}]).text  # retried
    with FakeQwen(lambda r: "x", raw_answers=[raw] * 5) as server:
        backend = OpenAIBackend(server.url, model="m", max_retries=2)
        with pytest.raises(ModelUnavailableError) as failed:
            backend.generate([{"role": "user", "content": "hi"}])
    message = str(failed.value)
    assert "answered with something that is not an OpenAI response" in message
    assert said in message and "3 tries" in message


def test_rate_limiting_is_called_rate_limiting_after_the_retries():
    with FakeQwen(lambda r: "x", failures=[429] * 5) as server:
        backend = OpenAIBackend(server.url, model="m", max_retries=2)
        with pytest.raises(ModelUnavailableError) as failed:
            backend.generate([{"role": "user", "content": "hi"}])
    assert "is rate limiting the requests (429 Too Many Requests, 3 tries" in str(failed.value)
    assert "refused" not in str(failed.value) and server.failures == [429, 429]
