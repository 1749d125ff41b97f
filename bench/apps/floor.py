"""The floor of the browser benchmark's N sessions at once: the least a Streamlit page does for a Random click.

A title, and a fragment holding a "Random" button and one ranked row (``.rk-row``, what the benchmark waits for)
that names the query drawn. A click reruns the fragment and redraws that one row: no sidebar, no URL write, no
data. ``bench/browser_latency.py`` runs it beside the app, with the same browser, harness and clicks, in the same
run: the app's p95 over this one's is what the app's page costs above Streamlit's own, on this machine.

    streamlit run bench/apps/floor.py
"""

from __future__ import annotations

import random

import streamlit as st


def draw() -> None:
    st.session_state["qid"] = str(random.randint(1, 1000))


@st.fragment
def board() -> None:
    st.button("Random", on_click=draw)
    qid = st.session_state.setdefault("qid", "1")
    st.html(f'<div class="rk-row">#1 · query {qid} · document {int(qid) * 7}</div>')


st.title("Compare")
board()
