"""Model size, Failure cases, Data & runs and the navigation, headless (AppTest).

Tiny fixture and real SciFact; expectations come from the core and the reference data.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from retrieval import beir, failures, published, stats
from retrieval.evaluate import evaluate

from .conftest import env_restored, needs_scifact, open_link, page_tables, query_picker, sidebar_select
from .test_app_compare import REAL_BEIR, app, core_run, unescape

ROOT = Path(__file__).resolve().parent.parent
PAGES = {name: str(ROOT / "pages" / f"{name}.py") for name in ("compare", "model_size", "failures", "data_runs")}


@pytest.fixture(scope="module")
def envs(tiny_app_env, session_cache):
    """Environments for this module: the tiny fixture and SciFact, each with its session's cache."""
    scifact = {"BEIR_DATA_DIR": str(REAL_BEIR), "RETRIEVAL_CACHE_DIR": str(session_cache.root)}
    with env_restored(tiny_app_env):
        yield {"tiny": tiny_app_env, "scifact": scifact}


def chart_frames(at) -> list[pd.DataFrame]:
    """The data behind every Vega-Lite chart on the page (Arrow IPC in the element's datasets)."""
    import pyarrow as pa

    frames = []
    for chart in at.get("vega_lite_chart"):
        for ds in chart.proto.datasets:
            frames.append(pa.ipc.open_stream(ds.data.data).read_all().to_pandas())
    return frames


def chart_points(at) -> pd.DataFrame:
    frames = [f for f in chart_frames(at) if "label" in f.columns]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def select_chart_point(at, key: str, selection: dict) -> None:
    """Simulate a click on a chart point (AppTest has no public API for chart selections)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    chart = next(c for c in at.get("vega_lite_chart") if c.proto.id.endswith(key))
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=chart.proto.id, string_value=json.dumps({"selection": selection})))
    at._run(states)


def select_dataframe_row(at, key: str, row: int) -> None:
    """Simulate selecting a dataframe row (no public AppTest API for it either)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    frame = next(d for d in at.dataframe if getattr(d.proto, "id", "").endswith(key))
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=frame.proto.id, string_value=json.dumps({"selection": {"rows": [row], "columns": []}})))
    at._run(states)


# ---- Model size -------------------------------------------------------------------------------------


INTERNAL = ("read_file", "NOT checked", "code index", "digitized by me", "SUSPECT", "task brief")
VIEWS = ("One dataset", "BEIR average", "Every dataset (grid)", "Paper figure (Rosa et al. 2022)")


def no_internal_notes(at) -> None:
    """Nothing a user sees (captions, tables, chart data) carries the gatherers' provenance notes."""
    texts = [c.value for c in at.caption] + [m.value for m in at.markdown]
    texts += [df.value.to_csv() for df in at.dataframe] + [f.to_csv() for f in chart_frames(at)]
    texts += [t["frame"].to_csv() for t in page_tables(at).values()]
    for word in INTERNAL:
        assert not any(word in t for t in texts), word


def test_model_size_scifact_holds_published_points_and_measured_runs(envs):
    env = envs["scifact"]
    measured_ok = (REAL_BEIR / "scifact" / "corpus.jsonl").is_file()
    if measured_ok:
        ds, flat = core_run(env, "scifact", "test", "bm25-flat")
    at = app(env, {"dataset": "scifact"}, PAGES["model_size"])
    at.run()
    assert not at.exception
    points = chart_points(at).drop_duplicates("label").set_index("label")  # a point also sits in its line and label layers
    shipped = published.dataset_points("scifact").set_index("label")
    for label in ("monoT5-3B (castorini/monot5-3b-msmarco-10k)", "gtr-t5-xxl", "monoT5-base 220M (Sun et al. 2023 Table 1)"):
        assert points.loc[label, "score"] == pytest.approx(shipped.loc[label, "score"])
        assert points.loc[label, "citation"] == shipped.loc[label, "citation"]
    if measured_ok:
        mine = points.loc["BM25 (flat) [test] (measured)"]
        assert mine["kind"] == published.MEASURED_KIND
        assert mine["score"] == pytest.approx(evaluate(flat, ds.qrels("test")).mean["nDCG@10"])
        assert mine["published_value"] == pytest.approx(0.6789)
        commands = [c.value for c in at.code]  # every measured point carries the command that rebuilds it
        assert any(
            c.startswith("python -m retrieval run") and "--system bm25-flat" in c and "--dataset scifact" in c for c in commands
        )
        assert mine["difference"] == pytest.approx(mine["score"] - 0.6789)
    labels = [b.label for b in at.get("download_button")]
    assert any(lbl.startswith("Download chart") for lbl in labels) and "Download data (CSV)" in labels
    no_internal_notes(at)
    no_none_cells(at)


