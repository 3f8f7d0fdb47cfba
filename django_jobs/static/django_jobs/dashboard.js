/* django_jobs dashboard: reload the live part of the page every few seconds.
 * The server renders (and escapes) the fragment; this only swaps it in. No dependencies. */
(function () {
  "use strict";

  function start(root) {
    var target = root.querySelector("[data-live]");
    var url = root.getAttribute("data-live-url");
    var seconds = Math.max(1, parseInt(root.getAttribute("data-refresh-seconds"), 10) || 5);

    function schedule() {
      window.setTimeout(refresh, seconds * 1000);
    }

    function refresh() {
      window.fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          // A redirect means the session ended (login page): keep the old numbers.
          if (!response.ok || response.redirected) {
            throw new Error("status " + response.status);
          }
          return response.text();
        })
        .then(function (html) {
          target.innerHTML = html;
          root.classList.remove("dj-stale");
          var count = parseInt(root.getAttribute("data-refreshes"), 10) || 0;
          root.setAttribute("data-refreshes", String(count + 1));
        })
        .catch(function () {
          root.classList.add("dj-stale");
        })
        .then(schedule);
    }

    schedule();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("dj-dashboard");
    if (root) {
      start(root);
    }
  });
})();
