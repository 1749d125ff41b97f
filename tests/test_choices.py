"""view.choices: what the app offers, what it shows first, uploads as Runs (no Streamlit)."""

from __future__ import annotations

import pandas as pd
import pytest

from retrieval.errors import DataFormatError
from retrieval.neural import registry
from view import choices


def test_uploads_are_runs_named_after_their_file_under_one_key():
    run = choices.read_upload("mine.trec", b"\xef\xbb\xbfq1 Q0 d1 1 4.0 t\nq1 Q0 d4 2 4.0 t\nq1 Q0 d3 3 5.0 t\n")
    assert run.name == "mine"
    assert run.for_query("q1")["docid"].tolist() == ["d3", "d4", "d1"]  # the tie rule, not the file's ranks
    ups = choices.Uploads()
    key = ups.add(run)
    assert key == choices.upload_key("mine") and ups[key] is run and list(ups) == [key] and len(ups) == 1
    assert choices.uploaded_name(key) == "mine"
    assert choices.uploaded_name("bm25-flat") is None and choices.uploaded_name("dense:all-MiniLM-L6-v2") is None
    again = choices.read_upload("mine.txt", b"q2 Q0 d9 1 1.0 t\n")
    assert ups.add(again) == key and ups[key] is again  # same name: replaced


@pytest.mark.parametrize(
    ("data", "line", "column", "says"),
    [
        (b"q1 Q0 d1 1 2.5 t\nq1 Q0 d3 2 oops t\n", 2, 12, "not a number"),
        (b"q1 Q0 d1 1 2.5 t\n\xff\xfe q1", 2, 1, "not UTF-8 text (invalid start byte: byte ff at file offset 17)"),
        (b"\n\n", None, None, "no results"),
    ],
)
def test_bad_uploads_name_the_file_line_and_column(data, line, column, says):
    with pytest.raises(DataFormatError) as err:
        choices.read_upload("broken.trec", data)
    assert (err.value.path, err.value.line, err.value.column) == ("broken.trec", line, column) and says in err.value.reason


def test_system_options_come_from_the_typed_registry_cached_runs_and_uploads():
    cached = pd.DataFrame({"dataset": ["tiny", "other", "tiny"], "system": ["bm25-flat", "dense:x", "monot5:base?depth=50"]})
    got = choices.system_options(cached, "tiny", ["upload:mine"])
    specs = [m.spec for m in registry.models()]
    assert got[:2] == ["bm25-flat", "bm25-multifield"] and got[2 : 2 + len(specs)] == specs
    assert got[2 + len(specs) :] == ["monot5:base?depth=50", "upload:mine"]
    assert len(got) == len(set(got)) and "dense:x" not in got
    assert "dense:x" in choices.system_options(cached)  # every dataset
    assert choices.system_options(None) == ["bm25-flat", "bm25-multifield", *specs]


def test_params_come_from_the_registry():
    for m in registry.models():
        assert registry.params_for_spec(m.spec) == (m.params_millions or None)
    minilm = registry.registry()["dense:all-MiniLM-L6-v2"]
    assert registry.params_for_spec("dense:" + minilm.hf_id) == minilm.params_millions
    assert registry.params_for_spec("bm25-flat") is None and registry.params_for_spec("dense:nope") is None


def test_default_systems_pick_bm25_the_best_measured_dense_else_the_largest_and_a_monot5():
    from types import SimpleNamespace

    from retrieval.systems import parse_system

    bm25 = parse_system("bm25-flat")
    base, large = parse_system("monot5:base"), parse_system("monot5:large")
    ce = parse_system("ce:ms-marco-MiniLM-L-6-v2")

    def dense(params):  # what default_systems asks of a system: inputs, parameters, first stage
        return SimpleNamespace(inputs=(), parameters=params, first_stage=None)

    systems = {"bm25-flat": bm25, "dense:small": dense(20.0), "dense:big": dense(110.0), "dense:gone": None}
    systems.update({"ce:ms-marco-MiniLM-L-6-v2": ce, "monot5:base": None, "monot5:large": large, "upload:x": None})
    options = list(systems)
    assert choices.default_systems(options, systems.get, lambda s: None) == ["bm25-flat", "dense:big", "monot5:large"]
    measured = {"dense:small": 0.6, "dense:big": 0.5}
    assert choices.default_systems(options, systems.get, measured.get)[1] == "dense:small"
    assert choices.default_systems(["bm25-flat"], {"bm25-flat": bm25}.get, lambda s: None) == ["bm25-flat"]
    systems["monot5:base"] = base  # the first monoT5 in the options' order, the cross-encoder never
    assert choices.default_systems(options, systems.get, lambda s: None)[2] == "monot5:base"


def test_resolve_systems_offers_unknown_specs_but_not_uploads_of_another_session():
    chosen, options, gone = choices.resolve_systems(
        ["bm25-flat", "upload:old", "monot5:9b", "a", "b"], ["bm25-flat", "a", "b"], limit=4
    )
    assert gone == ["old"]
    assert options == ["bm25-flat", "a", "b", "monot5:9b"]
    assert chosen == ["bm25-flat", "monot5:9b", "a", "b"]
    assert choices.resolve_systems(["upload:here"], ["upload:here"], 4) == (["upload:here"], ["upload:here"], [])


def test_resolve_query_falls_back_and_offers_unjudged_queries_first():
    queries = {"q1": "a", "q2": "b", "q9": "c"}
    assert choices.resolve_query(None, queries, ["q1", "q2"]) == ("q1", ["q1", "q2"], None)
    assert choices.resolve_query("", queries, ["q1", "q2"]) == ("q1", ["q1", "q2"], None)
    assert choices.resolve_query("q2", queries, ["q1", "q2"]) == ("q2", ["q1", "q2"], None)
    assert choices.resolve_query("nope", queries, ["q1", "q2"]) == ("q1", ["q1", "q2"], "unknown")
    assert choices.resolve_query("q9", queries, ["q1", "q2"]) == ("q9", ["q9", "q1", "q2"], "unjudged")


def test_with_runs_tops_up_to_two():
    assert choices.with_runs(["c", "x"], ["a", "b", "c"]) == ["c", "a"]
    assert choices.with_runs(["c", "b", "a"], ["a", "b", "c"]) == ["c", "b", "a"]
    assert choices.with_runs([], ["a"]) == ["a"]
