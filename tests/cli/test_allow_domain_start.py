"""A start page that --allow-domain blocks: one line naming the allow-list and the host."""

import pytest

from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, tool_call

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_blocked_start_page_names_the_allow_list_and_the_host(tmp_path):
    with FakeQwen(lambda r: tool_call(action="terminate", status="success")) as server:
        result = run_cli("run", "read the page", "--env", "browser", "--url",
                         "http://127.0.0.1:9/start.html", "--allow-domain", "example.org",
                         "--allow-domain", "wiki.example.org", "--endpoint", server.url,
                         "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: cannot open http://127.0.0.1:9/start.html: its host 127.0.0.1 is not on the "
        "allow-list (--allow-domain example.org --allow-domain wiki.example.org); add "
        "--allow-domain 127.0.0.1, or start from a page on an allowed host"]
    assert "ERR_ABORTED" not in result.stderr
