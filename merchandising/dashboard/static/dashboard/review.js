// Keyboard shortcuts for the review queue (no dependencies).
// j / k: next / previous draft; a: approve; e: edit; r: reject; x: select for bulk; Esc: close.
(() => {
  const cards = () => Array.from(document.querySelectorAll("[data-draft]"));
  let index = -1;

  function select(i) {
    const all = cards();
    if (!all.length) return;
    index = Math.max(0, Math.min(i, all.length - 1));
    all.forEach((c, n) => c.classList.toggle("current", n === index));
    const card = all[index];
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function current() {
    return cards()[index] || null;
  }

  function open(card, role) {
    card.querySelectorAll("details[open]").forEach((d) => d.removeAttribute("open"));
    const details = card.querySelector(`details[data-role="${role}"]`);
    if (!details) return;
    details.setAttribute("open", "");
    const field = details.querySelector("textarea, select, input:not([type=hidden])");
    if (field) field.focus();
  }

  function approve(card) {
    const form = card.querySelector('form[data-role="approve"]');
    if (!form) return;
    if (card.dataset.hard) {
      // A hard-flagged draft needs "approve anyway" and a note: take the reviewer there.
      const box = form.querySelector('input[name="approve_anyway"]');
      if (box) box.checked = true;
      const note = form.querySelector('input[name="note"]');
      if (note && !note.value.trim()) {
        note.focus();
        return;
      }
    }
    form.requestSubmit();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const all = cards();
    if (!all.length) return;
    const fromHash = all.findIndex((c) => `#${c.id}` === window.location.hash);
    select(fromHash >= 0 ? fromHash : 0);
    all.forEach((card, n) => card.addEventListener("click", () => {
      if (index !== n) select(n);
    }));
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = target.matches && target.matches("input, textarea, select");
    const card = current();
    if (event.key === "Escape") {
      if (card) {
        card.querySelectorAll("details[open]").forEach((d) => d.removeAttribute("open"));
        card.focus();
      }
      return;
    }
    if (typing || !card) return;
    const actions = {
      j: () => select(index + 1),
      k: () => select(index - 1),
      a: () => approve(card),
      e: () => open(card, "edit"),
      r: () => open(card, "reject"),
      x: () => {
        const box = card.querySelector('input[name="draft_ids"]');
        if (box) box.checked = !box.checked;
      },
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
})();
