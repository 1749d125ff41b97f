"""pages/_table.py: what the Failure page's tables send to the browser (the drawing and clicking are in
tests/test_browser.py)."""

from __future__ import annotations

import math

import pandas as pd

from pages import _table


def test_table_data_formats_numbers_keeps_raw_values_and_marks_the_pick_column():
    frame = pd.DataFrame({"qid": ["3", "10"], "B − A": [0.25, math.nan], "relevant": [2, 0], "query": ['<b>x</b> "y", z', "w"]})
    data = _table.table_data(
        frame, "w_t", {"B − A": _table.Column("diff", "%+.3f", help="B minus A"), "query": _table.Column(wide=True)}, pick="qid"
    )
    assert [c["label"] for c in data["cols"]] == ["qid", "diff", "relevant", "query"]
    assert [(c["num"], c["wide"]) for c in data["cols"]] == [(False, False), (True, False), (True, False), (False, True)]
    assert data["cols"][1]["help"] == "B minus A"
    assert data["cells"] == [["3", "+0.250", "2", '<b>x</b> "y", z'], ["10", "—", "0", "w"]]  # text; the page sets textContent
    assert data["raw"] == [["3", 0.25, 2, '<b>x</b> "y", z'], ["10", None, 0, "w"]]  # NaN is empty, not a number
    assert data["pick"] == 0 and data["file"] == "w_t.csv" and data["note"] == "2 rows"
    assert _table.table_data(frame, "w_t")["pick"] == -1


def test_table_data_draws_at_most_max_rows_and_its_signature_follows_the_content(monkeypatch):
    monkeypatch.setattr(_table, "MAX_ROWS", 3)
    frame = pd.DataFrame({"qid": [str(i) for i in range(5)], "x": range(5)})
    data = _table.table_data(frame, "w_t", pick="qid")
    assert data["shown"] == 3 and data["note"] == "5 rows, the first 3 in this order shown (sort for others; CSV has all)"
    assert [r[1] for r in data["raw"]] == [0, 1, 2, 3, 4] and len(data["cells"]) == 5  # sorting and the CSV see them all
    assert _table.table_data(frame, "w_t", pick="qid")["sig"] == data["sig"]
    assert _table.table_data(frame.assign(x=[0, 1, 5, 3, 4]), "w_t", pick="qid")["sig"] != data["sig"]  # a shown value
    # an empty table's text column stays text (pandas makes it float64)
    empty = pd.DataFrame({"qid": pd.Series([], dtype=object), "query": []})
    assert _table.table_data(empty, "w_e", {"query": _table.Column(wide=True)})["cols"][1]["num"] is False


def test_rows_link_to_compare_with_the_views_parameters_and_the_id_last():
    from pages import _nav

    view = {"k": 100, "view": "cards"}
    link = _nav.compare_link(view, "nf corpus", "test", ["bm25-flat", "dense:my model"])
    assert link == ("./?dataset=nf%20corpus&split=test&systems=bm25-flat,dense%3Amy%20model&mode=judged&k=100&view=cards&qid=")
    assert _nav.link("pages/failures.py", {"dataset": "scifact", "split": ""}) == "failures?dataset=scifact"  # empty: left out
    data = _table.table_data(pd.DataFrame({"qid": ["a&b"], "x": [1]}), "w_t", pick="qid", link=link)
    assert data["link"] == link and data["pick"] == 0  # the page appends the id URL-encoded (a&b -> a%26b)
    assert _table.table_data(pd.DataFrame({"qid": ["a"]}), "w_t")["link"] == ""
