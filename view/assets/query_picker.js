
const SHOW = 100;
let seq = 0;
const label = o => o[0] + " · " + o[1];

function matches(options, typed) {
  const words = typed.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return options;
  const t = typed.trim().toLowerCase(), exact = [], prefix = [], rest = [];
  for (const o of options) {
    const id = o[0].toLowerCase(), hay = id + " " + o[1].toLowerCase();
    if (!words.every(w => hay.includes(w))) continue;
    (id === t ? exact : id.startsWith(t) ? prefix : rest).push(o);
  }
  return exact.concat(prefix, rest);
}

function build(root) {
  __STYLE__;
  const n = ++seq, list = "rk-q-list-" + n, box = "rk-q-input-" + n;
  root.innerHTML =
    '<div class="rk-q"><label class="rk-q-label"></label><div class="rk-q-box"><input type="text" role="combobox" ' +
    'aria-autocomplete="list" aria-expanded="false" autocomplete="off" spellcheck="false"></div>' +
    '<div class="rk-q-drop" hidden><ul class="rk-q-list" role="listbox"></ul>' +
    '<p class="rk-q-more" role="status" aria-live="polite"></p></div></div>';
  const input = root.querySelector("input"), ul = root.querySelector("ul");
  const drop = root.querySelector(".rk-q-drop"), more = root.querySelector(".rk-q-more");
  input.id = box; ul.id = list; input.setAttribute("aria-controls", list);
  root.querySelector("label").htmlFor = box;
  ul.setAttribute("aria-label", "Queries");
  const st = root.__st = {input, ul, shown: [], active: -1, open: false};

  const options = () => (window.__rkQueries || {})[root.__data.id] || [];
  const setActive = i => activate(st, i);
  const show = typed => {
    const all = matches(options(), typed);
    st.shown = all.slice(0, SHOW);
    ul.textContent = "";
    st.shown.forEach((o, i) => {
      const li = document.createElement("li");
      li.id = list + "-" + i; li.setAttribute("role", "option"); li.setAttribute("aria-selected", "false");
      li.dataset.i = i; li.textContent = label(o);
      if (o[0] === root.__data.qid) li.classList.add("rk-q-current");
      ul.appendChild(li);
    });
    // outside the listbox (it holds options only), announced to screen readers
    more.textContent = all.length > SHOW ? `${all.length - SHOW} more: type to narrow` : all.length ? "" : "No query matches";
    st.active = -1; setActive(typed ? 0 : st.shown.findIndex(o => o[0] === root.__data.qid));
    drop.hidden = false; st.open = true; input.setAttribute("aria-expanded", "true");
  };
  const close = () => {
    drop.hidden = true; st.open = false; input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  };
  const restore = () => { close(); input.value = root.__data.label; };
  const pick = o => {
    root.__data = Object.assign({}, root.__data, {label: label(o)});  // shown until the rerun brings it back
    close(); input.value = label(o); input.blur();
    if (o[0] !== root.__data.qid) root.__trigger("pick", o[0]);
  };
  input.addEventListener("focus", () => { input.select(); show(""); });
  input.addEventListener("input", () => show(input.value));
  input.addEventListener("blur", restore);
  input.addEventListener("keydown", e => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!st.open) show("");
      setActive(st.active + (e.key === "ArrowDown" ? 1 : -1));
    } else if (e.key === "Enter" && st.open && st.shown[st.active]) {
      e.preventDefault(); pick(st.shown[st.active]);
    } else if (e.key === "Escape") { e.preventDefault(); restore(); input.blur(); }
  });
  drop.addEventListener("mousedown", e => e.preventDefault());  // keep the focus (and the list) until the click
  ul.addEventListener("click", e => {
    const li = e.target.closest('[role="option"]');
    if (li) pick(st.shown[+li.dataset.i]);
  });
}

export default function ({ data, parentElement: root, setTriggerValue }) {
  root.__trigger = setTriggerValue;
  root.__data = data;
  if (!root.__st) build(root);
  const st = root.__st;
  root.querySelector("label").textContent = data.title;
  if (document.activeElement !== st.input) st.input.value = data.label;
}
