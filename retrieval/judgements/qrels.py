"""Qrels with the users' judgements: official, merged (official + users'), or the users' alone ("mine").

All three come back as the :class:`retrieval.beir.Qrels` that :func:`retrieval.evaluate.evaluate` takes, so the
metrics still come from ir_measures; nothing here computes a measure.

Rules (the exact ones):

* Only current judgements made on this version of the dataset count: a judgement whose corpus checksum differs
  from the dataset's now is **stale** (counted, never applied). "Can't tell" is never a grade (counted, left out).
* **One judge** (``judge="ann"``): that judge's grades. **All judges** (``judge=None``): per (query, document) the
  grade most judges gave; a tie between grades goes to the **lowest** of the tied grades (so a document counts as
  relevant only when most judges say so). ``rule="max"`` / ``"min"`` take the highest / lowest grade instead.
  Pairs on which judges gave different grades are counted (``disagreements``).
* **merged**: every official judgement, plus the users' grade for each pair the official qrels lack. Where both
  judged a pair and disagree, **the official grade wins**; those pairs are counted and listed (``conflicts``).
* **mine**: the users' grades alone, for the queries of the split; queries no user judged are not in it (so they
  are not evaluated: ``queries`` says how many are).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..beir import Qrels
from .model import MODES, RULES

USER_COLUMNS = ("qid", "docid", "judge", "grade", "cant_tell", "stale")


@dataclass(frozen=True)
class ChosenQrels:
    """The qrels to evaluate with (``qrels``) and what went into them."""

    qrels: Qrels
    mode: str
    judge: str | None = None
    rule: str | None = None
    user_used: int = 0  # user (query, document) grades in ``qrels`` (after combining judges)
    added: int = 0  # merged: pairs the official qrels lack
    agreements: int = 0  # merged: pairs both judged alike
    conflicts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["qid", "docid", "official", "user"]))
    disagreements: int = 0  # pairs on which judges gave different grades (judge=None)
    cant_tell: int = 0
    stale: int = 0

    @property
    def queries(self) -> int:
        return len(self.qrels.qids)

    def describe(self) -> str:
        """One line: what these qrels are, for the command line and the app."""
        if self.mode == "official":
            return f"official qrels ({len(self.qrels.frame):,} judgements, {self.queries} queries)"
        who = (
            f"judge {self.judge}"
            if self.judge
            else f"all judges ({self.rule} rule{', ties to the lower grade' if self.rule == 'majority' else ''})"
        )
        parts = []
        if self.mode == "merged":
            parts.append(f"official + {self.added:,} user judgements of {who}")
            parts.append(f"{len(self.conflicts):,} conflicts with the official qrels (official kept)")
            if self.agreements:
                parts.append(f"{self.agreements:,} agree with them")
        else:
            parts.append(f"{self.user_used:,} user judgements of {who} on {self.queries} queries")
        if self.disagreements:
            parts.append(f"{self.disagreements:,} pairs on which judges disagree")
        if self.cant_tell:
            parts.append(f"{self.cant_tell:,} can't tell (not grades)")
        if self.stale:
            parts.append(f"{self.stale:,} stale (made on another version of the dataset, not applied)")
        return f"{self.mode} qrels: " + "; ".join(parts)


def empty_user_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "qid": pd.Series(dtype=str),
            "docid": pd.Series(dtype=str),
            "judge": pd.Series(dtype=str),
            "grade": pd.Series(dtype="Int64"),
            "cant_tell": pd.Series(dtype=bool),
            "stale": pd.Series(dtype=bool),
        }
    )


def combine_judges(user: pd.DataFrame, rule: str = "majority") -> tuple[pd.DataFrame, int]:
    """One grade per (qid, docid) from graded, current rows (``qid, docid, judge, grade``), by ``rule``; returns
    ``(frame with qid, docid, relevance; pairs on which the judges disagree)``."""
    combined, disagreements = _combine(_columns(user, ("qid", "docid")), user["grade"].astype("int64").tolist(), rule)
    return _frame(list(combined), list(combined.values())), disagreements


def _columns(frame: pd.DataFrame, names: tuple[str, ...]) -> list[list]:
    return [frame[c].to_numpy(dtype=object).tolist() for c in names]


def _combine(ids: list[list], grades: list[int], rule: str) -> tuple[dict[tuple[str, str], int], int]:
    """``{(qid, docid): grade}`` by ``rule`` (plain dicts: 10,000 rows in a few ms, where pandas' group-bys on string
    columns took ~70 ms), and the number of pairs whose judges gave different grades. Pairs keep first-seen order."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose from {', '.join(RULES)}")
    votes: dict[tuple[str, str], dict[int, int]] = {}
    for q, d, g in zip(*ids, grades):
        counts = votes.setdefault((q, d), {})
        counts[g] = counts.get(g, 0) + 1
    if rule == "max":
        pick = max
    elif rule == "min":
        pick = min
    else:

        def pick(counts: dict[int, int]) -> int:  # most votes; a tie goes to the lowest of the tied grades
            return max(counts, key=lambda g: (counts[g], -g))

    combined = {pair: (pick(counts) if len(counts) > 1 else next(iter(counts))) for pair, counts in votes.items()}
    return combined, sum(len(counts) > 1 for counts in votes.values())


