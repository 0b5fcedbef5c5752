/* A "Print" button (data-print) opens the browser's print dialog. A file and not an onclick
   attribute, since the Content-Security-Policy runs no inline script. Installed once, even when
   a boosted navigation runs this script again. */
if (!window.hmsPrint) {
  window.hmsPrint = true;
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-print]")) window.print();
  });
}
