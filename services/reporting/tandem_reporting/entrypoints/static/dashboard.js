// The program dashboard: every chart is created once and its data replaced on each poll (no reload).
const session = window.tandemSession;
const charts = {};
window.tandemCharts = charts;
window.tandemLoadedAt = Date.now(); // a reload would change it: the browser test checks it does not

const STAGES = { enrolled: "Enrolled", approved: "Approved", paired: "Paired", first_session_held: "First session held", final_assessment: "Final assessment" };

function chart(id, type, options = {}) {
  charts[id] = new Chart(document.getElementById(id), {
    type,
    data: { labels: [], datasets: [] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, ...options },
  });
  return charts[id];
}

function filters() {
  const query = new URLSearchParams();
  for (const name of ["department", "site", "role"]) {
    const value = document.getElementById(name).value.trim();
    if (value) query.set(name, value);
  }
  return query.toString();
}

function shown(value, digits = 1) {
  return value === null || value === undefined ? "fewer than 5" : Number(value).toFixed(digits);
}

async function refresh() {
  const program = document.getElementById("program").value;
  if (!program) return;
  const query = filters();
  const base = `/programs/${program}`;
  const [overview, breakdown, impact, weekly] = await Promise.all([
    session.get(`${base}/overview?${query}`),
    session.get(`${base}/breakdowns/department?${query}`),
    session.get(`${base}/impact?${query}`),
    session.get(`${base}/weekly?${query}`),
  ]);

  const funnel = overview.report.funnel;
  charts.funnel.data.labels = funnel.map((stage) => STAGES[stage.stage]);
  charts.funnel.data.datasets = [{ label: "participants", data: funnel.map((stage) => stage.count), backgroundColor: "#3b6fd8" }];
  charts.funnel.update();

  charts.breakdown.data.labels = breakdown.report.map((group) => group.group);
  charts.breakdown.data.datasets = ["enrolled", "paired", "first_session_held"].map((stage, index) => ({
    label: STAGES[stage],
    data: breakdown.report.map((group) => group.funnel.find((s) => s.stage === stage).count),
    backgroundColor: ["#9cb8ef", "#3b6fd8", "#1d3f85"][index],
  }));
  charts.breakdown.update();

  const skills = impact.report.skills;
  charts.skills.data.labels = skills.map((entry) => `${entry.skill} (${entry.role})`);
  charts.skills.data.datasets = [{ label: "mean delta (levels)", data: skills.map((entry) => entry.mean_delta), backgroundColor: "#2e9d6a" }];
  charts.skills.update();
  const hidden = skills.filter((entry) => entry.suppressed).map((entry) => `${entry.skill} (${entry.role})`);
  document.getElementById("skills-note").textContent = hidden.length ? `Fewer than 5 people: ${hidden.join(", ")}` : "";

  charts.weekly.data.labels = weekly.report.map((week) => week.week);
  charts.weekly.data.datasets = [
    { label: "sessions held", data: weekly.report.map((week) => week.sessions_held), borderColor: "#3b6fd8" },
    { label: "enrollments", data: weekly.report.map((week) => week.enrollments), borderColor: "#c77d1a" },
  ];
  charts.weekly.update();

  document.getElementById("nps").textContent = shown(impact.report.survey.nps);
  document.getElementById("satisfaction").textContent = shown(impact.report.survey.satisfaction, 2);
  document.getElementById("usefulness").textContent = shown(impact.report.feedback.usefulness, 2);
  document.getElementById("trust").textContent = shown(impact.report.feedback.trust, 2);

  await refreshAtRisk(base);
  const sources = overview.freshness.sources;
  document.getElementById("freshness").textContent = "Last events: " + Object.entries(sources)
    .map(([source, last]) => `${source} ${new Date(last.occurred_at).toISOString().slice(0, 16).replace("T", " ")}`)
    .join(" · ");
}

async function refreshAtRisk(base) {
  const rows = document.getElementById("at-risk");
  const note = document.getElementById("at-risk-note");
  try {
    const health = await session.get(`${base}/pair-health`);
    rows.replaceChildren(...health.report.map((pair) => {
      const row = document.createElement("tr");
      for (const text of [pair.pair_id.slice(0, 8), pair.at_risk_reason || pair.attention_reason, pair.days_since_last_session ?? "–"]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      return row;
    }));
    note.textContent = health.report.length ? "" : "No pair needs attention.";
  } catch (error) {
    rows.replaceChildren();
    note.textContent = error.status === 403 || error.status === 404 ? "For the program's admins only." : String(error);
  }
}

async function start() {
  chart("funnel", "bar", { indexAxis: "y", plugins: { legend: { display: false } } });
  chart("breakdown", "bar");
  chart("skills", "bar", { plugins: { legend: { display: false } } });
  chart("weekly", "line");
  const programs = await session.get("/programs");
  const select = document.getElementById("program");
  select.replaceChildren(...programs.report.map((program) => new Option(`${program.name} (${program.participants})`, program.program_id)));
  select.onchange = refresh;
  document.getElementById("apply").onclick = refresh;
  await refresh();
  window.tandemReady = true;
  setInterval(() => refresh().catch((error) => console.error(error)), session.poll() * 1000);
}

session.signIn(() => start().catch((error) => { document.getElementById("freshness").textContent = String(error); }));