def _frame(pairs: list[tuple[str, str]], grades: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {"qid": [q for q, _ in pairs], "docid": [d for _, d in pairs], "relevance": pd.Series(grades, dtype="int64")}
    )


def choose_qrels(
    official: Qrels, user: pd.DataFrame, mode: str = "merged", *, judge: str | None = None, rule: str = "majority"
) -> ChosenQrels:
    """Official, merged or "mine" qrels (see the module's rules). ``user``: the split's current judgements, columns
    :data:`USER_COLUMNS` (``grade`` nullable; ``stale`` true for another version of the dataset)."""
    columns = {c: user[c].to_numpy(dtype=object).tolist() for c in ("qid", "docid", "judge")}
    columns["grade"] = [None if pd.isna(g) else int(g) for g in user["grade"].tolist()]
    columns.update({c: user[c].astype(bool).tolist() for c in ("cant_tell", "stale")})
    return choose_from_columns(official, columns, mode, judge=judge, rule=rule)


def choose_from_columns(
    official: Qrels, user: dict[str, list], mode: str = "merged", *, judge: str | None = None, rule: str = "majority"
) -> ChosenQrels:
    """:func:`choose_qrels` on plain column lists (``user[name]`` for each of :data:`USER_COLUMNS`): what the store
    reads from the database, without a DataFrame in between."""
    if mode not in MODES:
        raise ValueError(f"unknown qrels {mode!r}; choose from {', '.join(MODES)}")
    if mode == "official":
        return ChosenQrels(official, "official")
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose from {', '.join(RULES)}")
    in_split = official.by_query
    qids, docids, judges, grades = user["qid"], user["docid"], user["judge"], user["grade"]
    cant, old = user["cant_tell"], user["stale"]
    keep_q, keep_d, keep_g = [], [], []
    stale = cant_tell = 0
    for q, d, who, g, c, s in zip(qids, docids, judges, grades, cant, old):
        if (judge is not None and who != judge) or q not in in_split:
            continue
        if s:
            stale += 1
        elif c:
            cant_tell += 1
        else:
            keep_q.append(q)
            keep_d.append(d)
            keep_g.append(g)
    combined, disagreements = _combine([keep_q, keep_d], keep_g, rule)
    common = dict(judge=judge, rule=None if judge else rule, disagreements=disagreements, cant_tell=cant_tell, stale=stale)
    order = {q: i for i, q in enumerate(in_split)}
    if mode == "mine":
        pairs = sorted(combined, key=lambda p: (order[p[0]], p[1]))
        frame = _frame(pairs, [combined[p] for p in pairs])
        return ChosenQrels(Qrels.from_frame(frame, official.split, source="mine"), "mine", user_used=len(frame), **common)
    conflicts, added = [], []
    agreements = 0
    for (q, d), g in combined.items():
        have = in_split[q].get(d)
        if have is None:
            added.append((q, d, g))
        elif have != g:
            conflicts.append((q, d, have, g))
        else:
            agreements += 1
    merged = [(q, d, g) for q, docs in in_split.items() for d, g in docs.items()] + added
    merged.sort(key=lambda t: (order[t[0]], t[1]))
    frame = pd.DataFrame(
        {
            "qid": [t[0] for t in merged],
            "docid": [t[1] for t in merged],
            "relevance": pd.Series([t[2] for t in merged], dtype="int64"),
        }
    )
    conflict_frame = pd.DataFrame(conflicts, columns=["qid", "docid", "official", "user"]).astype(
        {"official": "int64", "user": "int64"}
    )
    return ChosenQrels(
        Qrels.from_frame(frame, official.split, source="merged"),
        "merged",
        user_used=len(added),
        added=len(added),
        agreements=agreements,
        conflicts=conflict_frame,
        **common,
    )
