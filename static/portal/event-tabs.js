/* Event detail: turn the four rendered sections into tabs (they stay readable without this). */
(function () {
  "use strict";

  const container = document.querySelector("[data-event-tabs]");
  if (!container) {
    return;
  }
  const list = container.querySelector(".event-tab-list");
  const tabs = Array.prototype.slice.call(list.querySelectorAll("[data-tab]"));
  const panels = tabs.map(function (tab) {
    return document.getElementById(tab.dataset.tab);
  });

  list.setAttribute("role", "tablist");
  tabs.forEach(function (tab, index) {
    tab.setAttribute("role", "tab");
    panels[index].setAttribute("role", "tabpanel");
    panels[index].setAttribute("aria-labelledby", tab.id);
    panels[index].setAttribute("tabindex", "0");
  });

  function select(index, focus) {
    tabs.forEach(function (tab, other) {
      const selected = other === index;
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      tab.setAttribute("tabindex", selected ? "0" : "-1");
      panels[other].hidden = !selected;
    });
    if (focus) {
      tabs[index].focus();
    }
  }

  tabs.forEach(function (tab, index) {
    tab.addEventListener("click", function (event) {
      event.preventDefault();
      select(index, false);
      history.replaceState(null, "", "#" + tab.dataset.tab);
    });
    tab.addEventListener("keydown", function (event) {
      const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
      if (event.key in moves) {
        event.preventDefault();
        select((moves[event.key] + tabs.length) % tabs.length, true);
      }
    });
  });

  const fromHash = tabs.findIndex(function (tab) {
    return "#" + tab.dataset.tab === window.location.hash;
  });
  container.classList.add("tabs-enabled");
  select(fromHash >= 0 ? fromHash : 0, false);
})();
