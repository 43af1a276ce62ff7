// The desk's only script (the Content-Security-Policy allows no inline script): saving written marks as you
// go, with the version each was shown at; j/k to move between answers; MathJax on the instructor's text only.
"use strict";

(function () {
  var texts = Array.prototype.slice.call(document.querySelectorAll(".tex"));
  if (texts.length) {
    // Read by tex-chtml.js, which loads after this file. No automatic typesetting: only the question and the
    // model answer (the instructor's) are typeset, never a student's answer.
    window.MathJax = {
      tex: { inlineMath: [["$", "$"], ["\\(", "\\)"]] },
      options: { enableMenu: false },
      startup: {
        typeset: false,
        ready: function () {
          window.MathJax.startup.defaultReady();
          window.MathJax.startup.promise
            .then(function () { return window.MathJax.typesetPromise(texts); })
            .then(function () { document.body.setAttribute("data-math", "done"); });
        }
      }
    };
  }

  var cards = Array.prototype.slice.call(document.querySelectorAll("form.mark"));

  function entry(form) {
    return form.elements.points.value.trim() + "\u0000" + form.elements.comment.value.trim();
  }

  function say(form, text, kind) {
    var state = form.querySelector(".state");
    state.textContent = text;
    state.className = "state " + (kind || "");
  }

  // One save at a time per answer: leaving a field and moving on both ask to save, and a second request sent
  // before the first's answer would carry the old version and be refused as stale.
  // Each save carries the version shown when it was asked for (a click made before a refusal arrived is refused
  // too); a version this page's own earlier save replaced is followed to the version that save made.
  var queued = new WeakMap(), own = new WeakMap();

  function save(form) {
    var seen = form.elements.version.value;
    var next = (queued.get(form) || Promise.resolve()).then(function () { return send(form, seen); });
    queued.set(form, next);
    return next;
  }

  function send(form, seen) {
    var mine = own.get(form) || {};
    while (mine[seen]) { seen = mine[seen]; }
    if (entry(form) === form.getAttribute("data-saved")) { return Promise.resolve(); }
    if (!form.elements.points.value.trim()) {
      if (form.elements.comment.value.trim()) { say(form, "not saved: give points too", "error"); }
      return Promise.resolve();
    }
    var sent = entry(form);
    say(form, "saving…", "");
    var fields = new URLSearchParams(new FormData(form));
    fields.set("version", seen);
    return fetch(form.action, {
      method: "POST",
      body: fields,
      headers: { "Accept": "application/json", "X-XSRFToken": form.elements._xsrf.value },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (answer) { return [response.status, answer]; });
    }).then(function (result) {
      var status = result[0], answer = result[1];
      if (status === 200) {
        form.elements.version.value = answer.version;
        mine[seen] = answer.version;
        own.set(form, mine);
        form.setAttribute("data-saved", sent);
        say(form, answer.message, "saved");
        var pending = document.getElementById("pending");
        if (pending && typeof answer.pending === "number") { pending.textContent = String(answer.pending); }
      } else {
        say(form, answer.message || "not saved", "error");
        if (status === 409 && answer.version) { offerReplace(form, answer.version); }
      }
    }).catch(function () {
      say(form, "not saved: the desk did not answer (is it still running?)", "error");
    });
  }

  // A refused save keeps what was typed, and later saves from this page stay refused (they carry the version it
  // showed): only this button, pressed after reading the message, writes over the other mark.
  function offerReplace(form, theirs) {
    var button = form.querySelector("button.replace");
    if (!button) {
      button = document.createElement("button");
      button.type = "button";
      button.className = "replace";
      button.textContent = "Replace with mine";
      form.querySelector(".state").parentNode.appendChild(button);
      button.addEventListener("click", function () {
        form.elements.version.value = button.getAttribute("data-theirs");
        button.remove();
        save(form);
      });
    }
    button.setAttribute("data-theirs", theirs);
  }

  function go(from, step) {
    var index = cards.indexOf(from) + step;
    if (index < 0 || index >= cards.length) { return; }
    if (from) { save(from); }
    var next = cards[index];
    cards.forEach(function (card) { card.classList.toggle("current", card === next); });
    next.scrollIntoView({ block: "center" });
    next.elements.points.focus();
  }

  cards.forEach(function (form) {
    form.setAttribute("data-saved", entry(form));
    form.addEventListener("submit", function (event) { event.preventDefault(); save(form); });
    form.elements.points.addEventListener("change", function () { save(form); });
    form.elements.comment.addEventListener("change", function () { save(form); });
    form.addEventListener("focusin", function () {
      cards.forEach(function (card) { card.classList.toggle("current", card === form); });
    });
  });

  document.addEventListener("keydown", function (event) {
    if (!cards.length || event.ctrlKey || event.metaKey) { return; }
    var inField = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName);
    var current = document.querySelector("form.mark.current");
    var step = 0;
    if (event.altKey && event.key === "ArrowDown") { step = 1; }
    else if (event.altKey && event.key === "ArrowUp") { step = -1; }
    else if (!inField && !event.altKey && event.key === "j") { step = 1; }
    else if (!inField && !event.altKey && event.key === "k") { step = -1; }
    if (!step) { return; }
    event.preventDefault();
    go(current, step);  // with none current, j goes to the first answer
  });

  Array.prototype.slice.call(document.querySelectorAll("form.regrade")).forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelector("button").disabled = true;
      form.querySelector("[role=status]").textContent = "grading again: this takes up to a few minutes…";
    });
  });
}());
