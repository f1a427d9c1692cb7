// musim page: artist-name autocomplete and sortable result tables. The page works without it.
(function () {
  "use strict";
  var input = document.getElementById("artist-input");
  var list = document.getElementById("artist-names");
  var picked = document.getElementById("artist-id");  // the id of an artist picked among namesakes
  var ids = {};  // option text -> artist id, for names several artists share
  var timer = null, last = "";
  if (input && list) {
    input.addEventListener("input", function () {
      var q = input.value.trim();
      if (picked) {
        if (ids.hasOwnProperty(input.value)) {
          picked.value = ids[input.value];
          picked.setAttribute("data-name", input.value);
        } else if (input.value !== picked.getAttribute("data-name")) {
          picked.value = "";  // a name typed: asked for by name
        }
      }
      if (q === last || q.length < 2 || ids.hasOwnProperty(input.value)) return;
      last = q;
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch("api/suggest?limit=10&q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { artists: [] }; })
          .then(function (data) {
            list.textContent = "";
            ids = {};
            (data.artists || []).forEach(function (a) {
              // a shared name: one entry per artist, told apart by its detail, asked for by its id
              var text = a.shared ? a.name + " (" + a.detail + ")" : a.name;
              if (a.shared) ids[text] = String(a.artist_id);
              var opt = document.createElement("option");
              opt.value = text;
              list.appendChild(opt);
            });
          })
          .catch(function () { /* autocomplete is optional */ });
      }, 150);
    });
  }
  function cellValue(row, i) {
    var cell = row.cells[i];
    if (!cell) return "";
    var v = cell.getAttribute("data-v");
    if (v !== null && v !== "" && !isNaN(Number(v))) return Number(v);
    return cell.textContent.trim().toLowerCase();
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.addEventListener("click", function () {
        var asc = !th.classList.contains("sorted-asc");
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.classList.remove("sorted-asc", "sorted-desc"); });
        th.classList.add(asc ? "sorted-asc" : "sorted-desc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, i), y = cellValue(b, i);
          return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
