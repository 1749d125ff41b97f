"""Neural retrieval: dense bi-encoders and monoT5 / cross-encoder rerankers, on GPU or CPU, cached.

Systems (what :func:`retrieval.systems.parse_system` returns):

* :mod:`.dense` — ``dense:<registry id>``: corpus embeddings cached on disk, exact or FAISS search;
* :mod:`.rerank` — ``monot5:small|base|large|3b`` and ``ce:ms-marco-MiniLM-L-6-v2`` over a first stage
  (default ``bm25-flat``, depth 100, at most 1000).

Models (what the systems load): :mod:`.dense_model`, :mod:`.monot5_model`, :mod:`.crossencoder_model`;
where weights come from and the one memo of loaded models: :mod:`.weights`; the model list:
:mod:`.registry` (``retrieval/data/models.csv``); device and dtype: :mod:`.device`.

Every system takes ``device``, ``dtype``, ``batch_size``, ``model_path`` and ``revision``; options that
change results may also be written into the spec: ``monot5:base?depth=1000&first_stage=bm25-multifield``.
Importing this package is cheap: torch, transformers and sentence-transformers load on first use.
"""
