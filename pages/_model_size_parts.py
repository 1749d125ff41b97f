"""The Model size page's chart furniture: show a chart with its downloads, the sources and gain tables, the legend."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from retrieval import published, series
from view import charts

SOURCE_COLUMNS = {
    "label": "model",
    "params_millions": st.column_config.NumberColumn("parameters (M)", format="%.1f"),
    "score": st.column_config.NumberColumn("value", format="%.4f"),
    "url": st.column_config.LinkColumn("link"),
    "published_value": st.column_config.NumberColumn("published", format="%.4f"),
    "difference": st.column_config.NumberColumn("measured - published", format="%+.4f"),
}


@st.cache_data(show_spinner=False, max_entries=16)
def _image(spec_json: str) -> tuple[bytes, str, str]:
    return charts.spec_image(spec_json, "svg")


def show_chart(chart, message: str, data: pd.DataFrame, name: str, key: str) -> None:
    if chart is None:
        st.info(message)
        return
    st.altair_chart(chart, width="stretch")
    if message:
        st.caption(message)
    left, right = st.columns(2)
    body, mime, ext = _image(chart.to_json())
    left.download_button(f"Download chart ({ext.upper()})", body, file_name=f"{name}.{ext}", mime=mime, key=f"{key}_img")
    right.download_button(
        "Download data (CSV)",
        data.to_csv(index=False).encode("utf-8"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"{key}_csv",
    )


def sources(points: pd.DataFrame, title: str = "Every point and its source") -> None:
    st.subheader(title)
    st.dataframe(published.sources_table(points), hide_index=True, width="stretch", column_config=SOURCE_COLUMNS)


def gain_table(points: pd.DataFrame) -> None:
    gains = series.gain_per_tenfold(points[points["kind"] != published.MEASURED_KIND])
    st.subheader("Gain per tenfold parameters")
    if gains.empty:
        st.caption("No series here has two or more sizes.")
        return
    st.caption(
        "Slope of a least-squares line of the score on log10(parameters): what ten times more parameters bought, within one series."
    )
    st.dataframe(
        gains,
        hide_index=True,
        width="stretch",
        column_config={
            "gain_per_10x": st.column_config.NumberColumn("gain per 10x params", format="%+.4f"),
            "points": "points fitted",
            "smallest_m": st.column_config.NumberColumn("smallest (M)", format="%.0f"),
            "largest_m": st.column_config.NumberColumn("largest (M)", format="%.0f"),
        },
    )


def legend_caption(measured: bool = False) -> None:
    text = (
        "Lines join the sizes of one series (colour = model series, label at its largest size); marker shape = family; "
        "dashed grey lines are BM25 (no parameters)."
    )
    if measured:
        text += (
            " Hollow markers are your measured runs (joined by a dashed line when several sizes of a series were measured); "
            "dotted grey lines are your measured BM25 runs."
        )
    st.caption(text)
