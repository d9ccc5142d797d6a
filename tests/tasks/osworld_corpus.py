"""The OSWorld corpus (tests/data/osworld): what each real task file needs, and whether it
runs in our sandbox. ``table()`` is the README's table; the tests check the README holds it
and, in the sandbox, that each row's claim is what happens.

    .venv/bin/python -m tests.tasks.osworld_corpus   # prints the table for the README
"""

from __future__ import annotations

from pathlib import Path

from qvl_agent.tasks.declarative import suite_from_path
from tests.conftest import DATA

CORPUS = DATA / "osworld"
META = CORPUS / "test_corpus.json"
OS_META = CORPUS / "test_os.json"
RETIRED = CORPUS / "retired"
TABLE_START = "<!-- osworld-table: start (tests/tasks/osworld_corpus.py) -->"
TABLE_END = "<!-- osworld-table: end -->"

# compare_table's rules this package implements (tasks.desktop.metrics).
TABLE_RULES = {"sheet_data", "check_cell"}

# What only running a task in the sandbox shows (the sandbox tests check each).
FOUND_HERE = {
    "b6781586-6346-41cd-935a-a6b1487918fc": ("no", "its getter runs `timedatectl`: no systemd "
                                             "in the sandbox (an instance error that says so)"),
    "94d95f96-9699-4208-98ba-3c3119edf9c2": ("runs", "Spotify cannot be installed: no network "
                                             "in the sandbox"),
    "5812b315-e7bd-4265-b51f-863c02174c28": ("no", "adds a system user (`/etc/passwd` is "
                                             "read-only here) and apt-installs `expect`"),
}
# Tasks whose downloads the sandbox tests replace with stand-in images (their content is not
# what the task is about: it copies or restores files by name).
STAND_INS = {"23393935-50c7-4a86-aeea-2b78fd089c5c", "5ea617a3-0e86-4ba6-aab2-dac9aa2e8d57"}


def downloads(spec) -> list[str]:
    """The file names a task downloads (setup or postconfig) or reads with cloud_file."""
    names = []
    for step in [*spec.config, *spec.evaluator.postconfig]:
        if step.type == "download":
            names += [Path(f.get("path", "")).name for f in step.parameters.get("files", [])]
    fields = (spec.evaluator.result, spec.evaluator.expected)
    for getter in [g for field in fields for g in (field if isinstance(field, list) else [field])]:
        if getter is not None and getter.type == "cloud_file":
            dest = getter.arguments.get("dest")
            names += dest if isinstance(dest, list) else [str(dest)]
    return names


def table_rules_missing(spec) -> list[str]:
    options = spec.evaluator.options
    found = []
    for i, func in enumerate(spec.evaluator.funcs):
        if func != "compare_table":
            continue
        chosen = options[i] if isinstance(options, list) else options
        for rule in (chosen or {}).get("rules", []):
            if rule.get("type") not in TABLE_RULES:
                found.append(f"compare_table rule {rule.get('type')}")
    return list(dict.fromkeys(found))


def rows() -> list[tuple[str, str, str, str, str]]:
    """(domain, task id, runs here, why, oracle) for every task of the corpus."""
    tasks = [*suite_from_path(META).tasks, *suite_from_path(RETIRED).tasks]
    out = []
    for task in tasks:
        spec = task.spec
        domain = task.family if task.family != "declarative" else "os (retired)"
        files = downloads(spec)
        missing = [*spec.missing, *table_rules_missing(spec)]
        why = []
        if missing:
            why.append("not implemented: " + ", ".join(missing))
        if files:
            shown = ", ".join(f"`{n}`" for n in files[:3]) + (f" +{len(files) - 3}" if len(files) > 3 else "")
            why.append(f"OSWorld's files: {shown}")
        status, note = FOUND_HERE.get(spec.id, (None, None))
        if note:
            why.append(note)
        if missing or status == "no":
            runs = "no"
        elif files:
            runs = "yes, with its files (the tests use stand-ins)" if spec.id in STAND_INS else \
                "needs its files (untested here)"
        else:
            runs = "yes"
        if spec.infeasible and not missing:
            why.insert(0, "infeasible")
        out.append((domain, spec.id, runs, "; ".join(why) or "-",
                    "yes" if task.has_oracle() else "-"))
    return sorted(out, key=lambda row: (row[0], row[1]))


def table() -> str:
    lines = ["| domain | task | setup and getters run here | what it needs | our oracle |",
             "| --- | --- | --- | --- | --- |"]
    for domain, task_id, runs, why, oracle in rows():
        lines.append(f"| {domain} | `{task_id[:8]}` | {runs} | {why} | {oracle} |")
    return "\n".join([TABLE_START, *lines, TABLE_END])


if __name__ == "__main__":
    print(table())
