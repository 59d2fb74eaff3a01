// The suite's sign-in page: signs in, then goes back to the page that sent here (`?next=`), if that page
// is one of the suite's own (its origins are given by the service): never to anyone else's.
const $ = (id) => document.getElementById(id);
const config = JSON.parse($("config").textContent);

function next() {
  const wanted = new URLSearchParams(location.search).get("next");
  if (!wanted) return null;
  try {
    const url = new URL(wanted, location.origin);
    return config.origins.includes(url.origin) && ["http:", "https:"].includes(url.protocol) ? url.href : null;
  } catch (e) {
    return null;
  }
}

async function start() {
  const session = await Auth.load();
  if (session && next()) { location.assign(next()); return; }
  $("signin").hidden = Boolean(session);
  $("signed-in").hidden = !session;
  if (session) $("who").textContent = `${session.display_name} (${session.username})`;
  $("dashboard-link").href = config.dashboard;
  if (session) await sessions();
}

// The account's sessions (every browser signed in), each of which can be ended from here.
const when = (iso) => new Intl.DateTimeFormat("vi-VN", {timeZone: "Asia/Ho_Chi_Minh", dateStyle: "short", timeStyle: "short"}).format(new Date(iso));
function browserOf(agent) {
  const name = [["Edg/", "Edge"], ["Zalo", "Zalo"], ["CocCoc", "Cốc Cốc"], ["Firefox/", "Firefox"], ["Chrome/", "Chrome"], ["Safari/", "Safari"]]
    .find(([mark]) => (agent || "").includes(mark));
  const system = [["Android", "Android"], ["iPhone", "iPhone"], ["Windows", "Windows"], ["Mac OS", "macOS"], ["Linux", "Linux"]]
    .find(([mark]) => (agent || "").includes(mark));
  return [name ? name[1] : "Trình duyệt khác", system ? system[1] : ""].filter(Boolean).join(" trên ");
}
async function sessions() {
  $("sessions-error").textContent = "";
  const r = await fetch("/auth/sessions", {credentials: "same-origin"});
  if (!r.ok) { $("sessions-error").textContent = "Không tải được danh sách phiên đăng nhập."; return; }
  const rows = (await r.json()).map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.testid = "session";
    const cells = [[when(s.created_at)], [when(s.last_seen_at)], [browserOf(s.user_agent), s.user_agent || ""], [s.address || ""]];
    for (const [text, title] of cells) {
      const td = document.createElement("td"); td.textContent = text; if (title) td.title = title; tr.append(td);
    }
    const last = document.createElement("td");
    if (s.current) last.textContent = "Phiên này";
    else {
      const end = document.createElement("button");
      end.textContent = "Kết thúc";
      end.addEventListener("click", () => endSession(s.id));
      last.append(end);
    }
    tr.append(last);
    return tr;
  });
  $("sessions").replaceChildren(...rows);
}
async function endSession(id) {
  const r = await fetch(`/auth/sessions/${encodeURIComponent(id)}`,
    {method: "DELETE", credentials: "same-origin", headers: {"X-CSRF-Token": Auth.state.session.csrf}});
  if (!r.ok) { const data = await r.json().catch(() => ({})); $("sessions-error").textContent = data.detail || "Không kết thúc được phiên này."; }
  await sessions();
}

Auth.bindForm(start);
$("signout").addEventListener("click", async () => { await Auth.signOut(); await start(); });
$("signout-everywhere").addEventListener("click", async () => {
  try { await Auth.post("/auth/sign-out?everywhere=true"); } catch (e) { /* already ended */ }
  Auth.state.session = null;
  await start();
});
start();
