"""The judgements store, round trips on SQLite and PostgreSQL: judgements, can't tell, clearing, conflicts, history,
stale judgements, validation, read-only mode, notes and query lists."""

from __future__ import annotations

import json

import pytest

from retrieval.judgements import CANT_TELL, Conflict, InvalidJudgement, ReadOnly, grade_scale, open_store

from .judgements_fixtures import db_url, tiny_ds  # noqa: F401  (fixtures)


@pytest.fixture
def j(db_url, tiny_ds):  # noqa: F811
    store = open_store(db_url)
    yield store.dataset(tiny_ds, "test")
    store.close()


def test_round_trip_every_field(j, db_url) -> None:  # noqa: F811
    made = j.set("q1", "d4", 1, judge="ann", note="only the abstract", source="app:tab-1")
    assert (made.grade, made.cant_tell, made.note, made.source, made.stale) == (1, False, "only the abstract", "app:tab-1", False)
    assert made.judged_at.tzinfo is not None and made.dataset == "tiny" and made.split == "test"
    assert made.corpus_checksum == j.checksum and len(j.checksum) == 64
    # a new store (a new process, in effect) reads the same row back
    again = open_store(db_url).dataset(j.ds, "test")
    assert again.get("q1", "d4", "ann") == made
    assert again.for_query("q1") == [made]
    assert again.for_query("q2") == []
    assert again.judges() == ["ann"]


def test_grade_scale_from_the_qrels(j) -> None:
    assert j.scale == (0, 1, 2)  # the tiny qrels use 0, 1 and 2
    assert grade_scale([1, 1]) == (0, 1)  # SciFact's test qrels hold only 1s: 0 is on the scale all the same
    assert grade_scale([-2, 0, 3]) == (-2, -1, 0, 1, 2, 3)


def test_cant_tell_is_kept_but_never_a_grade(j) -> None:
    j.set("q1", "d4", CANT_TELL, judge="ann")
    j.set("q1", "d6", "can't tell", judge="bob")
    got = {x.judge: x for x in j.for_query("q1")}
    assert got["ann"].cant_tell and got["ann"].grade is None and got["ann"].label == "can't tell"
    assert got["bob"].value is CANT_TELL
    merged = j.qrels("merged")
    assert merged.cant_tell == 2 and merged.added == 0
    assert len(merged.qrels.frame) == len(j.official.frame)
    assert j.qrels("mine").qrels.frame.empty


def test_clear_keeps_the_history(j) -> None:
    j.set("q2", "d1", 2, judge="ann")
    assert j.clear("q2", "d1", judge="ann") is True
    assert j.get("q2", "d1", "ann") is None
    assert j.clear("q2", "d1", judge="ann") is False  # nothing left to clear
    assert [(e.action, e.label) for e in j.history("q2", "d1")] == [("set", "2"), ("clear", "cleared")]


def test_conflict_names_the_other_value_and_who_set_it(j) -> None:
    seen = j.set("q1", "d5", 1, judge="ann", source="tab-1")
    other = j.set("q1", "d5", 0, judge="ann", expected=seen, source="tab-2")  # another session, same judge
    with pytest.raises(Conflict) as info:
        j.set("q1", "d5", 2, judge="ann", expected=seen, source="tab-1")  # tab 1 still believes it is 1
    message = str(info.value)
    assert "'0'" in message and "ann (tab-2)" in message and "'2'" in message and "kept in the history" in message
    assert info.value.current == other
    assert j.get("q1", "d5", "ann").grade == 0  # not applied
    history = j.history("q1", "d5")
    assert [(e.action, e.label, e.source) for e in history] == [
        ("set", "1", "tab-1"),
        ("set", "0", "tab-2"),
        ("rejected", "2", "tab-1"),
    ]
    assert history[2].seen_revision == seen.revision
    # deliberately overwriting after seeing the conflict works
    assert j.set("q1", "d5", 2, judge="ann", expected=info.value.current).grade == 2


def test_conflict_with_a_clear_and_with_a_new_judgement(j) -> None:
    seen = j.set("q3", "d1", 1, judge="ann")
    j.clear("q3", "d1", judge="ann", expected=seen, source="tab-2")
    with pytest.raises(Conflict, match="cleared by ann \\(tab-2\\)"):
        j.set("q3", "d1", 0, judge="ann", expected=seen)
    j.set("q3", "d2", 1, judge="ann", source="tab-2")
    with pytest.raises(Conflict, match="you saw no judgement"):
        j.set("q3", "d2", 0, judge="ann", expected=None)
    with pytest.raises(Conflict):
        j.clear("q3", "d2", judge="ann", expected=None)
    assert j.get("q3", "d2", "ann").grade == 1


