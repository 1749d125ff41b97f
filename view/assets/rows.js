
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

const SLOT = __ROWS_SLOT__;
const same = (a, b) => !!a && a.length === b.length && a.every((x, i) => x === b[i]);
function reopen(where, open) {
  for (const d of where.querySelectorAll("details")) if (!d.open && open.has(keyOf(d))) d.open = true;
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
    const seq = root.__seq, col = root.querySelector(".rk-col");
    if (col && rows.length > first) requestAnimationFrame(() => setTimeout(() => {
      if (root.__seq !== seq) return;  // replaced meanwhile
      col.insertAdjacentHTML("beforeend", rows.slice(first).join(""));
      reopen(col, open);
      relink();
    }, 0));
  }
  if (!root.__wired) {
    root.__wired = true;
    root.addEventListener("mouseover", hover(true));
    root.addEventListener("mouseout", hover(false));
    root.addEventListener("focusin", hover(true, true));
    root.addEventListener("focusout", hover(false, true));
    root.addEventListener("toggle", e => { if (e.target.matches && e.target.matches("details.rk-row")) relink(); }, true);
    root.addEventListener("click", e => {
      const b = e.target.closest("button.rk-act");
      if (!b) return;
      e.preventDefault();
      if (b.dataset.act === "copy") copy(b);
      else root.__trigger(b.dataset.act, b.dataset.docid);
    });
  }
}
