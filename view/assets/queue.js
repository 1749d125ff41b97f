// Compare's queue bar: where the view is in a query list, Previous / Next, and the keys j / k and the left and right
// arrows (one listener for the page; not while typing in a box, and not on a focused row, where keys judge).
function button(text, act, title, off) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "rk-qb";
  b.dataset.step = act;
  b.textContent = text;
  b.title = title;
  b.disabled = !!off;
  return b;
}
function typing(t) {
  return !!(t && t.closest && (t.closest("input, textarea, select, [contenteditable=true]") || t.closest("details.rk-row")));
}

export default function ({ data, parentElement: root, setTriggerValue }) {
  __STYLE__;
  window.__rkQueueTrigger = setTriggerValue;  // the latest mount's, used by the one key listener below
  const sig = JSON.stringify(data);
  if (root.__sig !== sig) {
    root.__sig = sig;
    const box = document.createElement("div"), label = document.createElement("span"), where = document.createElement("b");
    box.className = "rk-queue";
    box.setAttribute("role", "navigation");
    box.setAttribute("aria-label", "Query queue");
    label.className = "rk-qt";
    label.textContent = "Queue: " + data.title + " · ";
    where.textContent = data.where;
    label.append(where);
    box.append(
      button("◀ Previous", "prev", "Previous query (k or ←)", data.first),
      button("Next ▶", "next", "Next query (j or →)", data.last),
      label,
      button("✕", "close", "Close the queue", false),
    );
    box.addEventListener("click", e => {
      const b = e.target.closest("button.rk-qb");
      if (b && !b.disabled) window.__rkQueueTrigger("step", b.dataset.step);
    });
    root.replaceChildren(box);
  }
  if (!window.__rkQueueKeys) {
    window.__rkQueueKeys = true;
    document.addEventListener("keydown", e => {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target) || !document.querySelector(".rk-queue")) return;
      const by = { j: "next", ArrowRight: "next", k: "prev", ArrowLeft: "prev" }[e.key];
      if (!by) return;
      const b = document.querySelector(`.rk-queue button[data-step="${by}"]`);
      if (b && !b.disabled) { e.preventDefault(); window.__rkQueueTrigger("step", by); }
    });
  }
}