def test_judges_do_not_conflict_with_each_other(j) -> None:
    j.set("q1", "d4", 1, judge="ann", expected=None)
    j.set("q1", "d4", 0, judge="bob", expected=None)
    assert sorted((x.judge, x.grade) for x in j.for_query("q1")) == [("ann", 1), ("bob", 0)]


@pytest.mark.parametrize(
    ("qid", "docid", "value", "judge", "match"),
    [
        ("q1", "d1", 3, "ann", "outside this dataset's scale 0/1/2"),
        ("q1", "d1", -1, "ann", "outside"),
        ("q1", "d1", "maybe", "ann", "not a number"),
        ("q1", "d1", True, "ann", "not a number"),
        ("q9", "d1", 1, "ann", "query 'q9' is not one of tiny test's 4 queries"),
        ("q1", "nope", 1, "ann", "document 'nope' is not in tiny's corpus"),
        ("q1", "d1", 1, "  ", "needs a judge"),
        ("q1", "d1", 1, "x\ny", "printable"),
    ],
)
def test_bad_writes_are_refused_before_the_database(j, qid, docid, value, judge, match) -> None:
    with pytest.raises(InvalidJudgement, match=match):
        j.set(qid, docid, value, judge=judge)
    assert j.frame().empty and j.history(qid) == []


def test_long_notes_are_refused(j) -> None:
    with pytest.raises(InvalidJudgement, match="at most 500"):
        j.set("q1", "d1", 1, judge="ann", note="x" * 501)
    with pytest.raises(InvalidJudgement, match="at most 20,000"):
        j.set_query_note("q1", "x" * 20_001, judge="ann")


def test_stale_judgements_are_flagged_never_applied(j, db_url, tiny_ds) -> None:  # noqa: F811
    j.set("q1", "d4", 1, judge="ann")
    j.set("q2", "d3", 1, judge="ann")
    # the corpus changes (a document's text is edited): a new version of the dataset
    corpus = tiny_ds.path / "corpus.jsonl"
    corpus.write_text(corpus.read_text(encoding="utf-8-sig").replace("Coffee consumption", "Tea consumption"), encoding="utf-8")
    from retrieval.beir import BeirDataset

    changed = BeirDataset(tiny_ds.path, "tiny", cache=tiny_ds.cache)
    j2 = open_store(db_url).dataset(changed, "test")
    assert j2.checksum != j.checksum
    flagged = j2.for_query("q1")
    assert [x.stale for x in flagged] == [True]
    merged = j2.qrels("merged")
    assert merged.stale == 2 and merged.added == 0 and "2 stale" in merged.describe()
    assert j2.qrels("mine").qrels.frame.empty
    # re-judging on the new version replaces it (the history keeps the old one)
    assert j2.set("q1", "d4", 1, judge="ann").stale is False
    assert j2.qrels("merged").added == 1
    # the old version's store sees the new judgement as stale in turn
    assert j.get("q1", "d4", "ann").stale is True


def test_read_only_mode(db_url, tiny_ds, monkeypatch) -> None:  # noqa: F811
    open_store(db_url).dataset(tiny_ds, "test").set("q1", "d4", 1, judge="ann")
    monkeypatch.setenv("RETRIEVAL_READONLY", "1")
    store = open_store(db_url)
    assert store.read_only and "RETRIEVAL_READONLY=1" in store.read_only_reason
    j = store.dataset(tiny_ds, "test")
    assert j.get("q1", "d4", "ann").grade == 1  # reads work
    for write in (
        lambda: j.set("q1", "d4", 0, judge="ann"),
        lambda: j.clear("q1", "d4", judge="ann"),
        lambda: j.set_query_note("q1", "x", judge="ann"),
        lambda: j.create_list("l", ["q1"]),
        lambda: j.delete_list("l"),
    ):
        with pytest.raises(ReadOnly, match="read-only \\(RETRIEVAL_READONLY=1 is set\\)"):
            write()
    assert j.get("q1", "d4", "ann").grade == 1