def no_none_cells(at) -> None:
    """No table a user sees has an empty ("None") cell: a missing number says "n/a" and why."""
    for df in at.dataframe:
        frame = df.value
        assert not frame.isna().any().any(), frame.columns[frame.isna().any()].tolist()
        assert not frame.astype(str).isin(["None", "nan", "NaN"]).any().any()


@pytest.mark.parametrize("view", VIEWS)
def test_model_size_every_view(envs, view):
    at = app(envs["tiny"], page=PAGES["model_size"])
    at.run()
    at.radio(key="w_ms_view").set_value(view).run()
    assert not at.exception, at.exception
    charts_here = at.get("vega_lite_chart")
    # one chart; the grid: one per dataset; the paper: its two panels, read off and from tables
    expected = {"Every": len(published.published_datasets()), "Paper": 4}.get(view.split()[0], 1)
    assert len(charts_here) == expected
    downloads = [b.label for b in at.get("download_button")]
    assert downloads.count("Download data (CSV)") == (2 if view.startswith("Paper") else 1)
    assert len(downloads) == 2 * downloads.count("Download data (CSV)")
    assert at.dataframe
    no_internal_notes(at)
    no_none_cells(at)
    keys = [h.proto.body for h in at.get("html") if "ms-key" in h.proto.body]
    assert len(keys) == (2 if view.startswith("Paper") else 1)  # the key above the chart(s), in the page
    frames = [f for f in chart_frames(at) if "datasets" in f.columns]
    captions = " ".join(c.value for c in at.caption)
    if view == "BEIR average":
        datasets = published.default_average_datasets()
        assert {d for f in frames for d in f["datasets"].dropna()} == {published.average_label(datasets)}
        assert ", ".join(datasets) in captions
        assert "No measured point here" in captions and "cover 0 of them" in captions  # the tiny dataset has none
    elif view.startswith("Paper"):
        kinds = {k for f in frames for k in f["kind"].dropna()}
        assert published.FIGURE_KIND in kinds and "published" in kinds
        assert "read off" in captions and "No measured point on these panels" in captions
        assert "monoT5 (T5 reranker)" in keys[0] and "SGPT (dense)" in keys[0]  # the paper's legend names
    elif view.startswith("Every"):
        assert {d for f in frames for d in f["datasets"]} == set(published.published_datasets())
    gains = next((df.value for df in at.dataframe if "gain per 10x params" in df.value.columns), None)
    if gains is not None:  # no slope from fewer than three sizes or a narrow range
        assert all(g == "—" or n >= 3 for g, n in zip(gains["gain per 10x params"], gains["sizes"]))


@needs_scifact
def test_model_size_average_over_the_datasets_with_runs_draws_the_measured_mean(envs):
    env = envs["scifact"]
    _, flat = core_run(env, "scifact", "test", "bm25-flat")
    at = app(env, {"chart": "BEIR average", "avg": "scifact"}, PAGES["model_size"])
    at.run()
    assert not at.exception
    points = chart_points(at).drop_duplicates("label").set_index("label")
    mine = points.loc["BM25 (flat) [test] (measured)"]
    assert mine["kind"] == published.MEASURED_KIND and mine["datasets"] == published.average_label(["scifact"])
    assert mine["published_value"] == pytest.approx(0.6789)
    assert not any("No measured point" in c.value for c in at.caption)
    no_none_cells(at)
    # Over two datasets, one without runs here: no measured point, and the page says why.
    at = app(env, {"chart": "BEIR average", "avg": "scifact,nfcorpus"}, PAGES["model_size"])
    at.run()
    assert not at.exception
    assert not (chart_points(at)["kind"] == published.MEASURED_KIND).any()
    assert any("cover 1 of them (scifact)" in c.value for c in at.caption)


# ---- Failure cases ------------------------------------------------------------------------------------


