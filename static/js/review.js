/* The review page's what-if: editing a proposed time asks the server how many of the row's
   dossiers would have been late under it (a replay of their real events, nothing written) and
   updates the row and the total at once. Served locally; without it the page still shows the
   counts under the proposals and applies decisions. */
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) { return; }
  var url = form.dataset.whatIfUrl;
  var timers = {};
  var latest = {};

  function cellFor(key) { return form.querySelector('[data-late-for="' + key + '"]'); }

  function total() {
    var sum = 0;
    Array.prototype.forEach.call(form.querySelectorAll("[data-late-for]"), function (cell) {
      var n = parseInt(cell.textContent, 10);
      if (!isNaN(n)) { sum += n; }
    });
    var out = document.getElementById("what-if-total");
    if (out) { out.textContent = String(sum); }
  }

  function ask(input) {
    var key = input.dataset.key;
    var cell = cellFor(key);
    if (!cell) { return; }
    var amount = input.value.trim();
    var ticket = (latest[key] || 0) + 1;
    latest[key] = ticket;
    cell.classList.add("pending");
    var query = "?from=" + encodeURIComponent(form.dataset.from) + "&to=" + encodeURIComponent(form.dataset.to) +
      "&key=" + encodeURIComponent(key) + "&amount=" + encodeURIComponent(amount);
    fetch(url + query, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
      .then(function (result) {
        if (latest[key] !== ticket) { return; }
        cell.classList.remove("pending");
        if (result[0]) {
          cell.classList.remove("what-if-error");
          cell.textContent = String(result[1].late);
          cell.title = result[1].late + "/" + result[1].finished + " hồ sơ trễ hạn nếu thời hạn là " + result[1].amount;
        } else {
          cell.classList.add("what-if-error");
          cell.textContent = "?";
          cell.title = (result[1].error && result[1].error.message) || "Không tính được";
        }
        total();
      })
      .catch(function () {
        if (latest[key] !== ticket) { return; }
        cell.classList.remove("pending");
        cell.classList.add("what-if-error");
        cell.textContent = "?";
        cell.title = "Không kết nối được máy chủ";
        total();
      });
  }

  form.addEventListener("input", function (ev) {
    var input = ev.target;
    if (!input.classList || !input.classList.contains("what-if")) { return; }
    var key = input.dataset.key;
    window.clearTimeout(timers[key]);
    timers[key] = window.setTimeout(function () { ask(input); }, 250);
  });
})();
