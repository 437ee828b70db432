/* Print buttons ([data-print]) on every page. Served from /static: the Content-Security-Policy
   allows no inline script and no onclick attributes. */
(function () {
  "use strict";
  if (window.tthcPrintBound) { return; }
  window.tthcPrintBound = true;
  document.addEventListener("click", function (ev) {
    var target = ev.target.closest ? ev.target.closest("[data-print]") : null;
    if (target) { ev.preventDefault(); window.print(); }
  });
})();
