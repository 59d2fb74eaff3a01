// Account administration for a district (or the province): create accounts with a one-time invitation
// link, disable and enable them, give a reset link, read and export the audit log. Signed in by session.
const $ = (id) => document.getElementById(id);
const TZ = "Asia/Ho_Chi_Minh";
const ROLES = {
  province_admin: "Quản trị cấp tỉnh", district_admin: "Quản trị phòng GD&ĐT", district: "Cán bộ phòng GD&ĐT",
  accountant: "Kế toán trường", principal: "Hiệu trưởng", auditor: "Kiểm toán (chỉ xem)",
};
const ACTIONS = {
  "sign_in": "Đăng nhập", "sign_in.failed": "Đăng nhập sai", "sign_out": "Đăng xuất", "sign_out.everywhere": "Đăng xuất mọi nơi",
  "account.created": "Tạo tài khoản", "account.disabled": "Khóa tài khoản", "account.enabled": "Mở khóa tài khoản",
  "account.reset": "Cấp lại mật khẩu", "account.schools": "Đổi trường", "account.invitation_accepted": "Nhận lời mời",
  "account.password_reset": "Đặt lại mật khẩu", "school.switched": "Chuyển trường",
};
const when = (iso) => new Intl.DateTimeFormat("vi-VN", {timeZone: TZ, dateStyle: "short", timeStyle: "short"}).format(new Date(iso));

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

async function get(path) {
  const r = await fetch(path, {credentials: "same-origin"});
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(typeof data.detail === "string" ? data.detail : "Không tải được.");
  return data;
}

function showLink(target, answer, what) {
  target.replaceChildren(what + " cho ", el("b", {}, answer.username), " (dùng một lần, hết hạn " + when(answer.expires_at) + "): ",
    el("code", {"data-testid": "link"}, answer.link));
}

async function loadAccounts() {
  const rows = await get("/accounts");
  $("accounts").replaceChildren(...rows.map((a) => el("tr", {"data-username": a.username},
    el("td", {}, a.username), el("td", {}, a.display_name), el("td", {}, ROLES[a.role] || a.role),
    el("td", {}, a.schools.join(", ")),
    el("td", {}, a.disabled ? "Đã khóa" : a.invited ? "Chưa nhận lời mời" : "Đang dùng"),
    el("td", {},
      el("button", {on: {click: () => act(`/accounts/${a.account_id}/${a.disabled ? "enable" : "disable"}`)}}, a.disabled ? "Mở khóa" : "Khóa"),
      " ",
      el("button", {on: {click: () => reset(a)}}, "Cấp lại mật khẩu")))));
}

async function loadAudit() {
  const rows = await get("/audit?limit=200");
  $("audit").replaceChildren(...rows.map((e) => el("tr", {},
    el("td", {}, when(e.at)), el("td", {}, e.actor), el("td", {}, ACTIONS[e.action] || e.action),
    el("td", {}, e.subject), el("td", {}, e.school_id || ""))));
}

async function act(path) {
  $("a-error").textContent = "";
  try { await Auth.post(path); } catch (e) { $("a-error").textContent = e.message; }
  await Promise.all([loadAccounts(), loadAudit()]);
}

async function reset(account) {
  try { showLink($("a-link"), await Auth.post(`/accounts/${account.account_id}/reset`), "Liên kết đặt lại mật khẩu"); }
  catch (e) { $("a-error").textContent = e.message; }
  await loadAudit();
}

async function create() {
  $("a-error").textContent = "";
  $("a-link").textContent = "";
  const schools = $("a-schools").value.split(",").map((s) => s.trim()).filter(Boolean);
  try {
    const made = await Auth.post("/accounts", {
      username: $("a-username").value.trim(), display_name: $("a-name").value.trim(), role: $("a-role").value, schools,
      district_code: $("a-district").value.trim() || null,
    });
    showLink($("a-link"), made, "Thư mời");
    for (const id of ["a-username", "a-name", "a-schools"]) $(id).value = "";
  } catch (e) {
    $("a-error").textContent = e.message;
  }
  await Promise.all([loadAccounts(), loadAudit()]);
}

async function downloadAudit() {
  const r = await fetch("/audit.csv", {credentials: "same-origin"});
  const link = el("a", {href: URL.createObjectURL(await r.blob()), download: "nhat-ky.csv"});
  document.body.append(link);
  link.click();
  link.remove();
}

async function start() {
  const session = await Auth.load();
  const admin = session && ["district_admin", "province_admin"].includes(session.role);
  if (session && !admin) $("signin-error").textContent = "Tài khoản này không có quyền quản trị.";
  $("signin").hidden = Boolean(admin);
  $("admin").hidden = !admin;
  $("signout").hidden = !admin;
  $("who").textContent = admin ? `${session.display_name} · ${session.district_code || "cấp tỉnh"}` : "";
  if (!admin) return;
  const roles = session.role === "province_admin" ? ["district_admin", "province_admin"] : ["accountant", "principal", "district", "auditor", "district_admin"];
  $("a-district").value = session.district_code || "";
  $("a-district").disabled = session.role !== "province_admin";
  $("a-role").replaceChildren(...roles.map((r) => el("option", {value: r}, ROLES[r])));
  await Promise.all([loadAccounts(), loadAudit()]);
}

Auth.bindForm(start);
$("a-create").addEventListener("click", create);
$("audit-csv").addEventListener("click", downloadAudit);
$("signout").addEventListener("click", async () => { await Auth.signOut(); await start(); });
start();
