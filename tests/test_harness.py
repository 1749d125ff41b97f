"""The test harness itself: AppTest's edits of sys.path cannot race with imports in other threads (tests/conftest.py)."""

from __future__ import annotations

import _imp
import sys

from streamlit.runtime.scriptrunner import script_runner

from tests.conftest import LockedScriptSysPath


class _RecordingPath(list):
    """A sys.path that notes, at each edit, whether the import lock is held."""

    def __init__(self, items, seen: list[tuple[str, bool]]):
        super().__init__(items)
        self.seen = seen

    def insert(self, index, item):
        self.seen.append(("insert", _imp.lock_held()))
        super().insert(index, item)

    def remove(self, item):
        self.seen.append(("remove", _imp.lock_held()))
        super().remove(item)


def test_script_runs_edit_sys_path_under_the_import_lock(tmp_path, monkeypatch):
    # What a script run uses is the locked one (ScriptRunner reads the module's global at each run).
    assert script_runner.modified_sys_path is LockedScriptSysPath
    seen: list[tuple[str, bool]] = []
    page = tmp_path / "page.py"
    page.write_text("")
    monkeypatch.setattr(sys, "path", _RecordingPath(sys.path, seen))
    with script_runner.modified_sys_path(str(page)):
        assert sys.path[0] == str(tmp_path)
    assert str(tmp_path) not in sys.path
    assert seen == [("insert", True), ("remove", True)]
