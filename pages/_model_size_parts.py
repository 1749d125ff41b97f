"""The Model size page's chart furniture: a chart (or a row of panels) with its downloads, the key, the sources and
gain tables, the legend caption and why a measured run is not drawn."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from retrieval import published
from view import charts, tables

RIGHT = "right"
SOURCE_COLUMNS = {
    "label": "model",
    "params_millions": st.column_config.TextColumn("parameters (M)", alignment=RIGHT),
    "score": st.column_config.NumberColumn("value", format="%.4f"),
    "url": st.column_config.LinkColumn("link"),
    "published_value": st.column_config.TextColumn("published", alignment=RIGHT),
    "difference": st.column_config.TextColumn("measured - published", alignment=RIGHT),
}


# The page's width, measured in the browser: the labels of a chart as wide as the page are placed for its real width
# (Streamlit tells Python nothing about it). Sent once and again when it changes by 16 px or more (a resize).
_WIDTH_JS = r"""
export default function ({ parentElement: root, setStateValue, data }) {
  const send = () => {
    const w = Math.floor(root.getBoundingClientRect().width), last = root.__sent ?? data.width;
    if (w > 0 && (last == null || Math.abs(w - last) >= 16)) { root.__sent = w; setStateValue("width", w); }
  };
  send();
  if (!root.__observer) {
    let timer;
    root.__observer = new ResizeObserver(() => { clearTimeout(timer); timer = setTimeout(send, 250); });
    root.__observer.observe(root);
  }
}
"""
_WIDTH = st.components.v2.component("ms_page_width", js=_WIDTH_JS, isolate_styles=False)
# The y axis, its title and the chart's padding take at most this much of a chart's width (at most ~72 px measured).
AXIS_PX = 90


def page_width() -> float | None:
    """The page's width as the browser last said, or None before it did."""
    width = (st.session_state.get("ms_page_width") or {}).get("width")
    return float(width) if isinstance(width, (int, float)) and width > 0 else None


def plot_width() -> float | None:
    """The plot width a chart as wide as the page gets here, or None before the browser said (then labels are
    placed for the narrowest, :data:`view.labels.MIN_PLOT_WIDTH`)."""
    width = page_width()
    return width - AXIS_PX if width is not None else None


def width_probe() -> None:
    """The element that measures the page (last on the page, so the rerun it asks for on a first visit comes when
    this run is done)."""
    _WIDTH(data={"width": page_width()}, key="ms_page_width", on_width_change=lambda: None)


def show_chart(points: pd.DataFrame, title: str, name: str, key: str) -> None:
    """The model-size chart of ``points`` as wide as the page (labels placed for its width), the key of its marks
    above it, the downloads below (the image with a legend of marker shapes)."""
    chart, message = charts.model_size_chart(points, title=title, fit_width=plot_width())
    if chart is None:
        st.info(message)
        return
    st.html(charts.key_html(charts.marks_key(points)))
    st.altair_chart(chart, width="stretch")
    if message:
        st.caption(message)
    image = lambda: charts.model_size_chart(points, title=title, width=760, family_legend=True, image=True)[0]  # noqa: E731
    downloads(image, points, name, key)


def show_panels(
    panels: Sequence, download: Callable[[], object], message: str, data: pd.DataFrame, name: str, key: str, key_html: str = ""
) -> None:
    """Panels side by side, wrapping onto the next row where the page is narrow (each keeps its width, so its
    labels stay where they were placed), under one key; ``download()`` (all panels in one chart) is what the
    chart download saves."""
    if not panels:
        st.info(message)
        return
    if key_html:
        st.html(key_html)
    with st.container(horizontal=True, gap="small"):
        for panel in panels:
            st.altair_chart(panel, width="content")
    if message:
        st.caption(message)
    downloads(download, data, name, key)


def downloads(make_chart: Callable[[], object], data: pd.DataFrame, name: str, key: str) -> None:
    """The chart (made by ``make_chart`` when the button is clicked, not on every run) and its data."""
    left, right = st.columns(2)
    ext, mime = charts.image_format()
    left.download_button(
        f"Download chart ({ext.upper()})",
        lambda: charts.chart_image(make_chart())[0],
        file_name=f"{name}.{ext}",
        mime=mime,
        key=f"{key}_img",
    )
    right.download_button(
        "Download data (CSV)",
        data.to_csv(index=False).encode("utf-8"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"{key}_csv",
    )


def _table(frame: pd.DataFrame) -> None:
    """A points table with "n/a: why" cells as text, each such column wide enough to show them whole."""
    config = dict(SOURCE_COLUMNS)
    for col in ("params_millions", "published_value", "difference"):
        if col in frame:
            label = config[col]["label"]
            config[col] = st.column_config.TextColumn(label, alignment=RIGHT, width=tables.fit_width(frame[col], label))
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config)


def sources(points: pd.DataFrame, title: str = "Every point and its source") -> None:
    st.subheader(title)
    _table(tables.points_table(published.sources_table(points)).drop(columns="family"))


def measured_table(measured: pd.DataFrame) -> None:
    cols = ["label", "family", "params_millions", "score", "published_value", "difference", "datasets", "setup", "reference"]
    _table(tables.points_table(measured[cols]).drop(columns=["family", "datasets"]))


def gain_table(points: pd.DataFrame) -> None:
    gains = charts.gain_rows(points)
    st.subheader("Gain per tenfold parameters")
    if gains.empty:
        st.caption("No series here has two or more sizes.")
        return
    st.caption(
        f"Slope of a least-squares line of the score on log10(parameters): what ten times more parameters bought, within "
        f"one series. Given only over at least {charts.MIN_GAIN_POINTS} sizes spanning at least "
        f"{charts.MIN_GAIN_RANGE:.0f}x the parameters (a line through two close sizes says little); otherwise —."
    )
    right = st.column_config.TextColumn(alignment=RIGHT)
    st.dataframe(
        gains,
        hide_index=True,
        width="stretch",
        column_config={c: right for c in ("gain per 10x params", "smallest (M)", "largest (M)", "range")},
    )


def legend_caption(measured: bool = False) -> None:
    text = (
        "Lines join the sizes of one series (colour = model series; series of one model from different sources in "
        "other tones and dashes; each labelled beside its line, or listed above the chart where no label fits); "
        "marker shape = family; dashed grey lines are BM25 (no parameters)."
    )
    if measured:
        text += (
            " Your measured runs are drawn on top: hollow markers (joined by a dashed line when several sizes of a "
            "series were measured), and dotted black lines for your BM25 runs, each labelled."
        )
    st.caption(text)


def why_no_measured(cached: pd.DataFrame, chosen: Sequence[str], view: str) -> None:
    """Say why the average or the paper view draws no measured point, and what would draw one."""
    have = sorted(set(cached["dataset"])) if cached is not None and not cached.empty else []
    if view == "paper":
        where = f"your runs here are on {', '.join(have)}" if have else "there are no cached runs here"
        st.caption(
            f"No measured point on these panels: they show MS MARCO dev MRR@10 and a mean nDCG@10 over the paper's "
            f"BEIR datasets, and {where}. Your runs are drawn on One dataset."
        )
        return
    covered = [d for d in chosen if d in have]
    st.caption(
        f"No measured point here: a point is a mean over all {len(chosen)} chosen datasets, and your cached runs cover "
        f"{len(covered)} of them ({', '.join(covered) or 'none'}). Choose only datasets you have runs on (or build runs "
        "on the others on Data & runs) to see your runs' mean."
    )
