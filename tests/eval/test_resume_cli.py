"""`qvl-agent eval --resume --out DIR` alone finishes a run with the options it recorded."""

import json

import pytest

from tests.conftest import run_cli

pytestmark = [pytest.mark.android, pytest.mark.slow]


@pytest.fixture(scope="module")
def cut_run(tmp_path_factory):
    """An oracle run of two android tasks on the virtual phone, with one result lost."""
    out = tmp_path_factory.mktemp("eval") / "run"
    first = run_cli("eval", "--suite", "android", "--device", "sim", "--policy", "oracle",
                    "--tasks", "wifi|bluetooth", "--out", str(out))
    assert first.returncode == 0, first.stderr
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2
    (out / "results.jsonl").write_text(lines[0] + "\n")  # as if killed after one instance
    return out


def test_an_option_typed_again_must_agree_and_is_refused_by_its_flag(cut_run):
    for flag, value, shown in [("--policy", "qwen", "'oracle' then, 'qwen' now"),
                               ("--device", "sim:android-9", "'sim' then, 'sim:android-9' now")]:
        result = run_cli("eval", "--resume", "--out", str(cut_run), flag, value)
        assert result.returncode == 2
        assert result.stderr.splitlines() == [  # before the header: the only line
            f"error: --resume with other options than the run in {cut_run} ({flag}: {shown}); "
            "resume with the same options, or start a new run with another --out"]


def test_resume_with_only_the_out_continues_with_the_recorded_options(cut_run):
    result = run_cli("eval", "--resume", "--out", str(cut_run))  # as the hint prints it
    assert result.returncode == 0, result.stderr
    assert "resuming: 1 of 2 instances already done" in result.stderr
    assert "policy oracle, 2 instances" in result.stderr
    rows = [json.loads(line) for line in (cut_run / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(row["outcome"] == "success" for row in rows)


def test_resume_of_a_folder_without_a_run_says_so(tmp_path):
    result = run_cli("eval", "--resume", "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: --resume: {tmp_path} holds no eval run to finish "
                                     "(no eval.json); start one with --suite NAME --out DIR")
