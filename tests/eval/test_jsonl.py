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


def test_blank_damaged_and_repeated_lines_in_the_middle_lose_nothing_after_them(tmp_path):
    path = tmp_path / "r.jsonl"
    lines = [json.dumps(row(0)), "", json.dumps(row(1)), '{"id": "s2", "answ', json.dumps(row(1)),
             "not json", json.dumps(row(3))]
    path.write_text("\n".join(lines) + "\n")
    s = store(path)
    assert s.rows == {"s0": row(0), "s1": row(1), "s3": row(3)} and s.dropped == 3
    s.close()
    assert path.read_text() == "".join(json.dumps(row(i)) + "\n" for i in (0, 1, 3))


def test_a_whole_last_line_without_its_newline_gets_one_before_the_next_row(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(row(0)) + "\n" + json.dumps(row(1)))  # no newline at the end
    s = store(path)
    assert s.dropped == 0 and set(s.rows) == {"s0", "s1"}
    s.add(row(2))
    assert s.rows["s2"] == row(2)
    s.close()
    assert path.read_text().splitlines() == [json.dumps(row(i)) for i in range(3)]


def test_drop_takes_rows_out_for_good_and_they_can_be_added_again(tmp_path):
    path = tmp_path / "r.jsonl"
    s = store(path)
    for i in range(3):
        s.add(row(i))
    before = path.read_bytes()
    s.drop({"s9"})  # nothing of it here: the file is left as it is
    assert path.read_bytes() == before and len(s) == 3
    s.drop({"s1"})
    assert set(s.rows) == {"s0", "s2"} and "s1" not in s
    s.add(row(1, "again"))
    s.close()
    again = store(path)
    assert again.rows == {"s0": row(0), "s2": row(2), "s1": row(1, "again")} and again.dropped == 0
    again.close()


def test_each_row_is_on_disk_before_add_returns(tmp_path, monkeypatch):
    import os

    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real(fd))
    s = store(tmp_path / "r.jsonl")
    s.add(row(0))
    assert len(synced) == 1
    s.add(row(1))
    assert len(synced) == 2
    s.close()


def test_a_full_disk_while_repairing_names_the_file_and_leaves_it_whole(tmp_path, monkeypatch):
    import errno
    import os

    from qvl_agent.envs.errors import QvlError

    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(row(0)) + "\n" + '{"id": "s1", "a')
    before = path.read_bytes()

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(QvlError, match=rf"no space left for {path}: it needs \d+ bytes"):
        store(path)
    assert path.read_bytes() == before  # what it held before
    assert [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]  # no temporary file left
