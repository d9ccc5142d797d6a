"""The phone's sh: quoting, lists, $?, pipes, redirections and failures, as mksh does them."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qvl_agent.envs.sim.cmdline import ShellSyntaxError, parse



def words(line: str) -> list[str]:
    (pipeline,) = parse(line)
    (command,) = pipeline.commands
    return [word.expand(lambda name: "") or "" for word in command.words]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=12),
                min_size=1, max_size=5))
def test_words_quoted_by_shlex_come_back_unchanged(argv):
    assert words(shlex.join(argv)) == argv


@pytest.mark.parametrize("line", ["a;;b", "; a", "a &&", "a |", "echo 'open", "echo $(id)",
                                  "(a)", "echo `id`"])
def test_malformed_lines_are_syntax_errors(line):
    with pytest.raises(ShellSyntaxError):
        parse(line)


def run(phone, line):
    result = phone.shell(line)
    return result.exit_code, result.stdout.decode(), result.stderr.decode()


def test_an_unknown_command_is_not_found_with_127(phone):
    assert run(phone, "frobnicate --now") == (
        127, "", "/system/bin/sh: frobnicate: inaccessible or not found\n")


def test_lists_and_exit_status(phone):
    assert run(phone, "false; echo $?") == (0, "1\n", "")
    assert run(phone, "true && echo yes || echo no") == (0, "yes\n", "")
    assert run(phone, "false && echo yes || echo no") == (0, "no\n", "")
    assert run(phone, "nope || echo \"status $?\"") == (
        0, "status 127\n", "/system/bin/sh: nope: inaccessible or not found\n")
    assert run(phone, "exit 3; echo unreachable") == (3, "", "")
    assert run(phone, "echo '$?' \\; done") == (0, "$? ; done\n", "")


def test_both_streams_keep_their_order_for_exec_and_v1(phone):
    """What adbutils' v1 marker relies on: one socket, everything in the order written."""
    result = phone.shell("input tap x 1; echo X4EXIT:$?")
    assert result.exit_code == 0 and result.stdout == b"X4EXIT:255\n"
    assert result.stderr.startswith(b"\nException occurred while executing 'tap':")
    assert result.merged == result.stderr + result.stdout


def test_pipes_and_redirections(phone):
    assert run(phone, "dumpsys window windows | grep -c mCurrentFocus") == (0, "1\n", "")
    assert run(phone, "getprop | grep -E 'version\\.(sdk|release)' | head -n 1") == (
        0, "[ro.build.version.release]: [14]\n", "")
    assert run(phone, "nope 2>/dev/null; echo $?") == (0, "127\n", "")
    assert run(phone, "nope 2>&1 | wc -l") == (0, "1\n", "")
    assert run(phone, "echo saved > /sdcard/a.txt; echo more >> /sdcard/a.txt; cat /sdcard/a.txt") \
        == (0, "saved\nmore\n", "")
    assert run(phone, "cat /sdcard/missing.txt")[0] == 1
    assert run(phone, "echo x > /system/x")[2] == (
        "/system/bin/sh: can't create /system/x: Read-only file system\n")


def test_files_written_by_tools_can_be_read_and_removed(phone):
    assert run(phone, "rm -f /data/local/tmp/u.xml; uiautomator dump /data/local/tmp/u.xml "
                      "&& echo success") == (
        0, "UI hierchary dumped to: /data/local/tmp/u.xml\nsuccess\n", "")
    assert run(phone, "cat /data/local/tmp/u.xml")[1].startswith("<?xml version='1.0'")
    assert run(phone, "rm /data/local/tmp/u.xml; rm /data/local/tmp/u.xml") == (
        1, "", "rm: /data/local/tmp/u.xml: No such file or directory\n")


def test_the_small_commands(phone):
    assert run(phone, "whoami")[1] == "shell\n"
    assert run(phone, "id")[1].startswith("uid=2000(shell) gid=2000(shell)")
    assert run(phone, "sleep 0.01; echo -n done") == (0, "done", "")
    assert run(phone, "echo $HOME $EXTERNAL_STORAGE $UNSET.") == (0, "/ /sdcard .\n", "")
    assert run(phone, "/system/bin/getprop ro.build.version.sdk") == (0, "34\n", "")
    assert run(phone, "which input monkey")[1] == "/system/bin/input\n/system/bin/monkey\n"


_PIECES = [" ", ";", "|", "&&", "||", ">", "2>&1", "'", '"', "$?", "\\", "#", "\n", "-n", "-p",
           "1", "1.5", "x", "%s", "é", "/sdcard/f", "--uri", "content://com.qvl.notes/notes",
           "--bind", "title:s:t", "--es", "msg", "tap", "swipe", "text", "keyevent", "list",
           "get", "global", "dump", "/dev/tty", "com.qvl.notes"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(sorted(set(_PIECES) | {"input", "am", "pm", "cmd", "content",
                                                        "settings", "ime", "dumpsys", "monkey",
                                                        "uiautomator", "grep", "head", "rm"})),
                max_size=12))
def test_no_command_line_breaks_the_shell(pieces):
    from qvl_agent.envs.sim import Phone

    result = Phone().shell("".join(pieces))
    assert 0 <= result.exit_code <= 255
    assert b"internal error" not in result.stderr and b"Traceback" not in result.stderr


def test_concurrent_commands_keep_the_phone_consistent(phone):
    import threading

    errors: list[str] = []

    def work(number: int) -> None:
        for _ in range(20):
            for line in (f"content insert --uri content://com.qvl.notes/notes --bind "
                         f"title:s:n{number}", "monkey -p com.qvl.notes 1",
                         "uiautomator dump /dev/tty", "input keyevent BACK"):
                result = phone.shell(line)
                if result.exit_code != 0:
                    errors.append(result.stderr.decode())

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert run(phone, "content query --uri content://com.qvl.notes/notes --projection _id "
                      "| wc -l") == (0, "120\n", "")
