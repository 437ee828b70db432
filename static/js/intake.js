/* Reception desk: procedure search, documents of the chosen procedure, appointment preview,
   print buttons and confirmations. Served locally (no internet at the desk); the pages work
   without it (the server renders the same documents and appointment). */
(function () {
  "use strict";

  function fold(text) {
    return (text || "").replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "").replace(/\s+/g, " ").trim().toLowerCase();
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localInputValue(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  // --- print buttons and confirmations (slips, dossier page) -----------------------------
  // Print buttons ([data-print]) are bound by print.js, loaded on every page.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) { ev.preventDefault(); return; }
    // One click, one dossier: a double click at the desk must not record the same thing twice.
    if (form.hasAttribute && form.hasAttribute("data-once")) {
      if (form.dataset.sent) { ev.preventDefault(); return; }
      form.dataset.sent = "1";
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) {
        window.setTimeout(function () { b.disabled = true; b.dataset.label = b.textContent; b.textContent = "Đang lưu…"; }, 0);
      });
    }
  });
  window.addEventListener("pageshow", function () {  // back/forward cache: make the forms usable again
    Array.prototype.forEach.call(document.querySelectorAll("form[data-once]"), function (f) {
      delete f.dataset.sent;
      Array.prototype.forEach.call(f.querySelectorAll("button[type=submit]"), function (b) {
        b.disabled = false; if (b.dataset.label) { b.textContent = b.dataset.label; }
      });
    });
  });

  // --- new dossier --------------------------------------------------------------------------
  var form = document.getElementById("dossier-form");
  if (!form) { return; }
  var search = document.getElementById("procedure-search");
  var select = document.getElementById("procedure_id");
  var receivedAt = form.querySelector("[name=received_at]");
  var receivedDefault = form.querySelector("[name=received_at_default]");
  var loaded = document.getElementById("loaded-procedure");
  var channel = form.querySelector("[name=channel]");
  var previewUrl = form.dataset.previewUrl;
  var kindOptions = Array.prototype.map.call(
    form.querySelectorAll("tfoot select[name=doc_kind] option"), function (o) { return [o.value, o.textContent]; });

  function filterProcedures() {
    var words = fold(search.value).split(" ").filter(Boolean);
    var firstVisible = null;
    Array.prototype.forEach.call(select.options, function (opt) {
      if (!opt.value) { opt.hidden = words.length > 0; return; }
      var hay = opt.dataset.search || fold(opt.textContent);
      var show = words.every(function (w) { return hay.indexOf(w) !== -1; });
      opt.hidden = !show;
      if (show && !firstVisible) { firstVisible = opt; }
    });
    return firstVisible;
  }

  if (search && select) {
    search.addEventListener("input", function () {
      var first = filterProcedures();
      var current = select.options[select.selectedIndex];
      if (first && (!current || current.hidden || !current.value)) {
        select.value = first.value;
        select.dispatchEvent(new Event("change"));
      }
    });
    search.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") {
        ev.preventDefault();
        var name = form.querySelector("[name=applicant_name]");
        if (name) { name.focus(); }
      } else if (ev.key === "ArrowDown") {
        ev.preventDefault();
        select.focus();
      }
    });
  }

  function setPreview(key, value) {
    var el = form.querySelector('[data-preview="' + key + '"]');
    if (!el) { return; }
    if (key === "explanation") {
      el.textContent = "";
      (value || []).forEach(function (line) {
        var li = document.createElement("li"); li.textContent = line; el.appendChild(li);
      });
    } else if (key === "warnings") {
      el.textContent = "";
      (value || []).forEach(function (line) {
        var para = document.createElement("p"); para.textContent = line; el.appendChild(para);
      });
      el.hidden = !(value && value.length);
    } else if (key === "error") {
      el.textContent = value || ""; el.hidden = !value;
    } else {
      el.textContent = value || "—";
    }
  }

  function kindSelect(selected) {
    var s = document.createElement("select");
    s.name = "doc_kind"; s.setAttribute("aria-label", "Loại giấy tờ");
    kindOptions.forEach(function (pair) {
      var o = document.createElement("option"); o.value = pair[0]; o.textContent = pair[1];
      if (pair[0] === selected) { o.selected = true; }
      s.appendChild(o);
    });
    return s;
  }

  function renderDocuments(docs) {
    var body = document.getElementById("documents-body");
    body.textContent = "";
    docs.forEach(function (d, i) {
      var tr = document.createElement("tr");
      var td1 = document.createElement("td"); td1.className = "num";
      var cb = document.createElement("input"); cb.type = "checkbox"; cb.name = "doc_take"; cb.value = String(i);
      cb.id = "doc-take-" + i; cb.checked = true; td1.appendChild(cb);
      var td2 = document.createElement("td");
      var label = document.createElement("label"); label.htmlFor = cb.id; label.textContent = d.name; td2.appendChild(label);
      var hidden = document.createElement("input"); hidden.type = "hidden"; hidden.name = "doc_name"; hidden.value = d.name;
      td2.appendChild(hidden);
      var td3 = document.createElement("td"); td3.appendChild(kindSelect(d.kind));
      var td4 = document.createElement("td"); td4.className = "num";
      var count = document.createElement("input"); count.type = "number"; count.name = "doc_count"; count.min = "1";
      count.max = "99"; count.value = String(d.count || 1); count.className = "count"; count.setAttribute("aria-label", "Số lượng");
      td4.appendChild(count);
      tr.appendChild(td1); tr.appendChild(td2); tr.appendChild(td3); tr.appendChild(td4);
      body.appendChild(tr);
    });
    var extra = form.querySelector("tfoot input[name=doc_take]");
    if (extra) { extra.value = String(docs.length); }
  }

  var pending = 0;
  function refresh(withDocuments) {
    if (!select || !select.value) { return; }
    var ticket = ++pending;
    var url = previewUrl + "?procedure_id=" + encodeURIComponent(select.value) +
      "&received_at=" + encodeURIComponent(receivedAt && receivedAt.value ? receivedAt.value : "");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (info) {
        if (ticket !== pending) { return; }
        var box = document.getElementById("procedure-info");
        if (box) { box.hidden = false; }
        setPreview("unit", info.unit || "(chưa gán đơn vị)");
        setPreview("limit", info.limit);
        setPreview("appointment", info.appointment || "");
        setPreview("forwarding_deadline", info.forwarding_deadline);
        setPreview("explanation", info.explanation);
        setPreview("error", info.error);
        setPreview("warnings", info.warnings);
        if (withDocuments && info.documents) {
          renderDocuments(info.documents);
          loaded.value = select.value;
        }
      })
      .catch(function () { setPreview("error", "Không tải được ngày hẹn trả; vẫn có thể lưu hồ sơ."); });
  }

  if (select) {
    select.addEventListener("change", function () { refresh(select.value !== loaded.value); });
  }
  if (receivedAt) {
    receivedAt.addEventListener("change", function () { receivedAt.dataset.touched = "1"; refresh(false); });
    // Untouched, the reception time follows the clock (the server then stamps the instant of saving).
    // Counted from the server's time at page load: the desk computer's zone may differ.
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(receivedDefault ? receivedDefault.value : "");
    var serverBase = m ? new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]).getTime() : null;
    var clientBase = Date.now();
    window.setInterval(function () {
      if (serverBase === null || receivedAt.dataset.touched || receivedAt.value !== receivedDefault.value) { return; }
      var value = localInputValue(new Date(serverBase + (Date.now() - clientBase)));
      if (value !== receivedAt.value) { receivedAt.value = value; receivedDefault.value = value; refresh(false); }
    }, 30000);
  }

  function toggleOnline() {
    var online = channel && channel.value !== "direct";
    Array.prototype.forEach.call(form.querySelectorAll(".online-only"), function (el) {
      el.hidden = !online && !el.querySelector(".error") && !(el.querySelector("input") || {}).value;
    });
  }
  if (channel) { channel.addEventListener("change", toggleOnline); toggleOnline(); }
})();

