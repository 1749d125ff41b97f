
const esc = s => s.toLowerCase();

function build(root) {
  __STYLE__;
  const n = (window.__rkSystemsSeq = (window.__rkSystemsSeq || 0) + 1), list = "rk-sys-list-" + n, box = "rk-sys-input-" + n;
  root.innerHTML =
    '<div class="rk-sys"><label class="rk-q-label"></label><div class="rk-sys-box"><span class="rk-sys-chips"></span>' +
    '<input type="text" role="combobox" aria-autocomplete="list" aria-expanded="false" autocomplete="off" ' +
    'spellcheck="false"></div><div class="rk-q-drop" hidden><ul class="rk-q-list" role="listbox"></ul>' +
    '<p class="rk-q-more" role="status" aria-live="polite"></p></div></div>';
  const input = root.querySelector("input"), ul = root.querySelector("ul"), chips = root.querySelector(".rk-sys-chips");
  const drop = root.querySelector(".rk-q-drop"), more = root.querySelector(".rk-q-more");
  input.id = box; ul.id = list; input.setAttribute("aria-controls", list);
  root.querySelector("label").htmlFor = box;
  ul.setAttribute("aria-label", "Systems");
  const st = root.__st = {input, ul, chips, shown: [], active: -1, open: false};

  const labelOf = spec => (root.__data.options.find(o => o[0] === spec) || [spec, spec])[1];
  const change = chosen => {  // drawn at once; Python gets the list and the rerun brings it back
    root.__data = Object.assign({}, root.__data, {chosen});
    draw(root);
    root.__trigger("change", chosen);
  };
  const setActive = i => activate(st, i);
  const show = typed => {
    const words = esc(typed).split(/\s+/).filter(Boolean), chosen = new Set(root.__data.chosen);
    st.shown = root.__data.options.filter(o => !chosen.has(o[0]) && words.every(w => esc(o[0] + " " + o[1]).includes(w)));
    ul.textContent = "";
    st.shown.forEach((o, i) => {
      const li = document.createElement("li");
      li.id = list + "-" + i; li.setAttribute("role", "option"); li.setAttribute("aria-selected", "false");
      li.dataset.i = i; li.textContent = o[1] + (root.__data.off.includes(o[0]) ? " — not available here" : "");
      ul.appendChild(li);
    });
    more.textContent = st.shown.length ? "" : "No system matches";
    st.active = -1; setActive(typed ? 0 : -1);
    drop.hidden = false; st.open = true; input.setAttribute("aria-expanded", "true");
  };
  const close = () => {
    drop.hidden = true; st.open = false; input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  };
  const add = o => {
    input.value = ""; close();
    const chosen = root.__data.chosen.concat([o[0]]);
    change(chosen);
    if (chosen.length < root.__data.max) show(""); else input.blur();
  };
  st.remove = spec => {
    change(root.__data.chosen.filter(s => s !== spec));
    if (document.activeElement === input) show(input.value);  // the removed system is offered again
  };
  st.labelOf = labelOf;
  input.addEventListener("focus", () => show(input.value));
  input.addEventListener("click", () => { if (!st.open) show(input.value); });  // focused already, list closed
  input.addEventListener("input", () => show(input.value));
  input.addEventListener("blur", () => { close(); input.value = ""; });
  input.addEventListener("keydown", e => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!st.open) show(input.value);
      setActive(st.active + (e.key === "ArrowDown" ? 1 : -1));
    } else if (e.key === "Enter" && st.open && st.shown[st.active]) {
      e.preventDefault(); add(st.shown[st.active]);
    } else if (e.key === "Backspace" && !input.value && root.__data.chosen.length) {
      e.preventDefault(); st.remove(root.__data.chosen[root.__data.chosen.length - 1]);
    } else if (e.key === "Escape") { e.preventDefault(); close(); input.blur(); }
  });
  drop.addEventListener("mousedown", e => e.preventDefault());  // keep the focus (and the list) until the click
  ul.addEventListener("click", e => {
    const li = e.target.closest('[role="option"]');
    if (li) add(st.shown[+li.dataset.i]);
  });
  chips.addEventListener("click", e => {
    const b = e.target.closest("button[data-spec]");
    if (b) { e.stopPropagation(); st.remove(b.dataset.spec); }
  });
  root.querySelector(".rk-sys-box").addEventListener("mousedown", e => {
    if (e.target === e.currentTarget || e.target === chips) { e.preventDefault(); input.focus(); }
  });
}

function draw(root) {
  const st = root.__st, d = root.__data, off = new Set(d.off);
  st.chips.textContent = "";
  for (const spec of d.chosen) {
    const chip = document.createElement("span"), name = document.createElement("span"), b = document.createElement("button");
    chip.className = "rk-sys-chip" + (off.has(spec) ? " rk-sys-off" : "");
    name.textContent = st.labelOf(spec); name.title = spec;
    b.type = "button"; b.textContent = "×"; b.dataset.spec = spec;
    b.setAttribute("aria-label", "Remove " + st.labelOf(spec));
    chip.append(name, b); st.chips.appendChild(chip);
  }
  const full = d.chosen.length >= d.max;
  st.input.disabled = full;
  st.input.placeholder = full ? `${d.max} systems at most: remove one to add another` : "Add a system";
  root.querySelector("label").textContent = d.title;
}

export default function ({ data, parentElement: root, setTriggerValue }) {
  root.__trigger = setTriggerValue;
  if (!root.__st) { root.__data = data; build(root); draw(root); root.__sig = data.sig; return; }
  if (root.__sig !== data.sig) { root.__data = data; root.__sig = data.sig; draw(root); }
}
