
function copy(button) {
  const pre = button.previousElementSibling;
  const done = () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 1500); };
  const select = () => { const r = document.createRange(); r.selectNodeContents(pre); const s = getSelection(); s.removeAllRanges(); s.addRange(r); };
  if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(pre.textContent).then(done, select);
  else select();
}
const keyOf = d => (d.dataset.docid !== undefined ? "d:" + d.dataset.docid : "p:" + (d.dataset.part || ""));
const docClass = row => Array.from(row.classList).find(c => c.startsWith("rk-") && c !== "rk-row" && c !== "rk-hl" && c !== "rk-on");
function mark(row, name, on) {
  const c = docClass(row);
  if (c) for (const r of document.querySelectorAll("details.rk-row." + c)) r.classList.toggle(name, on);
}
function relink() {  // from scratch, after rows were replaced or opened: rk-on and rk-hl on every row of those documents
  const of = sel => new Set(Array.from(document.querySelectorAll(sel), docClass));
  const open = of("details.rk-row[open]"), hovered = of("details.rk-row:hover, details.rk-row:has(:focus-visible)");
  for (const r of document.querySelectorAll("details.rk-row")) {
    const c = docClass(r);
    r.classList.toggle("rk-on", open.has(c));
    r.classList.toggle("rk-hl", hovered.has(c));
  }
}
function hover(on, keyboard) {
  return e => {
    const row = e.target.closest && e.target.closest("details.rk-row");
    if (keyboard && on && !e.target.matches(":focus-visible")) return;  // a mouse click's focus is not a hover
    if (row && !(e.relatedTarget && row.contains(e.relatedTarget))) mark(row, "rk-hl", on);
  };
}

// Judging: a grade by click or by key on a focused row, the note on Enter. The user badge changes in the page at
// once (in every column); the server's rerun then draws what it stored.
// An opened row's bar is built here from its seed (view/judging.py judge_bar_html: this judge's value and note) and
// the column's scale and grade words, the first time the row is opened: few rows are, and 100 rows per column
// carried about half their elements in bars nobody saw.
function fillBar(row) {
  const bar = row.querySelector(":scope > .rk-body > .rk-judge:not(.rk-off)"), wrap = row.closest(".rk-colwrap");
  if (!bar || bar.dataset.built || !wrap) return;
  const scale = wrap.dataset.scale ? wrap.dataset.scale.split(",") : [], words = (wrap.dataset.words || "").split("|");
  const mine = bar.dataset.mine || "";
  const button = (value, text, word, title, cls) => {
    const b = document.createElement("button");
    Object.assign(b, { type: "button", className: cls, title: title, textContent: text });
    Object.assign(b.dataset, { act: "judge", value: value, docid: row.dataset.docid });
    b.setAttribute("aria-pressed", String(mine === value));
    if (word) { const w = document.createElement("small"); w.textContent = word; b.append(" ", w); }
    return b;
  };
  const label = document.createElement("span"), note = document.createElement("input");
  label.className = "rk-jl";
  label.textContent = "Your judgement:";
  Object.assign(note, { className: "rk-note", type: "text", maxLength: 500, placeholder: "note (n), Enter saves", value: bar.dataset.note || "" });
  note.dataset.docid = row.dataset.docid;
  note.setAttribute("aria-label", "note on this judgement");
  const parts = scale.map((g, i) => button(g, g, words[i] || "", `${words[i] || "grade " + g} (key ${g})`, "rk-g"));
  parts.push(button("cant", "can't tell", "", "key u", "rk-g"));
  if (mine) parts.push(button("clear", "clear", "", "key x", "rk-g rk-clear"));
  bar.prepend(label, ...parts, note);  // the other judges' values (text from the server) stay after
  bar.dataset.built = "1";
}
function optimistic(row, value) {
  const c = docClass(row);
  for (const r of document.querySelectorAll("details.rk-row." + c)) {
    const bar = r.querySelector(".rk-judge");
    if (bar && !bar.dataset.built) bar.dataset.mine = value === "clear" ? "" : value;
    let b = r.querySelector("summary .rk-ub");
    if (value === "clear") { if (b) b.remove(); continue; }
    if (!b) { b = document.createElement("span"); const o = r.querySelector("summary .rk-b"); if (o) o.after(b); else continue; }
    b.className = "rk-ub";
    b.textContent = value === "cant" ? "?" : value;
    for (const g of r.querySelectorAll(".rk-g")) g.setAttribute("aria-pressed", String(g.dataset.value === value));
  }
}
function judgeRow(root, row, value, note) {
  if (!row || !root.querySelector('.rk-colwrap[data-judge="on"]')) return false;
  optimistic(row, value);
  root.__trigger("judge", JSON.stringify({ docid: row.dataset.docid, value: value, note: note }));
  return true;
}
const summaryOf = r => r && r.querySelector(":scope > summary");
function refocus(root) {  // after the column was drawn again: focus where the judge was
  const want = root.__focus;
  if (!want) return;
  root.__focus = null;
  const row = Array.from(root.querySelectorAll("details.rk-row")).find(r => r.dataset.docid === want.docid);
  if (!row) return;
  if (want.note) { row.open = true; fillBar(row); const n = row.querySelector("input.rk-note"); if (n) n.focus(); }
  else { const s = summaryOf(row); if (s) s.focus({ preventScroll: false }); }
}
function onKey(root) {
  return e => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target.matches && e.target.matches("input.rk-note")) {
      if (e.key === "Enter") {
        e.preventDefault();
        const row = e.target.closest("details.rk-row");
        const on = row.querySelector('.rk-g[aria-pressed="true"]');
        root.__focus = { docid: row.dataset.docid, note: false };
        judgeRow(root, row, on ? on.dataset.value : "", e.target.value);
      } else if (e.key === "Escape") { const s = summaryOf(e.target.closest("details.rk-row")); if (s) s.focus(); }
      e.stopPropagation();  // typing a note never steps the queue or judges
      return;
    }
    const row = e.target.closest && e.target.closest("details.rk-row");
    if (!row || !e.target.matches("summary, details.rk-row button")) return;
    const wrap = root.querySelector(".rk-colwrap");
    const scale = wrap && wrap.dataset.scale ? wrap.dataset.scale.split(",") : [];
    const rows = Array.from(root.querySelectorAll("details.rk-row"));
    const next = rows[rows.indexOf(row) + 1], prev = rows[rows.indexOf(row) - 1];
    let value = null;
    if (scale.includes(e.key)) value = e.key;
    else if (e.key === "u" || e.key === "?") value = "cant";
    else if (e.key === "x" || e.key === "Delete" || e.key === "Backspace") value = "clear";
    else if (e.key === "n") {
      e.preventDefault(); e.stopPropagation();
      row.open = true;
      fillBar(row);
      const n = row.querySelector("input.rk-note");
      if (n) n.focus();
      return;
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const to = e.key === "ArrowDown" ? next : prev;
      if (to) { e.preventDefault(); e.stopPropagation(); summaryOf(to).focus(); }
      return;
    }
    if (value === null) return;
    e.preventDefault(); e.stopPropagation();
    // one keypress each: the next row takes the focus (and keeps it when the column is drawn again)
    const then = value === "clear" ? row : (next || row);
    root.__focus = { docid: then.dataset.docid, note: false };
    if (judgeRow(root, row, value, null) && summaryOf(then)) summaryOf(then).focus();
  };
}

