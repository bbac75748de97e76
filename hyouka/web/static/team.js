// hyouka team workbench: keyboard shortcuts on the grid (j/k next/previous case, n next
// failing case, d toggle the diff, o open the case, / search) and the diff toggle.
// Output text is never read or written here: the page is rendered (escaped) on the server.
(function () {
  "use strict";
  var grid = document.getElementById("grid");
  var toggle = document.getElementById("toggle-diff");
  var diffRoot = grid || document.querySelector(".case-cells");

  function setDiff(on) {
    if (!diffRoot) return;
    diffRoot.classList.toggle("diff-on", on);
    if (toggle) toggle.setAttribute("aria-pressed", on ? "true" : "false");
  }
  function flip() {
    if (toggle && toggle.tagName === "A") { window.location.href = toggle.href; return; }
    setDiff(!(diffRoot && diffRoot.classList.contains("diff-on")));
  }
  if (toggle && toggle.tagName !== "A") {
    toggle.addEventListener("click", function () {
      setDiff(!(diffRoot && diffRoot.classList.contains("diff-on")));
    });
  }

  var cases = grid ? Array.prototype.slice.call(grid.querySelectorAll("article.case")) : [];
  var current = -1;
  function go(index) {
    if (!cases.length) return;
    if (index < 0) index = 0;
    if (index >= cases.length) {
      var next = document.getElementById("next-page");
      if (next) { window.location.href = next.href; }
      return;
    }
    if (current >= 0 && cases[current]) cases[current].classList.remove("current");
    current = index;
    cases[current].classList.add("current");
    cases[current].focus({ preventScroll: true });
    cases[current].scrollIntoView({ block: "start", behavior: "instant" });
  }
  function nextFailing() {
    for (var i = current + 1; i < cases.length; i++) {
      if (cases[i].getAttribute("data-failing") === "yes") { go(i); return; }
    }
    var next = document.getElementById("next-page");
    if (next) window.location.href = next.href;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    var active = document.activeElement;
    var tag = active ? active.tagName : "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      if (event.key === "Escape") active.blur();
      return;
    }
    var key = event.key;
    if (key === "j") { event.preventDefault(); go(current + 1); }
    else if (key === "k") { event.preventDefault(); go(current - 1); }
    else if (key === "n") { event.preventDefault(); nextFailing(); }
    else if (key === "d") { event.preventDefault(); flip(); }
    else if (key === "o" && current >= 0) {
      var link = cases[current].querySelector("a.case-link");
      if (link) { event.preventDefault(); window.location.href = link.href; }
    } else if (key === "/") {
      var search = document.getElementById("f-q");
      if (search) { event.preventDefault(); search.focus(); }
    }
  });
  document.documentElement.setAttribute("data-team-ready", "yes");
})();

// The run page's per-variant summary (hyouka show + compare's intervals): fetched after the
// grid is shown, built with textContent only (variant names and verdicts are data, not markup).
(function () {
  "use strict";
  var box = document.getElementById("summary");
  if (!box) return;
  var src = box.getAttribute("data-src");
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function num(x) { return x === null || x === undefined ? "–" : Number(x).toFixed(2); }
  fetch(src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
    .then(function (data) {
      var holder = document.getElementById("summary-table");
      var table = el("table", null, "summary-table");
      var head = el("thead"), tr = el("tr");
      [data.labels.variant, data.labels.samples, data.labels.errors, data.labels.cost].concat(data.metrics)
        .forEach(function (h) { tr.appendChild(el("th", h)); });
      head.appendChild(tr); table.appendChild(head);
      var body = el("tbody");
      data.variants.forEach(function (v) {
        var row = el("tr");
        var name = el("th"); name.setAttribute("scope", "row");
        var link = el("a", v.name); link.setAttribute("href", v.href);
        name.appendChild(link); name.appendChild(document.createTextNode(" "));
        name.appendChild(el("span", v.version, "hint"));
        row.appendChild(name);
        row.appendChild(el("td", v.samples));
        row.appendChild(el("td", v.errors));
        row.appendChild(el("td", v.cost === null ? "–" : "$" + Number(v.cost).toFixed(4)));
        data.metrics.forEach(function (m) {
          var c = v.metrics[m];
          var td = el("td", c ? num(c.mean) : "–", "metric");
          if (c && c.low !== null) { td.appendChild(document.createTextNode(" ")); td.appendChild(el("span", "[" + num(c.low) + ", " + num(c.high) + "]", "ci")); }
          row.appendChild(td);
        });
        body.appendChild(row);
      });
      table.appendChild(body);
      holder.textContent = "";
      holder.appendChild(table);
      var list = document.getElementById("summary-verdicts");
      data.verdicts.forEach(function (v) {
        var li = el("li"), a = el("a", v.text); a.setAttribute("href", v.href);
        li.appendChild(a); list.appendChild(li);
      });
      if (data.problem) { var p = document.getElementById("summary-problem"); p.textContent = data.problem; p.hidden = false; }
      box.setAttribute("data-loaded", "yes");
    })
    .catch(function () {
      var loading = document.getElementById("summary-loading");
      if (loading) loading.textContent = box.getAttribute("data-failed") || "!";
    });
})();

// "All samples" of a grid cell, loaded when opened; every text set with textContent, each
// invisible or direction-changing character shown as a mark (as the server does: reveal).
(function () {
  "use strict";
  var INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u00ad\u061c]/g;
  function shown(text) {
    return String(text).replace(INVISIBLE, function (c) {
      return "\u27e6U+" + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0") + "\u27e7";
    });
  }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  document.querySelectorAll("details.all-samples.lazy").forEach(function (box) {
    box.addEventListener("toggle", function () {
      if (!box.open || box.getAttribute("data-loaded")) return;
      box.setAttribute("data-loaded", "loading");
      fetch(box.getAttribute("data-src"), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (data) {
          var loading = box.querySelector(".loading");
          if (loading) loading.remove();
          data.samples.forEach(function (s) {
            var block = el("div", null, "sample");
            block.setAttribute("data-status", s.status);
            var head = "#" + s.index + (s.status !== "ok" ? " " + s.status_label : "") +
              (s.latency_ms !== null ? " · " + Math.round(s.latency_ms) + " ms" : "");
            block.appendChild(el("p", head, "sample-head"));
            block.appendChild(el("div", shown(s.text), s.status === "ok" ? "text out" : "text err"));
            if (s.scores.length) {
              var list = el("ul", null, "scores");
              s.scores.forEach(function (sc) {
                var cls = "sc " + (sc.passed === true ? "pass" : sc.passed === false ? "fail" : "val") + (sc.judge ? " judge" : "");
                var li = el("li", null, cls);
                var mark = sc.passed === true ? "✓" : sc.passed === false ? "✗" : "·";
                li.appendChild(el("span", mark + " " + sc.label, "sc-name"));
                if (sc.passed === null && sc.value !== null) li.appendChild(el("span", " " + Number(sc.value).toFixed(2), "sc-val"));
                if (sc.reason) li.appendChild(el("span", shown(sc.reason), "sc-reason text"));
                list.appendChild(li);
              });
              block.appendChild(list);
            }
            box.appendChild(block);
          });
          box.setAttribute("data-loaded", "yes");
        })
        .catch(function () { box.removeAttribute("data-loaded"); });
    });
  });
})();
