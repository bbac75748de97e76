/* hyouka feedback widget: no dependencies, no variant identity, nothing parsed as HTML.
 *
 *   <script src="https://HYOUKA/widget.js" data-key="hkp_..." data-lang="ja" defer></script>
 *   <div data-hyouka-output="OUTPUT_ID">...the model's output...</div>
 *
 * Next to every element with data-hyouka-output it puts 👍/👎; 👎 opens "what is wrong"
 * (a comment, the project's quick tags, and "never say this" on a phrase selected in the
 * output). Everything is a <button> or a <textarea>: Tab, Enter, Space and Escape work, and
 * tap targets are 44px for phones. Text is only ever set with textContent.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var base = new URL(script.src, document.baseURI).origin;
  var key = script.getAttribute("data-key") || "";
  var lang = (script.getAttribute("data-lang") || document.documentElement.lang ||
              navigator.language || "en").toLowerCase().indexOf("ja") === 0 ? "ja" : "en";
  var T = {
    en: {
      up: "Good answer", down: "Something is wrong", what: "What is wrong?",
      placeholder: "Tell us what is wrong (optional)", never: "Never say this",
      select: "Select a phrase in the answer to mark it", send: "Send", cancel: "Cancel",
      thanks: "Thank you for the feedback", failed: "Could not send; please try again",
      tags: "Quick tags"
    },
    ja: {
      up: "良い回答", down: "よくない点がある", what: "どこが悪いか",
      placeholder: "どこが悪いか教えてください（任意）", never: "二度と言わないで",
      select: "回答の中の語句を選択すると指定できます", send: "送信", cancel: "キャンセル",
      thanks: "フィードバックありがとうございます", failed: "送信できませんでした。もう一度お試しください",
      tags: "クイックタグ"
    }
  }[lang];
  var tags = [];
  var ready = null;

  function el(tag, text) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    return node;
  }
  function button(text, label) {
    var b = el("button", text);
    b.type = "button";
    if (label) { b.setAttribute("aria-label", label); b.title = label; }
    b.style.minWidth = "44px"; b.style.minHeight = "44px"; b.style.margin = "2px";
    b.style.fontSize = "16px"; b.style.cursor = "pointer";
    return b;
  }
  function randomKey() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (x) {
      return ("0" + x.toString(16)).slice(-2);
    }).join("");
  }
  function request(path, body) {
    var init = { method: body ? "POST" : "GET", mode: "cors", credentials: "omit",
                 headers: { "X-Hyouka-Key": key } };
    if (body) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(base + path, init).then(function (r) {
      if (!r.ok) { throw new Error("hyouka: " + r.status); }
      return r.json();
    });
  }
  function loadConfig() {
    if (!ready) {
      ready = request("/api/widget/config").then(function (c) {
        tags = Array.isArray(c.tags) ? c.tags.slice(0, 20) : [];
      }).catch(function () { tags = []; });
    }
    return ready;
  }

  function attach(output) {
    if (output.getAttribute("data-hyouka-widget") === "on") { return; }
    output.setAttribute("data-hyouka-widget", "on");
    var ref = output.getAttribute("data-hyouka-output") || "";
    var box = el("div");
    box.className = "hyouka-widget";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", T.what);
    box.setAttribute("lang", lang);
    box.style.margin = "4px 0"; box.style.fontFamily = "inherit";
    var up = button("👍", T.up);
    var down = button("👎", T.down);
    up.className = "hyouka-up"; down.className = "hyouka-down";
    var status = el("span");
    status.className = "hyouka-status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    status.style.marginLeft = "8px";
    box.appendChild(up); box.appendChild(down); box.appendChild(status);
    var panel = null;
    var phrase = "";

    function send(body) {
      body.output_ref = ref;
      body.idempotency_key = randomKey();
      body.output_text = (output.textContent || "").slice(0, 100000);
      status.textContent = "…";
      return request("/api/widget/feedback", body).then(function () {
        status.textContent = T.thanks;
        up.disabled = true; down.disabled = true;
        if (panel) { panel.remove(); panel = null; }
      }).catch(function () { status.textContent = T.failed; });
    }
    function closePanel() {
      if (panel) { panel.remove(); panel = null; down.setAttribute("aria-expanded", "false"); down.focus(); }
    }
    function openPanel() {
      if (panel) { closePanel(); return; }
      panel = el("div");
      panel.className = "hyouka-panel";
      panel.style.marginTop = "4px";
      down.setAttribute("aria-expanded", "true");
      var label = el("label", T.what);
      label.style.display = "block";
      var text = el("textarea");
      text.className = "hyouka-comment";
      text.maxLength = 5000; text.rows = 3; text.placeholder = T.placeholder;
      text.style.width = "100%"; text.style.fontSize = "16px"; text.style.boxSizing = "border-box";
      label.appendChild(text);
      panel.appendChild(label);
      var chosen = {};
      var tagRow = el("div");
      tagRow.setAttribute("role", "group");
      tagRow.setAttribute("aria-label", T.tags);
      tags.forEach(function (name) {
        var b = button(String(name));
        b.className = "hyouka-tag";
        b.setAttribute("aria-pressed", "false");
        b.addEventListener("click", function () {
          chosen[name] = !chosen[name];
          b.setAttribute("aria-pressed", chosen[name] ? "true" : "false");
          b.style.fontWeight = chosen[name] ? "bold" : "normal";
        });
        tagRow.appendChild(b);
      });
      panel.appendChild(tagRow);
      var never = button(T.never);
      never.className = "hyouka-never";
      never.setAttribute("aria-pressed", "false");
      var hint = el("span", T.select);
      hint.className = "hyouka-phrase";
      hint.style.marginLeft = "6px";
      never.addEventListener("mousedown", function (e) { e.preventDefault(); });
      never.addEventListener("click", function () {
        var sel = window.getSelection ? String(window.getSelection() || "") : "";
        sel = sel.trim().slice(0, 5000);
        var inside = sel && (output.textContent || "").indexOf(sel) >= 0;
        phrase = inside ? sel : "";
        never.setAttribute("aria-pressed", phrase ? "true" : "false");
        hint.textContent = phrase ? "「" + phrase + "」" : T.select;
      });
      panel.appendChild(never); panel.appendChild(hint);
      var row = el("div");
      var ok = button(T.send); ok.className = "hyouka-send";
      var cancel = button(T.cancel); cancel.className = "hyouka-cancel";
      ok.addEventListener("click", function () {
        send({ thumb: "down", comment: text.value.trim() || null,
               tags: Object.keys(chosen).filter(function (k) { return chosen[k]; }),
               phrase: phrase || null });
      });
      cancel.addEventListener("click", closePanel);
      row.appendChild(ok); row.appendChild(cancel);
      panel.appendChild(row);
      panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { closePanel(); } });
      box.appendChild(panel);
      text.focus();
    }
    up.addEventListener("click", function () { send({ thumb: "up" }); });
    down.setAttribute("aria-expanded", "false");
    down.addEventListener("click", function () { loadConfig().then(openPanel); });
    output.insertAdjacentElement("afterend", box);
  }

  function scan(root) {
    var found = (root || document).querySelectorAll("[data-hyouka-output]");
    Array.prototype.forEach.call(found, attach);
  }
  window.hyoukaWidget = { scan: scan };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(); loadConfig(); });
  } else { scan(); loadConfig(); }
})();
