// backfeed admin pages: progressive enhancement only. Every form works
// without this script; it adds a "select all" box to lists with
// checkboxes and says how many rows are selected.

for (const table of document.querySelectorAll('table[data-select]')) {
  const boxes = () => [...table.querySelectorAll('tbody input[type=checkbox][name=id]')];
  const head = table.querySelector('thead th.select');
  if (!head || !boxes().length) continue;
  const all = document.createElement('input');
  all.type = 'checkbox';
  all.setAttribute('aria-label', 'Select all rows');
  head.replaceChildren(all);
  const status = document.getElementById(table.dataset.select);
  const update = () => {
    const n = boxes().filter((b) => b.checked).length;
    all.checked = n > 0 && n === boxes().length;
    all.indeterminate = n > 0 && n < boxes().length;
    if (status) status.textContent = n ? `${n} selected` : '';
  };
  all.addEventListener('change', () => { for (const b of boxes()) b.checked = all.checked; update(); });
  table.addEventListener('change', (e) => { if (e.target !== all) update(); });
  update();
}
