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
    assert set(again.rows) == {"t#0"} and again.dropped == 1
    again.add(result(1))  # the resume runs it again
    again.add(result(2))
    again.close()
    # Every line is one whole result, each instance once, in the order they finished...
    lines = path.read_text().split("\n")
    assert lines[-1] == ""
    assert [InstanceResult.model_validate_json(line) for line in lines[:-1]] == \
        [result(0), result(1), result(2)]
    # ...and the next resume reads all three back and drops nothing.
    third = ResultsFile(path)
    assert third.rows == {f"t#{i}": result(i) for i in range(3)} and third.dropped == 0
    third.close()


def test_a_cut_line_in_the_middle_loses_only_its_instance(tmp_path):
    path = tmp_path / "results.jsonl"
    whole = [result(i).model_dump_json() for i in range(3)]
    path.write_text(whole[0] + "\n" + whole[1][:30] + "\n" + whole[2] + "\n")
    again = ResultsFile(path)
    assert again.rows == {"t#0": result(0), "t#2": result(2)} and again.dropped == 1
    again.close()
    assert path.read_text() == whole[0] + "\n" + whole[2] + "\n"  # rewritten without it
