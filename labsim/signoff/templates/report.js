(function () {
  var keys = ["feature", "tag", "result"];
  var sel = {};
  keys.forEach(function (k) { sel[k] = document.getElementById("filter-" + k); });
  var items = Array.prototype.slice.call(document.querySelectorAll("article.scenario"));
  function params() {
    var p = new URLSearchParams(location.search);
    var h = new URLSearchParams(location.hash.replace(/^#/, ""));
    h.forEach(function (v, k) { p.set(k, v); });
    return p;
  }
  function ensureOption(s, v) {
    for (var i = 0; i < s.options.length; i++) { if (s.options[i].value === v) return; }
    var o = document.createElement("option"); o.value = v; o.textContent = v + " (none)"; s.appendChild(o);
  }
  function apply() {
    var f = sel.feature.value, t = sel.tag.value, r = sel.result.value, n = 0;
    items.forEach(function (el) {
      var ok = (!f || el.getAttribute("data-feature") === f) &&
               (!t || (" " + el.getAttribute("data-tags") + " ").indexOf(" " + t + " ") >= 0) &&
               (!r || el.getAttribute("data-result") === r);
      if (ok) { el.removeAttribute("hidden"); n++; } else { el.setAttribute("hidden", ""); }
    });
    document.getElementById("visible-count").textContent = String(n);
    document.body.setAttribute("data-filter", keys.map(function (k) { return k + "=" + sel[k].value; }).join("&"));
  }
  function fromUrl() {
    var h = location.hash.replace(/^#/, "");
    if (h && h.indexOf("=") < 0) return;  // a plain anchor (#timelines), not a filter
    var p = params();
    keys.forEach(function (k) {
      var v = p.get(k);
      if (v === null) v = "";
      if (v) ensureOption(sel[k], v);
      sel[k].value = v;
    });
    apply();
  }
  function toUrl() {
    var p = new URLSearchParams();
    keys.forEach(function (k) { if (sel[k].value) p.set(k, sel[k].value); });
    try { history.replaceState(null, "", location.pathname + location.search + "#" + p.toString()); } catch (e) {}
  }
  keys.forEach(function (k) { sel[k].addEventListener("change", function () { apply(); toUrl(); }); });
  document.getElementById("filter-reset").addEventListener("click", function () {
    keys.forEach(function (k) { sel[k].value = ""; }); apply(); toUrl();
  });
  window.addEventListener("hashchange", fromUrl);
  fromUrl();
})();