const SLOT = __ROWS_SLOT__;
const same = (a, b) => !!a && a.length === b.length && a.every((x, i) => x === b[i]);
function reopen(where, open) {
  for (const d of where.querySelectorAll("details")) if (!d.open && open.has(keyOf(d))) d.open = true;
  for (const d of where.querySelectorAll("details.rk-row[open]")) fillBar(d);
}

export default function ({ data, parentElement: root, setTriggerValue }) {
  root.__trigger = setTriggerValue;  // the latest mount's, used by the one listener below
  const rows = data.rows || [];
  if (root.__html !== data.html || !same(root.__rows, rows)) {
    const open = root.__view === data.view ? new Set(Array.from(root.querySelectorAll("details[open]"), keyOf)) : new Set();
    // The rows that fill the screen first (a closed row is 26px high), the others once that frame is painted.
    const first = Math.ceil(window.innerHeight / 26) + 2, at = data.html.indexOf(SLOT);
    root.innerHTML = at < 0 ? data.html : data.html.slice(0, at) + rows.slice(0, first).join("") + data.html.slice(at + SLOT.length);
    Object.assign(root, { __html: data.html, __rows: rows, __view: data.view, __seq: (root.__seq || 0) + 1 });
    reopen(root, open);
    relink();
    refocus(root);
    const seq = root.__seq, col = root.querySelector(".rk-col");
    if (col && rows.length > first) requestAnimationFrame(() => setTimeout(() => {
      if (root.__seq !== seq) return;  // replaced meanwhile
      col.insertAdjacentHTML("beforeend", rows.slice(first).join(""));
      reopen(col, open);
      relink();
      refocus(root);
    }, 0));
  }
  if (!root.__wired) {
    root.__wired = true;
    root.addEventListener("mouseover", hover(true));
    root.addEventListener("mouseout", hover(false));
    root.addEventListener("focusin", hover(true, true));
    root.addEventListener("focusout", hover(false, true));
    root.addEventListener("toggle", e => {
      if (!(e.target.matches && e.target.matches("details.rk-row"))) return;
      if (e.target.open) fillBar(e.target);
      relink();
    }, true);
    root.addEventListener("keydown", onKey(root));
    root.addEventListener("click", e => {
      const g = e.target.closest("button.rk-g");
      if (g) {
        e.preventDefault();
        const row = g.closest("details.rk-row");
        const note = row.querySelector("input.rk-note");
        root.__focus = { docid: row.dataset.docid, note: false };
        judgeRow(root, row, g.dataset.value, note ? note.value : null);
        return;
      }
      const b = e.target.closest("button.rk-act");
      if (!b) return;
      e.preventDefault();
      if (b.dataset.act === "copy") copy(b);
      else root.__trigger(b.dataset.act, b.dataset.docid || "");
    });
  }
}
