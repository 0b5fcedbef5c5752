/* Front desk keys (documented on the page): "/" goes to the patient search; ArrowDown and
   ArrowUp move through the patients found and the free times; Enter on a list box submits its
   form (browsers do not). Everything else is plain links, forms and htmx. Loaded once, even
   when a boosted navigation runs this script again. */
if (!window.hmsDeskKeys) {
  window.hmsDeskKeys = true;
  document.addEventListener("keydown", function (e) {
    var t = e.target, search = document.getElementById("desk-q");
    if (e.key === "/" && !/^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) && search) {
      e.preventDefault();
      search.focus();
    } else if (e.key === "Enter" && t.tagName === "SELECT" && t.form
               && t.form.closest("#desk-booking, .queue")) {
      e.preventDefault();
      t.form.requestSubmit();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      var list = t === search ? document.querySelector("#patient-results [data-arrows]")
                              : t.closest("[data-arrows]");
      if (!list) return;
      var links = Array.prototype.slice.call(list.querySelectorAll("a, button"));
      var next = t === search ? (e.key === "ArrowDown" ? links[0] : null)
                              : links[links.indexOf(t) + (e.key === "ArrowDown" ? 1 : -1)];
      if (!next && t !== search && e.key === "ArrowUp" && list.closest("#patient-results")) next = search;
      if (next) { e.preventDefault(); next.focus(); }
    }
  });
}
