"""The oneDNN linear switch the monoT5 ablation measured; it now lives in :mod:`retrieval.neural.cpu_kernels`
(``MonoT5Scorer`` uses it on CPU). Re-exported here for the ablation's rows."""

from retrieval.neural.cpu_kernels import onednn_available, onednn_linear  # noqa: F401
