"""An engine error stays in its column as one line: the other columns are drawn, no traceback reaches the page."""

from __future__ import annotations

import pytest

from .conftest import compact_columns


def test_one_failing_column_says_so_in_one_line_and_the_others_draw(tiny_app_env, monkeypatch):
    import os

    from streamlit.testing.v1 import AppTest

    from pages import _cached

    from .conftest import ROOT, env_restored

    real = _cached.evaluation

    def broken(ds_name, split, spec):
        if spec == "bm25-multifield":
            raise RuntimeError("the evaluator fell over\nat line 2 of a traceback nobody should see")
        return real(ds_name, split, spec)

    with env_restored(tiny_app_env):
        os.environ.update(tiny_app_env)
        monkeypatch.setattr(_cached, "evaluation", broken)
        at = AppTest.from_file(str(ROOT / "pages" / "compare.py"), default_timeout=120)
        at.query_params.update({"dataset": "tiny", "split": "test", "qid": "q1", "systems": "bm25-flat,bm25-multifield"})
        at.run()
    assert not at.exception
    errors = [e.value for e in at.main.error]
    assert len(errors) == 1 and "BM25 (multifield) failed here (RuntimeError: the evaluator fell over)" in errors[0].replace(
        "\\", ""
    )
    assert "traceback" not in errors[0]
    assert len(compact_columns(at)) == 1  # the other column is there


@pytest.mark.parametrize("words", [1500])
def test_a_very_long_typed_query_gives_rankings_not_a_traceback(tiny_app_env, words):
    """Lucene refuses more than 1,024 clauses by default; a pasted page of text must still rank (issue 29)."""
    import os

    from streamlit.testing.v1 import AppTest

    from .conftest import ROOT, env_restored, pick_choice

    text = " ".join(f"word{i} vitamin" for i in range(words))  # ~1,500 distinct words, ~18 KB
    with env_restored(tiny_app_env):
        os.environ.update(tiny_app_env)
        at = AppTest.from_file(str(ROOT / "pages" / "compare.py"), default_timeout=120)
        at.query_params.update({"dataset": "tiny", "split": "test", "systems": "bm25-flat,bm25-multifield"})
        at.run()
        pick_choice(at, "w_mode", "free")
        at.text_input(key="w_live").set_value(text).run()
    assert not at.exception
    assert not [e.value for e in at.main.error]
    assert len(compact_columns(at)) == 2 and all('data-docid="d1"' in c for c in compact_columns(at))
