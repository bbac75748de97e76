// hyouka playground: try a draft on chosen cases with the outputs streaming in (server-sent
// events over fetch), and a background run's progress. Every output and error is written
// with textContent: model text is never markup.
(function () {
  "use strict";
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  var tryButton = document.getElementById("pg-try");
  if (tryButton) {
    var form = document.getElementById("pg-form");
    var results = document.getElementById("pg-results");
    var status = document.getElementById("pg-status");
    var boxes = {};
    function box(caseId) {
      if (!boxes[caseId]) {
        var card = el("article", null, "case");
        card.setAttribute("data-case", caseId);
        card.appendChild(el("h3", caseId || "—"));
        var out = el("div", "…", "text out");
        card.appendChild(out);
        results.appendChild(card);
        boxes[caseId] = out;
      }
      return boxes[caseId];
    }
    function handle(event) {
      if (event.event === "start") { box(event.case).textContent = "…"; }
      else if (event.event === "output") {
        var out = box(event.case); out.textContent = event.text; out.parentElement.setAttribute("data-state", "ok");
        out.parentElement.appendChild(el("p", event.ms + " ms", "hint"));
      } else if (event.event === "error") {
        var target = box(event.case); target.className = "text err";
        target.textContent = results.getAttribute("data-error-label") + " " + event.message;
        target.parentElement.setAttribute("data-state", "error");
      } else if (event.event === "done") {
        status.textContent = "✓";
        results.setAttribute("data-done", "yes");
        tryButton.disabled = false;
      }
    }
    tryButton.addEventListener("click", function () {
      results.textContent = ""; boxes = {}; results.removeAttribute("data-done");
      status.textContent = "…"; tryButton.disabled = true;
      fetch(tryButton.getAttribute("data-src"), { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) {
            return response.json().then(function (j) { handle({ event: "error", case: "", message: j.message || response.status }); handle({ event: "done" }); });
          }
          var reader = response.body.getReader();
          var decoder = new TextDecoder();
          var buffer = "";
          function pump() {
            return reader.read().then(function (chunk) {
              if (chunk.done) { if (!results.getAttribute("data-done")) handle({ event: "done" }); return; }
              buffer += decoder.decode(chunk.value, { stream: true });
              var parts = buffer.split("\n\n");
              buffer = parts.pop();
              parts.forEach(function (part) {
                var line = part.split("\n").filter(function (l) { return l.indexOf("data: ") === 0; })[0];
                if (line) { try { handle(JSON.parse(line.slice(6))); } catch (e) { /* a broken event is skipped */ } }
              });
              return pump();
            });
          }
          return pump();
        })
        .catch(function (error) { handle({ event: "error", case: "", message: String(error) }); handle({ event: "done" }); });
    });
  }

  var job = document.getElementById("job");
  if (job) {
    var words = {};
    try { words = JSON.parse(document.getElementById("job-words").textContent || "{}"); } catch (e) { words = {}; }
    function poll() {
      fetch(job.getAttribute("data-src"), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          var bar = document.getElementById("job-bar");
          bar.max = Math.max(data.total, 1); bar.value = data.done;
          document.getElementById("job-text").textContent = (words.progress || "{done}/{total}")
            .split("{done}").join(data.done).split("{total}").join(data.total).split("{errors}").join(data.errors);
          job.setAttribute("data-status", data.status);
          if (data.status === "finished") {
            document.getElementById("job-run").setAttribute("href", "/team/runs/" + encodeURIComponent(data.run));
            document.getElementById("job-done").hidden = false;
          } else if (data.status === "failed") {
            var problem = document.getElementById("job-error"); problem.textContent = data.message; problem.hidden = false;
          } else { setTimeout(poll, 700); }
        })
        .catch(function () { setTimeout(poll, 2000); });
    }
    if (job.getAttribute("data-status") === "running") poll();
  }
})();