def test_read_only_without_a_database_reads_nothing(tmp_path, tiny_ds, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("RETRIEVAL_READONLY", "1")
    store = open_store(cache_root=tmp_path / "empty-cache")
    assert store.read_only and "no judgements database" in store.read_only_reason
    assert store.dataset(tiny_ds, "test").for_query("q1") == []
    assert not (tmp_path / "empty-cache").exists()  # nothing created


def test_query_notes(j) -> None:
    assert j.set_query_note("q2", "  spelling of coffee?  ", judge="ann").text == "spelling of coffee?"
    j.set_query_note("q2", "agree", judge="bob")
    j.set_query_note("q4", "sleep", judge="bob")
    assert [(n.judge, n.text) for n in j.query_notes("q2")] == [("ann", "spelling of coffee?"), ("bob", "agree")]
    assert j.query_note("q2", "ann").text == "spelling of coffee?"
    assert j.noted_queries(judge="ann") == ["q2"]
    assert set(j.noted_queries()) == {"q2", "q4"}
    assert j.set_query_note("q2", "", judge="ann") is None  # an empty note removes it
    assert j.query_note("q2", "ann") is None and j.noted_queries(judge="ann") == []


def test_query_lists(j) -> None:
    made = j.create_list("to judge", ["q3", "q1", "q3"], by="ann")
    assert made.qids == ("q3", "q1") and made.created_by == "ann"
    with pytest.raises(InvalidJudgement, match="exists already"):
        j.create_list("to judge", [])
    with pytest.raises(InvalidJudgement, match="not in tiny test \\(q9\\)"):
        j.create_list("bad", ["q9"])
    assert j.append_to_list("to judge", ["q1", "q2"]).qids == ("q3", "q1", "q2")
    j.create_list("empty")
    assert j.lists() == ["empty", "to judge"]
    assert j.read_list("to judge").qids == ("q3", "q1", "q2")
    assert j.delete_list("to judge") is True and j.delete_list("to judge") is False
    with pytest.raises(InvalidJudgement, match="no query list named"):
        j.read_list("to judge")
    assert j.lists() == ["empty"]


def test_summary_counts_per_judge(j) -> None:
    j.set("q1", "d4", 1, judge="ann")
    j.set("q2", "d4", CANT_TELL, judge="ann")
    j.set("q2", "d4", 0, judge="bob")
    table = j.store.summary()
    assert json.loads(table.to_json(orient="records")) == [
        {"dataset": "tiny", "split": "test", "judge": "ann", "judgements": 2, "cant_tell": 1, "queries": 2, "checksums": 1},
        {"dataset": "tiny", "split": "test", "judge": "bob", "judgements": 1, "cant_tell": 0, "queries": 1, "checksums": 1},
    ]


def test_frame_for_the_split(j) -> None:
    j.set("q1", "d4", 1, judge="ann", note="n")
    j.set("q1", "d5", CANT_TELL, judge="bob")
    frame = j.frame().sort_values("judge")
    assert frame["grade"].tolist()[0] == 1 and frame["grade"].isna().tolist() == [False, True]
    assert frame["cant_tell"].tolist() == [False, True] and frame["stale"].tolist() == [False, False]
    assert j.frame(judge="bob")["docid"].tolist() == ["d5"]


def test_kept_reads_see_every_commit(j, db_url, tiny_ds) -> None:  # noqa: F811
    """The app reads the shown query's judgements, notes and list names on every click. On SQLite a read is kept
    until anything commits (this store, another store, another process) and then read again; on PostgreSQL every
    read goes to the server."""
    import subprocess
    import sys

    from sqlalchemy import event

    from .conftest import ROOT

    statements = []
    event.listen(j.db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert j.for_query("q1") == [] and j.lists() == [] and j.query_notes("q1") == []
    j.set("q1", "d4", 2, judge="ann")  # this store writes
    assert [x.grade for x in j.for_query("q1")] == [2] and j.lists() == []
    statements.clear()
    assert [x.grade for x in j.for_query("q1")] == [2] and j.lists() == []
    assert (statements == []) == (j.db.backend == "sqlite"), statements  # kept on SQLite, read again on PostgreSQL

    other = open_store(db_url).dataset(tiny_ds, "test")  # another store (its own connections)
    other.set_query_note("q1", "hm", judge="bob")
    other.create_list("later", ["q1"])
    assert [n.text for n in j.query_notes("q1")] == ["hm"] and j.lists() == ["later"]
    assert j.noted_queries() == ["q1"]

    # another process: one read-then-write round of tests.judgements_worker ("a" writes grade 0)
    cmd = [
        sys.executable,
        "-m",
        "tests.judgements_worker",
        "race",
        db_url,
        str(tiny_ds.path),
        str(tiny_ds.cache.root),
        "a",
        "1",
        "0",
    ]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert json.loads(out.stdout.splitlines()[-1])["outcome"] == "applied", out.stderr
    assert [(x.grade, x.source) for x in j.for_query("q1")] == [(0, "a")]

    mine = j.for_query("q1")
    mine.clear()  # what a read returns is the caller's own
    assert len(j.for_query("q1")) == 1
    other.store.close()
