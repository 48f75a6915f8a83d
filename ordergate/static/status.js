// The order status page, kept current: the server sends the page's panel again after each
// change to the order (server-sent events); times are shown in the reader's own zone.
(function () {
  "use strict";
  var panel = document.getElementById("panel");
  var note = document.getElementById("live-note");

  function localTimes(root) {
    var times = root.querySelectorAll("time[data-moment]");
    for (var i = 0; i < times.length; i++) {
      var when = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        times[i].textContent = when.toLocaleString(undefined, {
          month: "short", day: "numeric", hour: "numeric", minute: "2-digit"
        });
      }
    }
  }

  localTimes(document);
  if (!panel || !panel.dataset.live || !window.EventSource) return;

  var pending = null;
  function editing() {
    // A customer choosing what to return keeps their choices: while the return form is open,
    // updates wait, and the latest is shown when it closes.
    return panel.querySelector("details[open] form") !== null;
  }
  function apply(html) {
    var stage = panel.querySelector("[data-stage]");
    var before = stage ? stage.textContent : "";
    panel.innerHTML = html;
    localTimes(panel);
    var after = panel.querySelector("[data-stage]");
    if (note && after && after.textContent !== before) note.textContent = "Updated: " + after.textContent;
    document.documentElement.dataset.updates = String(Number(document.documentElement.dataset.updates || 0) + 1);
  }
  panel.addEventListener("toggle", function () {
    if (pending !== null && !editing()) { apply(pending); pending = null; }
  }, true);

  var source = new EventSource(panel.dataset.live);
  source.addEventListener("update", function (event) {
    if (editing()) { pending = event.data; return; }
    apply(event.data);
  });
  source.addEventListener("open", function () { document.documentElement.dataset.live = "open"; });
})();
