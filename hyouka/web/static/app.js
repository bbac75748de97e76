// hyouka judging screen: keyboard shortcuts, "never say this" marking, one submit per form.
// Model output is only ever read with textContent / selection text and written with .value
// or .textContent: never innerHTML (outputs may contain markup and must stay inert).
(function () {
  "use strict";
  var form = document.getElementById("judge-form");
  if (!form) return;
  var messages = {};
  var blob = document.getElementById("messages");
  if (blob) { try { messages = JSON.parse(blob.textContent || "{}"); } catch (e) { messages = {}; } }
  var pairwise = document.querySelector(".judge").getAttribute("data-pairwise") === "yes";
  var hasRight = !!document.getElementById("out-right");
  var sending = false;

  // A phone has no H key and too little width for the desktop hint: a short one there.
  var highlightBox = document.getElementById("highlight");
  if (highlightBox && window.matchMedia && window.matchMedia("(max-width: 760px)").matches) {
    var short = highlightBox.getAttribute("data-touch-placeholder");
    if (short) highlightBox.setAttribute("placeholder", short);
  }

  function msg(key, values) {
    var text = messages[key] || key;
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }

  // One submission per rendered form: a double click or a second key press is ignored here,
  // and the server's idempotency key catches anything that still gets through.
  // A vote against the person's own 1-5 ratings (A better, yet A rated lower than B) is held
  // once with a note: pressing the same verdict again sends it, changing a rating clears it.
  var held = null;
  function ratingOf(side) {
    var checked = form.querySelector('input[name="rating_' + side + '"]:checked');
    return checked ? parseInt(checked.value, 10) : null;
  }
  function contradicts(winner) {
    var l = ratingOf("left"), r = ratingOf("right");
    if (l === null || r === null) return false;
    return (winner === "left" && l < r) || (winner === "right" && r < l);
  }
  form.addEventListener("change", function (event) {
    if (!/^rating_/.test(event.target.name || "")) return;  // only a rating can settle it
    held = null;
    var note = document.getElementById("vote-note");
    if (note) { note.textContent = ""; note.hidden = true; }
  });

  form.addEventListener("submit", function (event) {
    if (sending) { event.preventDefault(); return; }
    var submitter = event.submitter;
    var winner = submitter && submitter.name === "winner" ? submitter.value : null;
    if (pairwise && hasRight && winner && held !== winner && contradicts(winner)) {
      event.preventDefault();
      held = winner;
      var note = document.getElementById("vote-note");
      if (note) {
        note.textContent = msg("js.contradiction"); note.hidden = false;
        // the note sits with the verdict buttons (kept in view); make sure it is seen
        if (note.scrollIntoView) note.scrollIntoView({ block: "nearest" });
      }
      return;
    }
    sending = true;
    document.body.classList.add("sending");
  });

  function setRating(side, value) {
    var input = form.querySelector('input[name="rating_' + side + '"][value="' + value + '"]');
    if (input) { input.checked = true; input.dispatchEvent(new Event("change", { bubbles: true })); }
  }

  // A checked rating can be cleared by clicking it again (ratings are optional).
  form.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement) || target.type !== "radio") return;
    if (target.getAttribute("data-was") === "yes") { target.checked = false; target.setAttribute("data-was", "no"); }
    else {
      form.querySelectorAll('input[name="' + target.name + '"]').forEach(function (r) { r.setAttribute("data-was", "no"); });
      target.setAttribute("data-was", "yes");
    }
  });
  form.querySelectorAll('input[type="radio"]:checked').forEach(function (r) { r.setAttribute("data-was", "yes"); });

  function sideOf(node) {
    while (node && node !== document.body) {
      if (node.classList && node.classList.contains("output-text")) {
        return node.parentElement.getAttribute("data-side");
      }
      node = node.parentNode;
    }
    return null;
  }

  function markSelection(preferredSide) {
    var selection = window.getSelection();
    var text = selection ? selection.toString().trim() : "";
    var side = selection && selection.rangeCount ? sideOf(selection.getRangeAt(0).commonAncestorContainer) : null;
    var status = document.getElementById("mark-status");
    if (!text || !side || (preferredSide && preferredSide !== side)) {
      status.textContent = msg("js.select_first");
      return;
    }
    var field = document.getElementById("highlight");
    field.value = text.slice(0, 500);
    document.getElementById("highlight_side").value = side;
    field.parentElement.classList.add("marked");
    var label = document.getElementById("label-" + side);
    status.textContent = msg("js.marked", { side: label ? label.textContent : side }) + " " + field.value;
  }

  form.querySelectorAll(".mark-btn").forEach(function (button) {
    // mousedown would clear the selection before click; keep it.
    button.addEventListener("mousedown", function (event) { event.preventDefault(); });
    button.addEventListener("click", function () { markSelection(button.getAttribute("data-side")); });
  });
  document.getElementById("highlight").addEventListener("input", function () {
    document.getElementById("highlight_side").value = "";  // typed by hand: the server finds it
    document.getElementById("mark-status").textContent = "";
  });

  function click(selector) {
    var el = form.querySelector(selector);
    if (el) el.click();
  }

  var leftKeys = { q: 1, w: 2, e: 3, r: 4, t: 5 };
  var rightKeys = { a: 1, s: 2, d: 3, f: 4, g: 5 };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    var active = document.activeElement;
    var tag = active ? active.tagName : "";
    var typing = tag === "TEXTAREA" || tag === "SELECT" ||
      (tag === "INPUT" && ["text", "number", "search", "url", "email"].indexOf(active.type) >= 0);
    if (typing) {
      if (event.key === "Escape") active.blur();
      return;
    }
    var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    // Enter on a score or a tag would submit the form with its first enabled button, "A is
    // better". The form's first submit button (.enter-guard) is disabled, which stops this for
    // text boxes (and for confirming Japanese input); this stops it for scores and tags. A
    // vote is a key or a click, never Enter.
    if (pairwise && key === "Enter" && tag === "INPUT") { event.preventDefault(); return; }
    if (pairwise && /^[1-4]$/.test(key)) { event.preventDefault(); click('button[data-key="' + key + '"]'); return; }
    if (!pairwise && /^[1-5]$/.test(key)) { event.preventDefault(); setRating("left", key); return; }
    if (!pairwise && key === "Enter" && tag !== "BUTTON" && tag !== "A" && tag !== "SUMMARY") { event.preventDefault(); click('button[data-key="Enter"]'); return; }
    if (key === "0") { event.preventDefault(); click('button[data-key="0"]'); return; }
    if (key === "h") { event.preventDefault(); markSelection(null); return; }
    if (key === "/") { event.preventDefault(); document.getElementById("comment").focus(); return; }
    if (pairwise && leftKeys[key]) { event.preventDefault(); setRating("left", leftKeys[key]); return; }
    if (pairwise && hasRight && rightKeys[key]) { event.preventDefault(); setRating("right", rightKeys[key]); return; }
  });
})();
