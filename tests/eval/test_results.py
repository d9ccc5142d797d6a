from qvl_agent.eval.config import InstanceResult
from qvl_agent.eval.results import ResultsFile


def result(i):
    return InstanceResult(instance=f"t#{i}", task="t", family="f", seed=i, outcome="success",
                          score=1.0, status="success", finished_at="now")


def test_results_are_appended_and_read_back(tmp_path):
    path = tmp_path / "results.jsonl"
    file = ResultsFile(path)
    file.add(result(0))
    file.add(result(1))
    file.close()
    again = ResultsFile(path)
    assert set(again.rows) == {"t#0", "t#1"} and "t#1" in again
    again.close()


def test_a_line_cut_by_a_kill_is_dropped_so_the_instance_runs_again(tmp_path):
    path = tmp_path / "results.jsonl"
    file = ResultsFile(path)
    file.add(result(0))
    file.close()
    with open(path, "a") as f:
        f.write(result(1).model_dump_json()[:40])  # killed mid-write, no newline
    again = ResultsFile(path)
    assert set(again.rows) == {"t#0"}
    again.add(result(1))
    again.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(line.startswith("{") and line.endswith("}") for line in lines)
