/* Where attention goes after an htmx swap, as after a page load (an htmx extension; setup.sh
   appends this file to htmx in static/htmx.min.js: one request). If the focus is still on
   something in the page (htmx's own autofocus, or the search box being typed in), it stays.
   Otherwise, when the swap took the focused element away:
   - a refused form: its error summary, or else its first invalid field (its message beside it);
   - a boosted navigation (a new page in the body): the main heading;
   - where the focus was still exists (a row changed in its list): its first button there;
   - any other swap: the new content's first heading, or the new content itself. */
(function () {
  var was = null;  // the id of the nearest element with one around the focus, before the swap
  function focusOn(place) {
    if (!place.matches("a[href], button, input, select, textarea, summary, [tabindex]"))
      place.setAttribute("tabindex", "-1");
    place.focus({preventScroll: place.tagName === "H1"});
  }
  // An error summary's link puts the focus in its box (the browser would only scroll there).
  document.addEventListener("click", function (event) {
    var link = event.target.closest(".error-summary a[href^='#']");
    var box = link && document.getElementById(link.getAttribute("href").slice(1));
    if (box) { event.preventDefault(); box.focus(); }
  });
  htmx.registerExtension("hms-focus", {
    htmx_before_swap: function () {
      var around = document.activeElement && document.activeElement.closest("[id]");
      was = around && around.id !== "main" ? around.id : null;
    },
    htmx_after_swap: function (elt, detail) {
      var active = document.activeElement, ctx = detail.ctx || {};
      if (active && active !== document.body && active.isConnected) return;
      var target = ctx.target && ctx.target.id ? document.getElementById(ctx.target.id) : null;
      var page = !target || target === document.body, before = was && document.getElementById(was);
      var place = (page ? document.querySelector("main") : target || document)
          .querySelector('.error-summary, [aria-invalid="true"]')
        || (page ? document.querySelector("main h1")
                 : before && (before.querySelector("button") || before)
                   || target.querySelector("h1, h2, h3") || target);
      if (place) focusOn(place);
    }
  });
})();
