"""What the app shows, as plain functions (no Streamlit): badges and columns, cards and compact rows, tables,
charts, text for display, the choices the pages offer. ``pages/`` renders them; ``retrieval/`` never imports this
package (``tests/test_layout.py``)."""
