// One timestamp format on every page: <time datetime> elements (rendered in UTC by the server)
// are shown in the viewer's time zone; the UTC time stays in the title, on hover.
(function () {
  "use strict";
  function pad(n) { return String(n).padStart(2, "0"); }
  function zoneName(date) {
    try {
      var parts = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(date);
      var zone = parts.find(function (p) { return p.type === "timeZoneName"; });
      return zone ? zone.value : "";
    } catch (e) { return ""; }
  }
  function localise(root) {
    (root || document).querySelectorAll("time.portal-time[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) { return; }
      var text = date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
        " " + pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
      var zone = zoneName(date);
      el.textContent = zone ? text + " " + zone : text;
      el.dataset.localised = "true";
    });
  }
  window.portalLocalTime = localise;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { localise(); });
  } else {
    localise();
  }
})();
