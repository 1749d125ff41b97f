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

MODES = ("official", "merged", "mine")
RULES = ("majority", "max", "min")
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
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose from {', '.join(RULES)}")
    if user.empty:
        return pd.DataFrame(
            {"qid": pd.Series(dtype=str), "docid": pd.Series(dtype=str), "relevance": pd.Series(dtype="int64")}
        ), 0
    frame = user[["qid", "docid", "grade"]].astype({"grade": "int64"})
    distinct = frame.groupby(["qid", "docid"], sort=False)["grade"].nunique()
    disagreements = int((distinct > 1).sum())
    if rule == "max":
        out = frame.groupby(["qid", "docid"], sort=False, as_index=False)["grade"].max()
    elif rule == "min":
        out = frame.groupby(["qid", "docid"], sort=False, as_index=False)["grade"].min()
    else:
        counts = frame.groupby(["qid", "docid", "grade"], sort=False).size().reset_index(name="n")
        counts = counts.sort_values(["qid", "docid", "n", "grade"], ascending=[True, True, False, True], kind="mergesort")
        out = counts.drop_duplicates(["qid", "docid"], keep="first")[["qid", "docid", "grade"]]
    return out.rename(columns={"grade": "relevance"}).reset_index(drop=True), disagreements


def choose_qrels(
    official: Qrels, user: pd.DataFrame, mode: str = "merged", *, judge: str | None = None, rule: str = "majority"
) -> ChosenQrels:
    """Official, merged or "mine" qrels (see the module's rules). ``user``: the split's current judgements, columns
    :data:`USER_COLUMNS` (``grade`` nullable; ``stale`` true for another version of the dataset)."""
    if mode not in MODES:
        raise ValueError(f"unknown qrels {mode!r}; choose from {', '.join(MODES)}")
    if mode == "official":
        return ChosenQrels(official, "official")
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose from {', '.join(RULES)}")
    rows = user if judge is None else user[user["judge"] == judge]
    split_qids = set(official.qids)
    rows = rows[rows["qid"].isin(split_qids)]
    stale = int(rows["stale"].sum())
    rows = rows[~rows["stale"].astype(bool)]
    cant_tell = int(rows["cant_tell"].sum())
    rows = rows[~rows["cant_tell"].astype(bool)]
    combined, disagreements = combine_judges(rows, rule)
    common = dict(judge=judge, rule=None if judge else rule, disagreements=disagreements, cant_tell=cant_tell, stale=stale)
    if mode == "mine":
        frame = _sorted(combined, official)
        return ChosenQrels(Qrels.from_frame(frame, official.split, source="mine"), "mine", user_used=len(frame), **common)
    both = combined.merge(official.frame, on=["qid", "docid"], how="left", suffixes=("", "_official"), indicator=True)
    new = both["_merge"] == "left_only"
    judged_both = both[~new]
    differ = judged_both["relevance"] != judged_both["relevance_official"]
    conflicts = (
        judged_both[differ][["qid", "docid", "relevance_official", "relevance"]]
        .rename(columns={"relevance_official": "official", "relevance": "user"})
        .astype({"official": "int64", "user": "int64"})
        .reset_index(drop=True)
    )
    added = both[new][["qid", "docid", "relevance"]]
    frame = _sorted(pd.concat([official.frame[["qid", "docid", "relevance"]], added], ignore_index=True), official)
    return ChosenQrels(
        Qrels.from_frame(frame, official.split, source="merged"),
        "merged",
        user_used=len(added),
        added=len(added),
        agreements=int((~differ).sum()),
        conflicts=conflicts,
        **common,
    )


def _sorted(frame: pd.DataFrame, official: Qrels | None = None) -> pd.DataFrame:
    """Rows grouped by query in the official qrels' query order (queries it lacks after, by id), then by docid."""
    order = {q: i for i, q in enumerate(official.qids)} if official is not None else {}
    key = frame["qid"].map(order).fillna(len(order)).astype("int64")
    return (
        frame.assign(_k=key)
        .sort_values(["_k", "qid", "docid"], kind="mergesort")
        .drop(columns="_k")
        .reset_index(drop=True)
        .astype({"qid": str, "docid": str, "relevance": "int64"})
    )
