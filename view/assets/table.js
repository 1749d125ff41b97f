
function csvCell(v) {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

function download(d) {
  const lines = [d.cols.map(c => csvCell(c.name)).join(",")].concat(d.raw.map(r => r.map(csvCell).join(",")));
  const url = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], {type: "text/csv"}));
  const a = document.createElement("a");
  a.href = url; a.download = d.file;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function order(d, by, dir) {  // row indexes sorted by column `by` (stable; empty values last either way)
  const idx = d.cells.map((_, i) => i);
  if (by < 0) return idx;
  const num = d.cols[by].num;
  return idx.sort((i, j) => {
    const a = d.raw[i][by], b = d.raw[j][by];
    if (a === null || b === null) return a === null ? (b === null ? i - j : 1) : -1;
    const c = num ? a - b : String(a).localeCompare(String(b), undefined, {numeric: true});
    return c ? dir * c : i - j;
  });
}

function build(root) {
  const d = root.__data, wrap = document.createElement("div"), table = document.createElement("table");
  wrap.className = "rk-tw";
  wrap.style.maxHeight = d.height;
  table.className = "rk-tbl" + (d.pick >= 0 ? " rk-pick" : "");
  const head = table.createTHead().insertRow();
  d.cols.forEach((c, n) => {
    const th = document.createElement("th"), b = document.createElement("button");
    th.scope = "col";
    if (c.num) th.className = "rk-num";
    if (root.__by === n) th.setAttribute("aria-sort", root.__dir > 0 ? "ascending" : "descending");
    b.type = "button"; b.textContent = c.label; b.dataset.col = n;
    b.title = (c.help ? c.help + " · " : "") + "sort";
    th.appendChild(b); head.appendChild(th);
  });
  const body = table.createTBody(), wide = d.cols.filter(c => c.wide).length;
  for (const i of order(d, root.__by, root.__dir).slice(0, d.shown)) {
    const tr = body.insertRow();
    tr.dataset.i = i;
    if (d.pick >= 0) { tr.tabIndex = 0; tr.title = "Open " + d.raw[i][d.pick] + " in Compare (Ctrl+click: a new tab)"; }
    d.cells[i].forEach((text, n) => {
      const td = tr.insertCell(), c = d.cols[n];
      if (n === d.pick) {
        const a = document.createElement("a");
        a.href = href(d, i); a.tabIndex = -1; a.textContent = text;
        td.appendChild(a);
      } else td.textContent = text;
      if (c.num) td.className = "rk-num";
      else if (c.wide) { td.className = "rk-wide"; td.style.width = (100 / wide) + "%"; td.title = text; }
    });
  }
  wrap.appendChild(table);
  const foot = document.createElement("div"), note = document.createElement("span"), csv = document.createElement("button");
  foot.className = "rk-tfoot";
  note.textContent = d.note;
  csv.type = "button"; csv.className = "rk-csv"; csv.textContent = "CSV"; csv.title = "Save every row as CSV (unformatted values)";
  foot.append(note, csv);
  root.replaceChildren(wrap, foot);
}

function href(d, i) {  // the row's query in Compare: the table's link with the query's id at its end
  return new URL(d.link + encodeURIComponent(d.raw[i][d.pick]), document.location.href).href;
}

function pick(root, tr, e) {
  const url = href(root.__data, +tr.dataset.i);
  if (e.ctrlKey || e.metaKey || e.shiftKey || e.button === 1) {  // a new tab or window: the link's own way
    if (!e.target.closest("a")) window.open(url, "_blank", "noopener");
    return;
  }
  e.preventDefault();
  for (const r of root.querySelectorAll("tr.rk-picked")) r.classList.remove("rk-picked");
  tr.classList.add("rk-picked");
  history.pushState(null, "", url);
  window.dispatchEvent(new PopStateEvent("popstate", {state: null}));
}

export default function ({ data, parentElement: root }) {
  __STYLE__;
  if (root.__sig !== data.sig) {
    if (!root.__data || root.__data.cols.length !== data.cols.length) { root.__by = -1; root.__dir = 1; }
    root.__data = data; root.__sig = data.sig;
    build(root);
  }
  if (root.__wired) return;
  root.__wired = true;
  root.addEventListener("click", e => {
    const b = e.target.closest("th button, button.rk-csv");
    if (b && b.dataset.col !== undefined) {
      const n = +b.dataset.col;
      root.__dir = root.__by === n ? -root.__dir : (root.__data.cols[n].num ? -1 : 1);  // numbers: largest first
      root.__by = n;
      return build(root);
    }
    if (b) return download(root.__data);
    const tr = e.target.closest("tbody tr");
    if (tr && root.__data.pick >= 0) pick(root, tr, e);
  });
  root.addEventListener("keydown", e => {
    const tr = e.target.closest && e.target.closest("tbody tr");
    if (tr && root.__data.pick >= 0 && (e.key === "Enter" || e.key === " ")) pick(root, tr, e);
  });
}
