"""pygaggle's MonoT5 reranker, rewritten faithfully for the benchmark (pygaggle itself is not installed).

Source: castorini/pygaggle, ``pygaggle/rerank/transformer.py`` (``MonoT5.rescore``),
``pygaggle/model/tokenize.py`` (``T5BatchTokenizer``) and ``pygaggle/model/decode.py`` (``greedy_decode``).
What it does, per query:

* the documents in the order given, in batches of 8 (``get_tokenizer(batch_size=8)``);
* each text is ``"Query: {q} Document: {d} Relevant: </s>"`` (``AppendEosTokenizerMixin``), tokenized with
  ``batch_encode_plus(padding="longest", truncation=True, max_length=512)`` and, as pygaggle does, a second
  time with ``tokenizer.tokenize`` for the batch's ``tokens`` field;
* ``greedy_decode(model, input_ids, length=1, attention_mask=..., return_last_logits=True)``: one encoder
  pass, then one decoder step from ``decoder_start_token_id`` over the full vocabulary;
* ``log_softmax`` over the logits of ``[▁false, ▁true]``; the score is the ``true`` column.

``padding="max_length"`` gives pygaggle's older form, where every batch was padded to 512 tokens.

Two adaptations, both so that the model sees exactly the tokens pygaggle's own setup gives it:

* pygaggle's ``greedy_decode`` passes the encoder output as ``past=`` to ``prepare_inputs_for_generation``,
  an argument name today's transformers no longer maps; the intent (reuse the encoder output for the
  decoder step) is written out with ``encoder_outputs=``.
* pygaggle loads the slow ``T5Tokenizer``, which does not add a second ``</s>`` when the text already ends
  with one. A fast tokenizer would; then the appended ``</s>`` is left to the tokenizer, so the ids are
  the same as pygaggle's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PATTERN = "Query: {query} Document: {document} Relevant:"


@dataclass
class Text:
    """pygaggle's ``Text``: a document with a score slot."""

    text: str
    score: float | None = None


class PygaggleMonoT5:
    """``MonoT5(model=..., tokenizer=T5BatchTokenizer(tok, batch_size=8))`` as pygaggle runs it.

    Args:
        model: a ``T5ForConditionalGeneration`` (used as is: its device and dtype).
        tokenizer: the Hugging Face tokenizer.
        batch_size: pygaggle's default is 8.
        padding: ``"longest"`` (pygaggle today) or ``"max_length"`` (its older form: every batch at 512).
        max_length: truncation length (512).
    """

    def __init__(self, model, tokenizer, *, batch_size: int = 8, padding: str = "longest", max_length: int = 512) -> None:
        if padding not in ("longest", "max_length"):
            raise ValueError(f"padding must be 'longest' or 'max_length', not {padding!r}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.padding = padding
        self.max_length = max_length
        vocab = tokenizer.get_vocab()
        self.token_false_id = vocab["▁false"]
        self.token_true_id = vocab["▁true"]
        self.device = next(model.parameters()).device
        self._eos_suffix = _eos_suffix(tokenizer)

    # pygaggle.model.tokenize: AppendEosTokenizerMixin + TokenizerEncodeMixin
    def encode(self, strings: Sequence[str]):
        strings = [f"{s}{self._eos_suffix}" for s in strings]
        ret = self.tokenizer(
            list(strings),
            padding=self.padding,
            truncation=True,
            max_length=self.max_length,
            return_attention_mask=True,
            return_tensors="pt",
        )
        ret["tokens"] = list(map(self.tokenizer.tokenize, strings))
        return ret

    def rescore(self, query: str, texts: Sequence[Text]) -> list[Text]:
        """Score ``texts`` for ``query`` in pygaggle's order and batching; returns new ``Text`` objects."""
        import torch

        texts = [Text(t.text, t.score) for t in texts]  # pygaggle deep-copies its input
        for start in range(0, len(texts), self.batch_size):
            docs = texts[start : start + self.batch_size]
            output = self.encode([PATTERN.format(query=query, document=d.text) for d in docs])
            input_ids = output["input_ids"].to(self.device)
            attn_mask = output["attention_mask"].to(self.device)
            _, batch_scores = greedy_decode(self.model, input_ids, length=1, attention_mask=attn_mask, return_last_logits=True)
            batch_scores = batch_scores[:, [self.token_false_id, self.token_true_id]]
            batch_scores = torch.nn.functional.log_softmax(batch_scores, dim=1)
            for doc, score in zip(docs, batch_scores[:, 1].tolist()):
                doc.score = score
        return texts

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Scores for ``(query, document)`` pairs, grouped by query as ``rescore`` is called (order kept)."""
        scores = np.empty(len(pairs), dtype=np.float64)
        groups: dict[str, list[int]] = {}
        for i, (q, _) in enumerate(pairs):
            groups.setdefault(q, []).append(i)
        for q, idx in groups.items():
            for i, t in zip(idx, self.rescore(q, [Text(pairs[i][1]) for i in idx])):
                scores[i] = t.score
        return scores


def greedy_decode(model, input_ids, length: int, attention_mask=None, return_last_logits: bool = True):
    """pygaggle's ``greedy_decode``: encoder once, then ``length`` decoder steps over the full vocabulary."""
    import torch

    with torch.no_grad():
        decode_ids = torch.full((input_ids.size(0), 1), model.config.decoder_start_token_id, dtype=torch.long).to(
            input_ids.device
        )
        encoder_outputs = model.get_encoder()(input_ids, attention_mask=attention_mask)
        next_token_logits = None
        for _ in range(length):
            outputs = model(
                encoder_outputs=encoder_outputs, attention_mask=attention_mask, decoder_input_ids=decode_ids, use_cache=True
            )
            next_token_logits = outputs[0][:, -1, :]
            decode_ids = torch.cat([decode_ids, next_token_logits.max(1)[1].unsqueeze(-1)], dim=-1)
    if return_last_logits:
        return decode_ids, next_token_logits
    return decode_ids


def _eos_suffix(tokenizer) -> str:
    """``" </s>"`` unless this tokenizer would then end the text with two ``</s>`` (see module docstring)."""
    eos = tokenizer.eos_token
    ids = tokenizer(f"x {eos}")["input_ids"]
    doubled = len(ids) >= 2 and ids[-1] == ids[-2] == tokenizer.eos_token_id
    return "" if doubled else f" {eos}"
