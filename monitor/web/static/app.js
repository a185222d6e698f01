// Keyboard shortcuts for the review app (the pages work without them).
// List: j / k move the selection, Enter opens it. Report: j next, k previous, r mark reviewed.
"use strict";
(function () {
  function typing(event) {
    var el = event.target;
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(el.tagName));
  }
  function go(id) {
    var link = document.getElementById(id);
    if (link) { window.location.href = link.href; }
  }
  function listKeys(rows) {
    var current = -1;
    function select(i) {
      if (i < 0 || i >= rows.length) { return; }
      if (current >= 0) { rows[current].classList.remove("current"); }
      current = i;
      rows[i].classList.add("current");
      var link = rows[i].querySelector("a.open");
      if (link) { link.focus(); }
    }
    return function (key) {
      if (key === "j") { select(current + 1); return true; }
      if (key === "k") { select(current < 0 ? 0 : current - 1); return true; }
      return false;
    };
  }
  document.addEventListener("DOMContentLoaded", function () {
    var rows = Array.prototype.slice.call(document.querySelectorAll("#reports tbody tr"));
    var onList = rows.length ? listKeys(rows) : null;
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) { return; }
      var key = event.key;
      if (onList) {
        if (onList(key)) { event.preventDefault(); }
        return;
      }
      if (key === "j") { go("next"); }
      else if (key === "k") { go("prev"); }
      else if (key === "r") {
        var button = document.getElementById("mark");
        if (button) { event.preventDefault(); button.click(); }
      }
    });
  });
})();
