// hyouka judging screen, conversations (issue 15): mark the turn a complaint or a "never say
// this" points at. Turn texts are only read with textContent, never written as HTML.
(function () {
  "use strict";
  var panel = document.getElementById("turn-mark-panel");
  if (!panel) return;
  var turnField = document.getElementById("mark_turn");
  var sideField = document.getElementById("mark_side");
  var status = document.getElementById("turn-mark-status");
  var template = status.getAttribute("data-template") || "{n} {who}";

  function clearMarked() {
    document.querySelectorAll(".turn.marked, .output.marked-reply").forEach(function (el) {
      el.classList.remove("marked", "marked-reply");
    });
  }

  function mark(button) {
    var turn = button.getAttribute("data-turn");
    var side = button.getAttribute("data-side") || "";
    clearMarked();
    turnField.value = turn;
    sideField.value = side;
    var bubble = button.closest(".turn");
    var who = "";
    if (bubble) {
      bubble.classList.add("marked");
      var label = bubble.querySelector(".who");
      who = label ? label.textContent.replace(/\s+/g, " ").trim() : "";
    } else {
      var card = button.closest(".output");
      if (card) {
        card.classList.add("marked-reply");
        var h = card.querySelector("h2");
        who = h ? h.textContent.trim() : side;
      }
    }
    status.textContent = template.split("{n}").join(turn).split("{who}").join(who);
    panel.hidden = false;
    panel.scrollIntoView({ block: "nearest" });
  }

  document.querySelectorAll(".turn-mark").forEach(function (button) {
    button.addEventListener("click", function () { mark(button); });
  });
  document.getElementById("turn-unmark").addEventListener("click", function () {
    clearMarked();
    turnField.value = "";
    sideField.value = "";
    panel.hidden = true;
  });
})();
