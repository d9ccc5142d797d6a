"""OSWorld's compare_table on files an agent may leave behind."""

import pytest

from qvl_agent.envs.errors import TaskError
from qvl_agent.tasks.desktop.metrics import compare_table


def test_a_result_that_is_not_a_readable_spreadsheet_scores_zero(tmp_path):
    broken = tmp_path / "result.xlsx"
    broken.write_text("the agent saved text under a spreadsheet's name")
    assert compare_table(str(broken), rules=[{"type": "check_cell", "sheet_idx": 0,
                                              "coordinate": "A1", "props": {"value": 1}}]) == 0.0


def test_a_format_compare_table_does_not_read_is_the_task_files_error(tmp_path):
    other = tmp_path / "result.txt"
    other.write_text("1")
    with pytest.raises(TaskError, match=r"\.xlsx and \.ods"):
        compare_table(str(other))
