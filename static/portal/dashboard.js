/*
 * Provisioning dashboard: poll the audit API (/api/v1/connections/, with the session) and update
 * each panel's progress, counts, health and chart in place. The texts are those
 * provisioning_logs/admin/dashboard.py renders for the first paint.
 */
(function () {
  "use strict";

  const root = document.getElementById("provisioning-dashboard");
  if (!root || !window.fetch) {
    return;
  }
  const url = root.dataset.refreshUrl;
  const intervalMs = (Number(root.dataset.refreshSeconds) || 2) * 1000;
  const chart = {
    width: Number(root.dataset.chartWidth),
    height: Number(root.dataset.chartHeight),
    baseline: Number(root.dataset.chartBaseline),
    left: Number(root.dataset.chartLeft),
    top: Number(root.dataset.chartTop),
    label: root.dataset.chartLabel,
  };
  const SVG = "http://www.w3.org/2000/svg";
  const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  // A superuser's dashboard lists every organization's connections: follow `next` this far.
  const MAX_PAGES = 20;

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

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  function momentText(moment) {
    const when = moment instanceof Date ? moment : new Date(moment);
    return (
      when.getUTCFullYear() + "-" + pad(when.getUTCMonth() + 1) + "-" + pad(when.getUTCDate()) + " " +
      pad(when.getUTCHours()) + ":" + pad(when.getUTCMinutes()) + ":" + pad(when.getUTCSeconds()) + " UTC"
    );
  }

  function durationText(totalSeconds) {
    const seconds = Math.max(0, Math.floor(totalSeconds));
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const rest = seconds % 60;
    if (hours) {
      return hours + " h " + pad(minutes) + " min " + pad(rest) + " s";
    }
    if (minutes) {
      return minutes + " min " + pad(rest) + " s";
    }
    return rest + " s";
  }

  function kindLabel(kind) {
    return kind.charAt(0).toUpperCase() + kind.slice(1);
  }

  function setCounts(prefix, pk, cycle) {
    [cycle.counts.actions, cycle.counts.statuses].forEach(function (counts) {
      Object.keys(counts).forEach(function (label) {
        setText(prefix + "-count-" + pk + "-" + label.toLowerCase(), counts[label]);
      });
    });
  }

  // The texts of provisioning_logs/cycle_estimate.py, as the API sends them.
  function updateProgress(pk, estimate) {
    const bar = byId("cycle-progress-" + pk);
    if (!bar) {
      return;
    }
    if (estimate.percent === null) {
      bar.removeAttribute("value");
      bar.setAttribute("aria-valuetext", estimate.bar_text);
    } else {
      bar.value = estimate.percent;
      bar.removeAttribute("aria-valuetext");
    }
    bar.textContent = estimate.bar_text;
    setText("cycle-progress-text-" + pk, estimate.bar_text);
    setText("cycle-handled-" + pk, estimate.detail_text);
    setText("cycle-activity-" + pk, estimate.activity_text);
    const activity = byId("cycle-activity-" + pk);
    if (activity) {
      activity.classList.toggle("cycle-idle", estimate.idle);
    }
  }

  function svgElement(name, attributes, text) {
    const element = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) {
      element.setAttribute(key, attributes[key]);
    });
    if (text !== undefined) {
      element.textContent = text;
    }
    return element;
  }

  function round(value) {
    return Math.round(value * 10) / 10;
  }

  // provisioning_logs/admin/dashboard.py's nice_ceiling, compact, chart_ticks and chart_bars.
  function niceCeiling(value) {
    for (let step = 1; ; step *= 10) {
      for (const factor of [1, 2, 5]) {
        if (factor * step >= value) {
          return factor * step;
        }
      }
    }
  }

  function compact(value) {
    function short(number) {
      return number.toFixed(1).replace(/\.0$/, "");
    }
    if (value < 1000) {
      return String(value);
    }
    return value < 1000000 ? short(value / 1000) + "k" : short(value / 1000000) + "M";
  }

  function renderChart(pk, daily) {
    const container = byId("daily-chart-" + pk);
    const signature = JSON.stringify(daily);
    if (!container || container.dataset.days === signature) {
      return;
    }
    const top = niceCeiling(Math.max(1, ...daily.map(function (day) { return Math.max(day.successes, day.failures); })));
    const plot = chart.baseline - chart.top;
    const slot = (chart.width - chart.left) / daily.length;
    const bar = slot * 0.4;
    const svg = svgElement("svg", {
      class: "daily-chart-svg",
      viewBox: "0 0 " + chart.width + " " + chart.height,
      width: chart.width,
      height: chart.height,
      role: "img",
      "aria-labelledby": "daily-chart-title-" + pk,
    });
    svg.appendChild(svgElement("title", { id: "daily-chart-title-" + pk }, chart.label));
    const axis = svgElement("g", { class: "chart-y-axis" });
    (top % 2 === 0 ? [0, top / 2, top] : [0, top]).forEach(function (value) {
      const y = round(chart.baseline - (plot * value) / top);
      axis.appendChild(svgElement("line", { x1: chart.left, y1: y, x2: chart.width, y2: y, class: "chart-grid" }));
      axis.appendChild(svgElement("text", {
        x: chart.left - 4, y: y, "text-anchor": "end", "dominant-baseline": "middle", class: "chart-tick",
      }, compact(value)));
    });
    svg.appendChild(axis);
    svg.appendChild(svgElement("line", { x1: chart.left, y1: chart.baseline, x2: chart.width, y2: chart.baseline, class: "chart-axis" }));
    svg.appendChild(svgElement("line", { x1: chart.left, y1: 0, x2: chart.left, y2: chart.baseline, class: "chart-axis" }));
    daily.forEach(function (day, index) {
      const x = chart.left + index * slot + slot * 0.1;
      const successHeight = round((plot * day.successes) / top);
      const failureHeight = round((plot * day.failures) / top);
      const group = svgElement("g", { class: "chart-day", "data-day": day.day });
      group.appendChild(svgElement("title", {}, day.day + ": " + day.successes + " succeeded, " + day.failures + " failed"));
      group.appendChild(svgElement("rect", {
        class: "chart-success", x: round(x), y: round(chart.baseline - successHeight), width: round(bar), height: successHeight,
      }));
      group.appendChild(svgElement("rect", {
        class: "chart-failure", x: round(x + bar), y: round(chart.baseline - failureHeight), width: round(bar), height: failureHeight,
      }));
      group.appendChild(svgElement("text", {
        x: round(x + bar / 2), y: round(chart.baseline - successHeight - 2), "text-anchor": "middle", class: "chart-value chart-value-success",
      }, compact(day.successes)));
      group.appendChild(svgElement("text", {
        x: round(x + bar * 1.5), y: round(chart.baseline - failureHeight - 2), "text-anchor": "middle", class: "chart-value chart-value-failure",
      }, compact(day.failures)));
      const weekday = WEEKDAYS[new Date(day.day + "T00:00:00Z").getUTCDay()];
      group.appendChild(svgElement("text", {
        x: round(chart.left + index * slot + slot / 2), y: chart.height, "text-anchor": "middle", class: "chart-label",
      }, weekday));
      svg.appendChild(group);
    });
    container.replaceChildren(svg);
    container.dataset.days = signature;
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
    setText("connection-status-" + pk, panel.enabled ? "Enabled" : "Turned off");
    setText("health-badge-" + pk, panel.health.label);
    const badge = byId("health-badge-" + pk);
    if (badge) {
      // Healthy but with disables/deletes held for an admin: amber, not green.
      const attention = panel.health.state === "healthy" && panel.health.held_deprovisionings > 0;
      badge.className = "health-badge health-badge-" + (attention ? "attention" : panel.health.state);
    }
    setText("quarantine-status-" + pk, panel.health.detail);
    const health = byId("quarantine-status-" + pk);
    if (health) {
      health.className = "quarantine-status health-" + panel.health.state;
    }

    const current = panel.current_cycle;
    setText("current-cycle-state-" + pk, current ? current.estimate.state_text : root.dataset.noRunningCycle);
    setHidden("current-cycle-details-" + pk, !current);
    if (current) {
      updateProgress(pk, current.estimate);
      setCounts("current", pk, current);
    }

    const last = panel.last_completed_cycle;
    setText("last-cycle-state-" + pk, last ? kindLabel(last.kind) + " cycle" : root.dataset.noCompletedCycle);
    setHidden("last-cycle-details-" + pk, !last);
    if (last) {
      setText("last-cycle-started-" + pk, momentText(last.started_at));
      setText("last-cycle-ended-" + pk, momentText(last.ended_at));
      setText("last-cycle-duration-" + pk, durationText(last.duration_seconds));
      setCounts("last", pk, last);
    }
    renderChart(pk, panel.daily);
  }

  function getJson(pageUrl) {
    return fetch(pageUrl, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        const served = response.headers.get("Date");
        return response.json().then(function (body) {
          return { body: body, served: served ? new Date(served) : new Date() };
        });
      });
  }

  // A list is followed page by page; a single connection's page polls that connection.
  function connections(pageUrl, collected, pages) {
    return getJson(pageUrl).then(function (answer) {
      const body = answer.body;
      if (!Array.isArray(body.results)) {
        return { panels: [body], served: answer.served };
      }
      const all = collected.concat(body.results);
      if (body.next && pages < MAX_PAGES) {
        return connections(body.next, all, pages + 1);
      }
      return { panels: all, served: answer.served };
    });
  }

  function refresh() {
    if (document.hidden) {
      window.setTimeout(refresh, intervalMs);
      return;
    }
    connections(url, [], 1)
      .then(function (data) {
        data.panels.forEach(updatePanel);
        setText("dashboard-updated", momentText(data.served));
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