def failure_checks(at, env, dataset: str, specs: list[str]) -> None:
    ds, run_a = core_run(env, dataset, "test", specs[0])
    _, run_b = core_run(env, dataset, "test", specs[1])
    qrels = ds.qrels("test")
    cmp = stats.compare_pair(evaluate(run_a, qrels), evaluate(run_b, qrels), with_tests=False)
    metrics = {m.label: m.value for m in at.metric}
    assert (int(metrics["A better"]), int(metrics["ties"]), int(metrics["B better"])) == (cmp.a_better, cmp.ties, cmp.b_better)
    assert float(metrics["mean A"]) == pytest.approx(cmp.mean_a, abs=1e-4)
    tables = page_tables(at)
    tests = tables["w_f_tests"]["frame"]
    assert list(tests["test"]) == ["paired t-test", "Wilcoxon signed-rank", "paired randomization"]
    assert tests["p-value"].between(0, 1).all()
    lost = failures.unfound_relevant({"a": run_a, "b": run_b}, qrels, k=10)
    assert any(s.value.endswith(f"top 10 ({len(lost)})") for s in at.subheader)


def test_failures_tiny(envs):
    env = envs["tiny"]
    for spec in ("bm25-flat", "bm25-multifield"):
        core_run(env, "tiny", "test", spec)
    at = app(env, {"dataset": "tiny", "systems": "bm25-flat,bm25-multifield"}, PAGES["failures"])
    at.run()
    assert not at.exception
    failure_checks(at, env, "tiny", ["bm25-flat", "bm25-multifield"])


def test_failures_and_model_size_choices_are_carried_by_the_url(envs):
    """A link restores every choice that changes what the page shows; a changed choice reaches the URL; a value the
    page does not offer falls back to its default."""
    env = envs["tiny"]
    for spec in ("bm25-flat", "bm25-multifield"):
        core_run(env, "tiny", "test", spec)
    params = {
        "dataset": "tiny",
        "systems": "bm25-flat,bm25-multifield",
        "measure": "R@100",
        "a": "bm25-multifield",
        "b": "bm25-flat",
    }
    at = app(env, params, PAGES["failures"])
    at.run()
    assert not at.exception
    assert (at.selectbox(key="w_f_measure").value, at.selectbox(key="w_f_a").value) == ("R@100", "bm25-multifield")
    assert unescape(at.subheader[0].value).startswith("BM25 (multifield) (A) vs BM25 (flat) (B) · R@100")
    at.selectbox(key="w_f_measure").set_value("RR@10").run()
    at.selectbox(key="w_f_b").set_value("bm25-multifield").run()
    assert (at.query_params["measure"], at.query_params["b"]) == ("RR@10", "bm25-multifield")
    at.query_params["a"] = "dense:nope"
    at.run()
    assert at.selectbox(key="w_f_a").value == "bm25-flat" and at.query_params["a"] == "bm25-flat"

    at = app(env, {"chart": "BEIR average", "avg": "scifact,nope,nfcorpus"}, PAGES["model_size"])
    at.run()
    assert not at.exception
    assert at.radio(key="w_ms_view").value == "BEIR average"
    assert at.multiselect(key="w_ms_avg").value == ["scifact", "nfcorpus"] and at.query_params["avg"] == "scifact,nfcorpus"
    at.radio(key="w_ms_view").set_value("One dataset").run()
    at.toggle(key="w_ms_measured").set_value(False).run()
    at.selectbox(key="w_ms_scope").set_value("nfcorpus").run()
    assert (at.query_params["chart"], at.query_params["overlay"], at.query_params["scope"]) == (
        "One dataset",
        "False",
        "nfcorpus",
    )
    series = at.multiselect(key="w_ms_series")
    series.set_value(series.value[:1]).run()
    assert at.query_params["series"] == series.value[0] and not at.exception


