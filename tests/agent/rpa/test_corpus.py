"""Real Midscene scripts, as their authors wrote them (tests/data/midscene/SOURCES.md).

Every file passes ``qvl-agent rpa --dry-run`` from the folder Midscene's runner uses, or is
refused with the one line SOURCES.md says; the scripts that ``serve:`` a local folder run end
to end against the fake model server, which looks at the pages it is shown.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from qvl_agent.agent.trajectory import load_run
from qvl_agent.cli.main import app
from tests.agent.rpa.fakes import box_answer, question
from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call

CORPUS = Path(__file__).parents[2] / "data" / "midscene"
REFUSALS = {  # SOURCES.md's outcome -> what every error line of that file says
    "`ios:`": "ios: drives an iPhone through WebDriverAgent, which qvl-agent cannot do",
    "`interface:`": "interface: loads a JavaScript device module, which cannot run in Python",
    "`bridgeMode: currentTab`": "bridgeMode: currentTab drives the tab open in your Chrome",
}


def sources() -> list[tuple[str, str, str]]:
    """(path under CORPUS, run-from folder under CORPUS, outcome) for each listed file."""
    rows = []
    for line in (CORPUS / "SOURCES.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[1].startswith("`"):
            repo, path, _, run_from, outcome = cells
            path = f"{repo}/{path.strip('`')}"
            folder = str(Path(path).parent) if run_from.startswith("(") else f"{repo}/{run_from}"
            rows.append((path, folder, outcome))
    return rows


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    shutil.copytree(CORPUS, root, dirs_exist_ok=True)
    (root / "midscene/apps/report/dist").mkdir()  # the report app's build output (see SOURCES.md)
    return root


def test_sources_list_every_file_in_the_corpus():
    listed = sorted(path for path, _, _ in sources())
    present = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.y*ml"))
    assert listed == present and len(listed) == 54


def test_every_corpus_file_passes_dry_run_or_is_refused_as_recorded(corpus, monkeypatch):
    runner = CliRunner()
    passed = refused = 0
    for path, folder, outcome in sources():
        monkeypatch.chdir(corpus / folder)
        result = runner.invoke(app, ["rpa", "--dry-run", str(corpus / path)])
        said = result.output
        if outcome == "passes":
            assert result.exit_code == 0, f"{path}:\n{said}"
            assert said.count("ok: ") >= 1 and "error:" not in said, said
            passed += 1
        else:
            expected = next(text for key, text in REFUSALS.items() if key in outcome)
            errors = [line for line in said.splitlines() if line.startswith("error:")]
            assert result.exit_code == 2 and errors, f"{path}:\n{said}"
            assert any(expected in line for line in errors), f"{path}:\n{said}"
            refused += 1
    assert (passed, refused) == (44, 10)


def test_android_corpus_scripts_take_device_as_run_does(corpus):
    script = corpus / "midscene/packages/cli/tests/multi_yaml_android_scripts/maps-navigation.yaml"
    own = CliRunner().invoke(app, ["rpa", "--dry-run", str(script)])
    assert f"ok: {script}: android s4ey59ytbitot4yp, 1 task, 5 steps" in own.output
    sim = CliRunner().invoke(app, ["rpa", "--dry-run", "--device", "sim", str(script)])
    assert f"ok: {script}: android sim, 1 task, 5 steps" in sim.output


# -- end to end: the serve: scripts -------------------------------------------------------------

def find(image: Image.Image, colour, bottom: int | None = None) -> tuple[int, int, int, int] | None:
    """The box (image pixels) around the pixels ``colour(r, g, b)`` accepts, above ``bottom``."""
    pixels = image.convert("RGB").load()
    xs, ys = [], []
    for y in range(0, min(image.height, bottom or image.height), 2):
        for x in range(0, min(image.width, 700), 2):
            if colour(*pixels[x, y]):
                xs.append(x)
                ys.append(y)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def black(r: int, g: int, b: int) -> bool:
    return r < 60 and g < 60 and b < 60


def blue(r: int, g: int, b: int) -> bool:
    return b > 150 and r < 90 and g < 90


def looking_model(request: QwenRequest) -> str:
    """A model that reads the served pages' pixels: it finds the title (black text at the
    top) and the link (blue text), and judges 'the title is "My App"' and 'the page contains
    Earth' (the list page: a title and no link)."""
    image = request.image
    text = question(request)
    title = find(image, black, bottom=70)  # the page's <h1>, at the top
    link = find(image, blue)
    if request.grounding is not None:  # "click the title"
        return box_answer(request, title, image.size) if title else "I cannot see it."
    if request.tool is not None:  # the agent: click the blue link; once it is gone, done
        if link is None:
            return tool_call(action="terminate", status="success")
        return tool_call(action="left_click", coordinate=[(link[0] + link[2]) // 2, (link[1] + link[3]) // 2])
    if "Is this true:" in text:
        if "Earth" in text:
            verdict = title is not None and link is None  # the planet list, not the index
        else:
            verdict = title is not None and '"My App"' in text
        return json.dumps({"pass": verdict, "thought": "from the pixels"})
    return "unexpected request"


@pytest.mark.browser
@pytest.mark.slow
def test_serve_scripts_run_end_to_end_with_the_fake_model(corpus, tmp_path):
    cli = corpus / "midscene/packages/cli"
    index = tmp_path / "local.yaml"  # Midscene's own two local scripts, as one batch
    index.write_text("continueOnError: true\nfiles:\n"
                     f"  - {cli}/tests/midscene_scripts/local/local.yml\n"
                     f"  - {cli}/tests/midscene_scripts/local/local-error-message.yml\n")
    demo = corpus / "midscene-example/yaml-scripts-demo"
    with FakeQwen(looking_model) as server:
        # --grounder qwen: the model finds "the title" (OCR would too, slowly, twice per locate)
        local = run_cli("rpa", str(index), "--endpoint", server.url, "--out", str(tmp_path / "local"),
                        "--cache-dir", str(tmp_path / "cache"), "--grounder", "qwen", cwd=cli)
        planets = run_cli("rpa", "midscene-scripts/local-static-server.yml", "--endpoint", server.url,
                          "--out", str(tmp_path / "planets"), cwd=demo)
        assert not server.violations
    assert local.returncode == 1, local.stdout + local.stderr  # the second asserts "Your App"
    assert "passed: click title" in local.stdout and "passed: check title" in local.stdout
    assert "FAILED: check title" in local.stdout and "1 of 2 scripts passed" in local.stdout
    assert "something error when assert title" in local.stderr  # the script's errorMessage
    summary = json.loads((tmp_path / "local" / "summary.json").read_text())
    assert [(Path(r["file"]).name, r["success"]) for r in summary] == [
        ("local.yml", True), ("local-error-message.yml", False)]
    tap = load_run(tmp_path / "local" / "01-local").steps[0]
    assert tap.extras["url"].startswith("http://127.0.0.1:") and tap.extras["url"].endswith("/index.html")
    assert tap.action.kind == "click" and tap.action.at.y < 80  # on the title

    assert planets.returncode == 0, planets.stdout + planets.stderr
    steps = load_run(tmp_path / "planets").steps
    assert steps[-1].extras["rpa"] == "aiAssert: The page contains 'Earth'"
    assert steps[-1].extras["url"].endswith("/list.html")  # the link opened the list
