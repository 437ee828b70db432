/* Keyboard shortcuts of every page: an element with data-shortcut="alt+n" (or "f2", "ctrl+shift+k"...)
   is clicked when it is a link or a button, focused otherwise. Browsers' own accesskey needs a
   different modifier on each system; this one is the same everywhere. Static file: no inline
   script (the Content-Security-Policy forbids them). */
(function () {
  "use strict";
  function combo(ev) {
    var parts = [];
    if (ev.ctrlKey) { parts.push("ctrl"); }
    if (ev.altKey) { parts.push("alt"); }
    if (ev.shiftKey) { parts.push("shift"); }
    parts.push((ev.key || "").toLowerCase());
    return parts.join("+");
  }
  document.addEventListener("keydown", function (ev) {
    var key = combo(ev);
    var target = document.querySelector('[data-shortcut="' + key.replace(/"/g, "") + '"]');
    if (!target) { return; }
    ev.preventDefault();
    if (target.tagName === "A" || target.tagName === "BUTTON") { target.click(); } else { target.focus(); }
  });
})();
