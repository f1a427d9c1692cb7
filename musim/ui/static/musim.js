// musim page: artist-name autocomplete and sortable result tables. The page works without it.
(function () {
  "use strict";
  var input = document.getElementById("artist-input");
  var list = document.getElementById("artist-names");
  var timer = null, last = "";
  if (input && list) {
    input.addEventListener("input", function () {
      var q = input.value.trim();
      if (q === last || q.length < 2) return;
      last = q;
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch("api/suggest?limit=10&q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { names: [] }; })
          .then(function (data) {
            list.textContent = "";
            (data.names || []).forEach(function (name) {
              var opt = document.createElement("option");
              opt.value = name;
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
