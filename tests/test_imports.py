"""Imported runs that stay (issue 31, item 3): a TREC run file kept as a named system's run, with provenance."""

from __future__ import annotations

import pytest

from retrieval.beir import BeirDataset
from retrieval.errors import DataFormatError
from retrieval.evaluate import evaluate
from retrieval.imports import ImportConflict, available_run, find, import_run, list_imports
from retrieval.run import Run
from retrieval.systems import parse_system

RUN = "q1 Q0 d3 1 3.0 cluster\nq1 Q0 d1 2 2.0 cluster\nq2 Q0 d6 1 5.0 cluster\nq2 Q0 nope 2 1.0 cluster\n"


def test_import_keeps_the_file_as_the_systems_run_with_its_provenance(tiny_dir, cache):
    ds = BeirDataset(tiny_dir, "tiny")
    result = import_run(ds, "test", "monot5:3b", RUN.encode(), "cluster.trec", who="ann", note="on our cluster", cache=cache)
    assert result.status == "imported" and result.unknown["documents"] == (1, ["nope"])
    assert result.provenance.file == "cluster.trec" and result.provenance.who == "ann" and len(result.provenance.sha256) == 64
    run, provenance = find(cache, ds, "test", "monot5:3b")
    assert provenance == result.provenance and "on our cluster" in run.metadata["imported"]
    direct = Run.parse_trec(RUN, name="x")
    assert run.frame.equals(direct.frame)  # the same ranking, by the one tie rule
    assert evaluate(run, ds.qrels("test")).mean == evaluate(direct, ds.qrels("test")).mean
    # the system's weights are not here: the imported run is what there is to show
    assert available_run(cache, ds, "test", parse_system("monot5:3b")).frame.equals(run.frame)
    assert list_imports(cache)[["dataset", "split", "system", "file", "who"]].values.tolist() == [
        ["tiny", "test", "monot5:3b", "cluster.trec", "ann"]
    ]


def test_the_same_file_again_is_a_no_op_and_another_asks_before_replacing(tiny_dir, cache):
    ds = BeirDataset(tiny_dir, "tiny")
    first = import_run(ds, "test", "monot5:3b", RUN.encode(), "a.trec", cache=cache)
    again = import_run(ds, "test", "monot5:3b?depth=100", RUN.encode(), "a-copy.trec", cache=cache)  # same spec, canonical
    assert again.status == "unchanged" and again.provenance == first.provenance
    other = RUN.replace("5.0", "0.5").encode()
    with pytest.raises(ImportConflict, match="already has an imported run") as err:
        import_run(ds, "test", "monot5:3b", other, "b.trec", cache=cache)
    assert err.value.current.file == "a.trec"
    assert find(cache, ds, "test", "monot5:3b")[1].file == "a.trec"  # nothing replaced
    replaced = import_run(ds, "test", "monot5:3b", other, "b.trec", cache=cache, replace=True)
    assert replaced.status == "replaced" and find(cache, ds, "test", "monot5:3b")[1].file == "b.trec"


def test_a_bad_line_names_file_and_line_and_keeps_nothing(tiny_dir, cache):
    ds = BeirDataset(tiny_dir, "tiny")
    with pytest.raises(DataFormatError) as err:
        import_run(ds, "test", "monot5:3b", (RUN + "q3 Q0 d1 1\n").encode(), "bad.trec", cache=cache)
    assert err.value.line == 5 and "bad.trec" in str(err.value)
    with pytest.raises(DataFormatError) as err:
        import_run(ds, "test", "monot5:3b", RUN.encode() + b"q3 Q0 \xff 1 1.0 x\n", "latin.trec", cache=cache)
    assert err.value.line == 5 and "not UTF-8" in str(err.value)
    assert find(cache, ds, "test", "monot5:3b") is None and list_imports(cache).empty


def test_the_command_line_imports_and_says_what_it_did(tiny_dir, tmp_path, capsys):
    from retrieval.cli import main

    path = tmp_path / "run.trec"
    path.write_text(RUN, encoding="utf-8")
    args = ["import-run", str(path), "--dataset", "tiny", "--data-dir", str(tiny_dir.parent), "--cache-dir", str(tmp_path / "c")]
    assert main([*args, "--as", "monot5:3b", "--who", "ann", "--note", "cluster"]) == 0
    out = capsys.readouterr()
    assert "monot5:3b on tiny (test): imported" in out.out and "nDCG@10" in out.out and "1 documents not in tiny" in out.err
    assert main([*args, "--as", "monot5:3b"]) == 0 and "nothing changed" in capsys.readouterr().out
    path.write_text(RUN.replace("3.0", "0.3"), encoding="utf-8")
    assert main([*args, "--as", "monot5:3b"]) == 2 and "already has an imported run" in capsys.readouterr().err
    assert main([*args, "--as", "monot5:3b", "--replace"]) == 0 and "replaced" in capsys.readouterr().out
    assert main(["runs", "--cache-dir", str(tmp_path / "c")]) == 0 and "imported runs:" in capsys.readouterr().out


def test_compare_shows_an_imported_run_where_the_weights_are_missing(tiny_dir, tmp_path):
    import os

    from streamlit.testing.v1 import AppTest

    from .conftest import ROOT, compact_columns, env_restored

    env = {"BEIR_DATA_DIR": str(tiny_dir.parent), "RETRIEVAL_CACHE_DIR": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    with env_restored(env):
        os.environ.update(env)
        from retrieval.cache import Cache

        import_run(
            BeirDataset(tiny_dir, "tiny"),
            "test",
            "monot5:3b",
            RUN.encode(),
            "cluster.trec",
            who="ann",
            cache=Cache(env["RETRIEVAL_CACHE_DIR"]),
        )
        at = AppTest.from_file(str(ROOT / "pages" / "compare.py"), default_timeout=120)
        at.query_params.update({"dataset": "tiny", "split": "test", "qid": "q1", "systems": "bm25-flat,monot5:3b"})
        at.run()
        assert not at.exception
        cols = compact_columns(at)
        assert len(cols) == 2 and "imported from cluster.trec" in cols[1] and 'data-docid="d3"' in cols[1]
