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
}

Auth.bindForm(start);
$("signout").addEventListener("click", async () => { await Auth.signOut(); await start(); });
start();
