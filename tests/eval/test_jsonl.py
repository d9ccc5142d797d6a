"""The one resumable JSONL store of eval and bench: append, read back, repair what a kill cut."""

import json
import threading

import pytest

from qvl_agent.eval.bench.runner import BenchResults
from qvl_agent.eval.jsonl import JsonlStore


def store(path):
    return JsonlStore(path, key=lambda row: row["id"], load=json.loads,
                      dump=lambda row: json.dumps(row, ensure_ascii=False))


def row(i, text="ok"):
    return {"id": f"s{i}", "answer": text}


def test_a_resume_after_a_kill_mid_write_ends_with_every_row_once(tmp_path):
    path = tmp_path / "results.jsonl"
    planned = [f"s{i}" for i in range(10)]
    first = store(path)
    for i in range(6):
        first.add(row(i))
    first.close()
    with open(path, "a", encoding="utf-8") as file:
        file.write(json.dumps(row(6))[:17])  # killed in the middle of the seventh

    again = store(path)
    assert sorted(again.rows) == planned[:6] and again.dropped == 1
    assert path.read_bytes().endswith(b"\n")  # repaired before the next row is appended
    for key in planned:
        if key not in again:
            again.add(row(int(key[1:])))
    again.close()

    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""
    assert sorted(json.loads(line)["id"] for line in lines[:-1]) == planned
    assert sorted(store(path).rows) == planned


def test_a_cut_inside_a_multibyte_character_loses_only_that_line(tmp_path):
    path = tmp_path / "results.jsonl"
    with store(path) as rows:
        rows.add(row(0, "grüß"))
    whole = json.dumps(row(1, "日本語の答え"), ensure_ascii=False).encode("utf-8")
    cut = whole[:whole.index("本".encode()) + 1]  # one byte into a three-byte character
    with open(path, "ab") as file:
        file.write(cut)
    again = store(path)
    assert again.rows == {"s0": row(0, "grüß")} and again.dropped == 1
    again.close()


def test_a_row_may_hold_any_character(tmp_path):
    path = tmp_path / "results.jsonl"
    odd = "line\u2028separator\x1cfile sep\x85next line"  # str.splitlines would split these
    with store(path) as rows:
        rows.add(row(0, odd))
        rows.add(row(1))
    again = store(path)
    assert again.rows["s0"]["answer"] == odd and again.dropped == 0
    again.close()


def test_a_repeated_row_is_kept_once_and_adding_it_again_is_refused(tmp_path):
    path = tmp_path / "results.jsonl"
    line = json.dumps(row(0))
    path.write_text(f"{line}\n{json.dumps(row(1))}\n{line}\n", encoding="utf-8")
    again = store(path)
    assert sorted(again.rows) == ["s0", "s1"] and again.dropped == 1
    assert path.read_text(encoding="utf-8").count("\n") == 2
    with pytest.raises(ValueError, match="s1 already has a result"):
        again.add(row(1))
    again.close()


def test_rows_added_from_many_threads_are_whole_lines(tmp_path):
    path = tmp_path / "results.jsonl"
    results = BenchResults(path)  # bench's samples finish on worker threads
    threads = [threading.Thread(target=lambda t=t: [results.add(row(t * 100 + i, "x" * 2000))
                                                     for i in range(40)]) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.close()
    again = BenchResults(path)
    assert len(again.rows) == 320 and again.dropped == 0
    again.close()
