// The ops page: /ops/platform every few seconds, drawn as two tables (no reload).
const session = window.tandemSession;

function row(cells) {
  const tr = document.createElement("tr");
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "–" : String(text);
    tr.append(td);
  }
  return tr;
}

async function refresh() {
  const platform = await session.get("/ops/platform");
  document.getElementById("services").replaceChildren(...platform.services.map((s) => {
    const tr = row([
      s.service, s.ready ? "ready" : "NOT READY", s.relay_lag_events, s.relay_lag_seconds?.toFixed?.(1),
      s.dead_letters, s.projection_lag_events, s.last_event ? s.last_event.occurred_at : null, (s.problems || []).join("; "),
    ]);
    tr.dataset.service = s.service;
    if (!s.ready) tr.classList.add("bad");
    return tr;
  }));
  document.getElementById("consumers").replaceChildren(...platform.consumers.map((c) => row([c.group, c.topic, c.lag])));
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  window.tandemReady = true;
}

session.signIn(() => {
  refresh().catch((error) => { document.getElementById("updated").textContent = String(error); });
  setInterval(() => refresh().catch((error) => console.error(error)), session.poll() * 1000);
});
