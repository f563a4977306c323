/* Provisioning dashboard: poll the panels' JSON and update progress and counts in place. */
(function () {
  "use strict";

  const root = document.getElementById("provisioning-dashboard");
  if (!root || !window.fetch) {
    return;
  }
  const url = root.dataset.refreshUrl;
  const intervalMs = (Number(root.dataset.refreshSeconds) || 2) * 1000;

  function byId(id) {
    return document.getElementById(id);
  }

  function setText(id, text) {
    const element = byId(id);
    const value = text === null || text === undefined ? "" : String(text);
    if (element && element.textContent !== value) {
      element.textContent = value;
    }
  }

  function setHidden(id, hidden) {
    const element = byId(id);
    if (element && element.hidden !== hidden) {
      element.hidden = hidden;
    }
  }

  function setCounts(prefix, pk, cycle) {
    const groups = cycle ? [cycle.actions, cycle.statuses] : [];
    groups.forEach(function (counts) {
      Object.keys(counts).forEach(function (label) {
        setText(prefix + "-count-" + pk + "-" + label.toLowerCase(), counts[label]);
      });
    });
  }

  function updateProgress(pk, cycle) {
    const bar = byId("cycle-progress-" + pk);
    if (!bar) {
      return;
    }
    if (cycle.percent === null) {
      bar.removeAttribute("value");
      bar.setAttribute("aria-valuetext", cycle.progress_text);
    } else {
      bar.value = cycle.percent;
      bar.removeAttribute("aria-valuetext");
    }
    bar.textContent = cycle.progress_text;
    setText("cycle-progress-text-" + pk, cycle.progress_text);
    setText("cycle-handled-" + pk, cycle.handled_text);
  }

  function updatePanel(panel) {
    const pk = panel.id;
    if (!byId("connection-panel-" + pk)) {
      return; // a connection created since the page loaded appears on the next full load
    }
    const status = byId("connection-status-" + pk);
    if (status) {
      status.classList.toggle("connection-enabled", panel.enabled);
      status.classList.toggle("connection-off", !panel.enabled);
    }
    setText("connection-status-" + pk, panel.status_text);
    setText("quarantine-status-" + pk, panel.quarantine_text);
    const health = byId("quarantine-status-" + pk);
    if (health) {
      health.className = "quarantine-status health-" + panel.health_state;
    }

    const current = panel.current_cycle;
    setText("current-cycle-state-" + pk, current ? current.state_text : root.dataset.noRunningCycle);
    setHidden("current-cycle-details-" + pk, !current);
    if (current) {
      updateProgress(pk, current);
      setCounts("current", pk, current);
    }

    const last = panel.last_completed_cycle;
    setText("last-cycle-state-" + pk, last ? last.state_text : root.dataset.noCompletedCycle);
    setHidden("last-cycle-details-" + pk, !last);
    if (last) {
      setText("last-cycle-started-" + pk, last.started_text);
      setText("last-cycle-ended-" + pk, last.ended_text);
      setText("last-cycle-duration-" + pk, last.duration_text);
      setCounts("last", pk, last);
    }

    const chart = byId("daily-chart-" + pk);
    if (chart && chart.dataset.svg !== panel.chart_svg) {
      // Server-rendered SVG of numbers and dates only (no user-supplied text).
      chart.innerHTML = panel.chart_svg;
      chart.dataset.svg = panel.chart_svg;
    }
  }

  function refresh() {
    if (document.hidden) {
      window.setTimeout(refresh, intervalMs);
      return;
    }
    fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        data.connections.forEach(updatePanel);
        setText("dashboard-updated", data.updated_text);
        root.classList.remove("dashboard-stale");
      })
      .catch(function () {
        // Signed out or offline: keep the last figures and try again.
        root.classList.add("dashboard-stale");
      })
      .finally(function () {
        window.setTimeout(refresh, intervalMs);
      });
  }

  window.setTimeout(refresh, intervalMs);
})();