@needs_scifact
def test_failures_scifact_and_a_selected_point_opens_compare(envs):
    env = envs["scifact"]
    for spec in ("bm25-flat", "bm25-multifield"):
        core_run(env, "scifact", "test", spec)
    at = app(env, page=str(ROOT / "app.py"))
    at.query_params.update({"systems": "bm25-flat,bm25-multifield"})
    at.run()
    at.switch_page("pages/failures.py").run()
    assert not at.exception
    failure_checks(at, env, "scifact", ["bm25-flat", "bm25-multifield"])
    # the pick's run opens Compare before drawing this page again (no chart built for a page about to go)
    from view import charts

    built = []
    real = charts.scatter_chart
    charts.scatter_chart = lambda *a, **k: built.append(1) or real(*a, **k)
    try:
        select_chart_point(at, "w_f_scatter", {"query": [{"qid": "3"}]})
    finally:
        charts.scatter_chart = real
    assert not at.exception and not built
    assert at.title[0].value == "Compare"
    assert query_picker(at)["qid"] == "3"
    assert at.query_params["qid"] == "3" and at.query_params["dataset"] == "scifact"
    # so does a table's row (a link: pages/_table.py), with that table's systems
    at.switch_page("pages/failures.py").run()
    lost = page_tables(at)["w_f_lost"]
    qid = lost["raw"][-1][lost["pick"]]
    open_link(at, "w_f_lost", qid)
    assert not at.exception and at.title[0].value == "Compare"
    assert query_picker(at)["qid"] == qid and at.query_params["qid"] == qid
    assert at.query_params["systems"] == "bm25-flat,bm25-multifield"


# ---- Data & runs ---------------------------------------------------------------------------------------


def test_data_runs_lists_datasets_models_runs_and_builds_a_missing_run(envs, tmp_path):
    env = {**envs["tiny"], "RETRIEVAL_CACHE_DIR": str(tmp_path / "fresh-cache")}
    at = app(env, page=PAGES["data_runs"])
    at.run()
    assert not at.exception
    datasets = at.dataframe[0].value.set_index("dataset")
    assert datasets.loc["tiny", "status"].startswith("here")
    here = datasets["status"].str.startswith("here").tolist()  # local copies first, then the catalogue's order
    assert here == sorted(here, reverse=True) and not all(here)
    rest = [d for d, h in zip(datasets.index, here) if not h]
    assert rest == [d for d in beir.catalogue() if d in rest]
    config = json.loads(at.dataframe[0].proto.columns)  # counts read 8,841,823, not 8841823
    assert config["documents"]["type_config"]["format"] == config["test queries"]["type_config"]["format"] == "localized"
    assert datasets.loc["scifact", "status"] in {"downloadable", "here"}
    models = at.dataframe[1].value.set_index("system")
    assert models.loc["bm25-flat", "available here"] == "yes"
    assert any("No cached runs" in i.value for i in at.info)
    at.selectbox(key="w_b_ds").set_value("tiny").run()
    at.selectbox(key="w_b_spec").set_value("bm25-multifield").run()
    at.button(key="w_b_go").click().run()  # starts the build in the background, with its progress in place
    deadline = time.monotonic() + 60
    while not any("Cached BM25 (multifield) on tiny" in unescape(s.value) for s in at.success) and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert not at.exception
    assert any("Cached BM25 (multifield) on tiny (test): built here in" in unescape(s.value) for s in at.success)
    runs = at.dataframe[2].value  # fresh at once: the job's end refreshed the list
    assert all(json.loads(at.dataframe[2].proto.columns)[c]["type_config"]["format"] == "localized" for c in ("queries", "rows"))
    assert runs[["dataset", "split", "system"]].values.tolist() == [["tiny", "test", "bm25-multifield"]]
    (command,) = runs["command"].tolist()  # not left empty after a build
    assert command.startswith("python -m retrieval run --dataset tiny --data-dir ") and command.endswith(
        " --split test --system bm25-multifield"
    )
    select_dataframe_row(at, "w_d_runs", 0)
    assert not at.exception
    labels = [b.label for b in at.get("download_button") if b.label.startswith("Download")]
    assert labels == ["Download run (TREC)", "Download per-query metrics (CSV)"]


# ---- every page through the navigation ---------------------------------------------------------------


@pytest.mark.parametrize("which", ["tiny", "scifact"])
def test_every_page_renders_without_exceptions(envs, which):
    if which == "scifact" and not (REAL_BEIR / "scifact" / "corpus.jsonl").is_file():
        pytest.skip(f"real BEIR SciFact not found at {REAL_BEIR}")
    env = envs[which]
    ds_name = "tiny" if which == "tiny" else "scifact"
    at = app(env, {"dataset": ds_name}, page=str(ROOT / "app.py"))
    at.run()
    assert not at.exception and at.title[0].value == "Compare"
    for page, title in (
        ("model_size", "Model size"),
        ("failures", "Failure cases"),
        ("data_runs", "Data & runs"),
        ("compare", "Compare"),
    ):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
        assert at.title[0].value == title
    # The dataset chosen on one page is kept when coming back through the navigation.
    assert sidebar_select(at, "Dataset")["value"] == ds_name