/* CCCD scan field of the new-dossier form: F2 focuses it; the desk scanner types the card's QR
   string and Enter, which is swallowed here (it must not submit the form); pasting the string
   works the same. The server parses the string (intake/cccd.py, one parser for every client);
   a malformed string fills nothing and says why. */
(function () {
  "use strict";
  var box = document.querySelector(".scan-field[data-scan-url]");
  var form = document.getElementById("dossier-form");
  if (!box || !form) { return; }
  var scan = document.getElementById("cccd-scan");
  var errorBox = document.getElementById("cccd-scan-error");
  var resultBox = document.getElementById("cccd-scan-result");
  var token = form.querySelector("[name=csrf_token]");

  function show(el, text) { el.textContent = text || ""; el.hidden = !text; }
  function set(name, value) {
    var el = form.querySelector("[name=" + name + "]");
    if (!el) { return; }
    el.value = value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.key === "F2") { ev.preventDefault(); scan.focus(); scan.select(); }
  });

  var busy = false;
  function parse() {
    var raw = scan.value;
    if (!raw.trim() || busy) { return; }
    busy = true;
    fetch(box.dataset.scanUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token ? token.value : "" },
      body: JSON.stringify({ scan: raw })
    }).then(function (r) { return r.json(); }).then(function (answer) {
      if (!answer.fields) {
        show(resultBox, "");
        show(errorBox, (answer.error && answer.error.message) || "Không đọc được chuỗi quét.");
        scan.select();
        return;
      }
      var f = answer.fields;
      set("applicant_kind", "individual");
      set("applicant_name", f.name);
      set("applicant_id_number", f.id_number);
      set("applicant_address", f.address);
      show(errorBox, answer.warning || "");
      show(resultBox, "Đã điền từ thẻ CCCD: " + f.name + ", số " + f.id_number + ", sinh ngày " + f.birth_date + ".");
      scan.value = "";
      var phone = form.querySelector("[name=applicant_phone]");
      if (phone) { phone.focus(); }
    }).catch(function () {
      show(errorBox, "Không gửi được chuỗi quét để đọc; nhập tay các trường.");
    }).then(function () { busy = false; });
  }

  scan.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") { ev.preventDefault(); ev.stopPropagation(); parse(); }
  });
  scan.addEventListener("paste", function () { window.setTimeout(parse, 0); });
})();
