// An invitation or reset link: its secret is the URL's fragment (#…), which the browser never sends to any
// server; this page reads it, removes it from the address bar and posts it to the service.
const $ = (id) => document.getElementById(id);
const secret = location.hash.slice(1);
history.replaceState(null, "", location.pathname);

async function post(path, body) {
  const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(typeof data.detail === "string" ? data.detail : "Có lỗi, hãy thử lại.");
  return data;
}

async function open() {
  try {
    if (!secret) throw new Error("Liên kết không đầy đủ. Hãy mở đúng liên kết trong thư mời.");
    const opened = await post("/auth/links/open", {secret});
    $("name").textContent = opened.display_name;
    $("username").textContent = opened.username;
    if (opened.totp_secret) {
      $("totp").hidden = false;
      $("secret").textContent = opened.totp_secret;
      // The SVG comes from this service (not from anyone's input): shown as it is.
      $("qr").innerHTML = opened.totp_qr_svg;
    }
    $("form").hidden = false;
  } catch (e) {
    $("error").textContent = e.message;
  } finally {
    $("loading").hidden = true;
  }
}

$("form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("error").textContent = "";
  if ($("password").value !== $("again").value) {
    $("error").textContent = "Hai lần nhập mật khẩu không giống nhau.";
    return;
  }
  try {
    await post("/auth/links/accept", {secret, password: $("password").value, totp_code: $("code").value.trim()});
    $("form").hidden = true;
    $("done").hidden = false;
  } catch (e) {
    $("error").textContent = e.message;
  }
});

open();
