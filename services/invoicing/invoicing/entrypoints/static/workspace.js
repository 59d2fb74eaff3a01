// The accountant's workspace. Every figure comes from the services' APIs under the accountant's token;
// bank memos and names are inserted as text, never as HTML.
"use strict";

const APIS = JSON.parse(document.getElementById("apis").textContent);
const TZ = "Asia/Ho_Chi_Minh";
const STATUS = {
  open: "Chưa nộp", partially_paid: "Nộp một phần", paid: "Đã nộp đủ", overpaid: "Nộp thừa", cancelled: "Đã hủy",
};
const STATE = {
  matched: "Đã khớp", partial: "Khớp một phần", overpaid: "Nộp thừa", duplicate: "Nộp trùng", unmatched: "Chưa khớp",
  ambiguous: "Nhiều khả năng", resolved: "Đã xử lý", withdrawn: "Đã rút (nhập nhầm)", credit_balance: "Số dư của gia đình",
};
const REASON = {
  reference: "Khớp theo mã thanh toán trong nội dung",
  group_reference: "Khớp theo mã thanh toán gia đình",
  references: "Nhiều mã thanh toán, đúng tổng số tiền",
  references_short: "Nhiều mã thanh toán nhưng số tiền không đủ cho tất cả",
  virtual_account: "Khớp theo tài khoản định danh của học sinh",
  student_code_amount: "Khớp theo mã học sinh và số tiền",
  student_code_amount_several: "Mã học sinh khớp nhiều hóa đơn cùng số tiền",
  student_codes_sum: "Khớp theo mã học sinh, đúng tổng các hóa đơn",
  family_sum: "Đúng tổng các hóa đơn của gia đình",
  family_sum_subset: "Đúng tổng một số hóa đơn của gia đình",
  family_sum_several: "Nhiều nhóm hóa đơn của gia đình có cùng tổng: chọn đúng nhóm",
  student_codes_sum_subset: "Đúng tổng một số hóa đơn của học sinh",
  payer_history_family_subset: "Người nộp quen, đúng tổng một số hóa đơn của gia đình",
  payer_history: "Khớp theo tài khoản người nộp đã từng nộp",
  payer_history_several: "Tài khoản người nộp quen, nhiều hóa đơn cùng số tiền",
  payer_history_family: "Tài khoản người nộp quen, đúng tổng của gia đình",
  reference_check_failed: "Mã thanh toán sai ký tự kiểm tra (phụ huynh gõ nhầm?)",
  reference_unknown: "Mã thanh toán không có trong sổ của trường",
  no_reference: "Nội dung chuyển khoản không có mã thanh toán",
  already_paid: "Hóa đơn đã nộp đủ trước đó (có thể nộp trùng)",
  invoice_cancelled: "Hóa đơn đã bị hủy",
  manual: "Kế toán khớp tay",
  undo: "Khôi phục sau khi hoàn tác",
  reversed_by_accountant: "Kế toán đã hủy khớp tự động",
  withdrawn: "Bút toán tiền mặt nhập nhầm, đã rút",
  credit_balance: "Giữ làm số dư, trừ vào hóa đơn sau của gia đình",
};
// Exemption categories (the roster's codes) by their Vietnamese names.
const POLICIES = {STATE_FUNDED: "Nhà nước chi trả học phí", HO_NGHEO: "Con hộ nghèo", HO_CAN_NGHEO: "Con hộ cận nghèo",
  MO_COI: "Mồ côi cả cha lẫn mẹ", KHUYET_TAT: "Khuyết tật", CON_NGUOI_CO_CONG: "Con người có công",
  CON_THUONG_BINH: "Con thương binh", DTTS_VUNG_KHO_KHAN: "Dân tộc thiểu số vùng đặc biệt khó khăn",
  CON_CN_TAI_NAN: "Con người lao động bị tai nạn lao động"};
const KIND = {
  match: "Khớp", split: "Chia cho nhiều hóa đơn", refund: "Hoàn tiền", ignore: "Bỏ qua", keep: "Giữ làm số dư", unmatch: "Hủy khớp",
  withdraw: "Rút bút toán tiền mặt", undo: "Hoàn tác",
};

// --- Sign-in: the account's user name and password, then the authenticator's code. The session is an
// HttpOnly cookie this script never sees; the APIs are called with a short-lived token asked from the
// session and kept in memory only (never in the address bar, never in storage). ---

let session = null;  // GET /auth/session: who, which schools, the CSRF token (signin.js keeps it)
// The accountant works every tab; the principal (chủ tài khoản) reads the day's close and approves it.
const WORKSPACE_ROLES = ["accountant", "principal"];
const PRINCIPAL_TABS = ["chot-ngay"];
const isPrincipal = () => Boolean(session && session.role === "principal");
let token = null;
let claims = null;

function decode(t) {
  try {
    const c = JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return WORKSPACE_ROLES.includes(c.role) && c.school && (!c.exp || c.exp * 1000 > Date.now()) ? c : null;
  } catch (e) {
    return null;
  }
}

async function refreshToken() {
  const t = await Auth.post("/auth/token");
  token = t.token;
  claims = decode(token);
  clearTimeout(refreshToken.timer);
  // A new token a minute before this one ends, while the session lives.
  const wait = Math.max(30, t.expires_at - Date.now() / 1000 - 60);
  refreshToken.timer = setTimeout(() => guarded(refreshToken), wait * 1000);
}

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (k === "class") node.className = v;
    else if (k === "data") for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = dv;
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

// Children may be null (an optional part): left out, never shown as "null".
function put(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

const money = (n) => new Intl.NumberFormat("vi-VN").format(n) + " ₫";
const when = (iso) => iso ? new Intl.DateTimeFormat("vi-VN", {
  timeZone: TZ, day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit",
}).format(new Date(iso)) : "";
const today = () => new Intl.DateTimeFormat("en-CA", {timeZone: TZ}).format(new Date());
const tag = (value, labels) => el("span", {class: "tag " + value}, labels[value] || value);

function toast(message, undoAction) {
  const box = $("toast");
  put(box, message);
  if (undoAction) {
    box.append(" ", el("button", {class: "plain", data: {testid: "toast-undo"}, on: {click: async () => {
      box.style.display = "none";
      await undo(undoAction);
    }}}, "Hoàn tác"));
  }
  box.style.display = "block";
  clearTimeout(box.timer);
  box.timer = setTimeout(() => { box.style.display = "none"; }, 8000);
}

async function api(service, path, options = {}) {
  const init = {method: options.method || "GET", headers: {Authorization: "Bearer " + token}};
  if (options.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  let r = await fetch(APIS[service] + path, init);
  if (r.status === 401 && session) {
    // The token ended (or was revoked): one more, from the session, if it still lives.
    try { await refreshToken(); } catch (e) { await signedOut(); throw new Error("Phiên đăng nhập đã hết hạn"); }
    init.headers.Authorization = "Bearer " + token;
    r = await fetch(APIS[service] + path, init);
  }
  if (r.status === 401) { await signedOut(); throw new Error("Phiên đăng nhập đã hết hạn"); }
  if (r.status === 204) return null;
  const type = r.headers.get("content-type") || "";
  const data = type.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const detail = data && data.detail !== undefined ? data.detail : data;
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return data;
}
const school = () => encodeURIComponent(claims.school);
const inv = (path, o) => api("invoicing", `/schools/${school()}${path}`, o);
const rec = (path, o) => api("reconciliation", `/schools/${school()}${path}`, o);

async function guarded(fn) {
  try {
    return await fn();
  } catch (e) {
    toast("Lỗi: " + e.message);
    return undefined;
  }
}

async function signedOut() {
  clearTimeout(refreshToken.timer);
  token = null;
  claims = null;
  session = null;
  await start();
}

async function signOut() {
  await Auth.signOut();
  await signedOut();
}

// --- Tabs ---

const loaders = {"truong": loadSchoolSetup, "thiet-lap": loadSetup, "hoa-don": loadInvoices, "ngoai-le": loadExceptions, "da-khop": loadMatched,
  "sao-ke": async () => {}, "tien-mat": loadCashToday, "chot-ngay": loadClose, "tin-nhan": loadMessages};

function showTab() {
  const name = (location.hash || "#hoa-don").slice(1);
  const allowed = isPrincipal() ? PRINCIPAL_TABS : Object.keys(loaders);
  const tab = allowed.includes(name) ? name : allowed.includes("hoa-don") ? "hoa-don" : allowed[0];
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== tab;
  for (const a of document.querySelectorAll("#tabs a")) {
    a.classList.toggle("on", a.dataset.tab === tab);
    a.hidden = !allowed.includes(a.dataset.tab);
  }
  guarded(loaders[tab]);
  if (tab !== "ngoai-le" && !isPrincipal()) guarded(loadExceptionCount);  // the queue's size, fresh on every tab
}

// --- The school's setup: its account, the aggregators' webhooks, receipt series, its certificate ---

const PROVIDERS = {sepay: "SePay", casso: "Casso", payos: "payOS"};
const rct = (path, o) => api("receipts", `/schools/${school()}${path}`, o);

async function loadSchoolSetup() {
  const s = await inv("");
  put($("s-account"), el("p", {}, el("strong", {}, s.account_number), ` · ${s.account_name} · mã ngân hàng ${s.bank_bin}`));
  const hooks = await rec("/webhooks");
  put($("s-webhooks"), hooks.length ? el("ul", {}, ...hooks.map((h) => el("li", {data: {testid: "webhook"}},
    `${PROVIDERS[h.provider] || h.provider} (${h.scheme}): địa chỉ nhận `, el("span", {class: "memo"}, APIS.reconciliation + h.path))))
    : el("p", {class: "muted"}, "Chưa cấu hình: tiền về chỉ được ghi nhận khi tải sao kê lên."));
  const series = await rct("/series");
  put($("s-series"), series.length ? el("table", {}, el("tbody", {}, ...series.map((r) => el("tr", {data: {testid: "series-row"}},
    el("td", {}, r.form_code), el("td", {}, r.series_code), el("td", {}, r.year),
    el("td", {class: "num"}, `số tiếp theo ${r.next_number}`), el("td", {class: r.running_low ? "error" : "muted"}, `còn ${r.numbers_left} số`)))))
    : el("p", {class: "muted"}, "Chưa đăng ký ký hiệu biên lai."));
  if (!$("se-year").value) $("se-year").value = new Date().getFullYear();
  await loadKeys();
  if (!$("y-to").value) {
    const [y, m] = today().split("-").map(Number);
    const first = m >= 6 ? y : y - 1;  // from June, the year that starts in September
    $("y-to").value = `${first}-${first + 1}`;
  }
}

// The school's certificates: whose, by which authority, valid until when, what each signs, how many receipts.
const KEY_KIND = {xml: "Ký biên lai điện tử (XML)", compact: "Ký mã QR kiểm tra ngoại tuyến"};
const KEY_STATUS = {active: "Đang dùng", retired: "Đã thay (vẫn dùng để kiểm tra biên lai cũ)", revoked: "Đã thu hồi"};

async function loadKeys() {
  const keys = await rct("/keys");
  put($("k-list"), keys.length ? el("table", {}, el("thead", {}, el("tr", {}, ...["Chứng thư của", "Tổ chức cấp", "Dùng để", "Hiệu lực đến", "Trạng thái", "Biên lai đã ký"].map((h, i) => el("th", {class: i === 5 ? "num" : ""}, h)))),
    el("tbody", {}, ...keys.map((k) => el("tr", {data: {testid: "key-row"}}, el("td", {}, k.subject), el("td", {}, k.issuer),
      el("td", {}, KEY_KIND[k.kind] || k.kind), el("td", {}, when(k.not_after)), el("td", {}, KEY_STATUS[k.status] || k.status),
      el("td", {class: "num"}, k.receipts))))) : el("p", {class: "muted"}, "Chưa có chứng thư: biên lai chờ đến khi nhập chứng thư."));
}

const OUTCOME = {promoted: "Lên lớp", graduated: "Ra trường", repeated: "Lưu ban"};
let yearPlan = null;

function yearBody(confirm) {
  const repeaters = $("y-repeat").value.split(/[,;\s]+/).map((c) => c.trim()).filter(Boolean);
  return {last_grade: Number($("y-last").value), repeaters, ...(confirm ? {confirm} : {})};
}

function showYear(p) {
  put($("y-result"),
    el("p", {class: p.applied ? "ok" : "", data: {testid: "year-summary"}},
      (p.applied ? `Đã chuyển sang năm học ${p.to_year}: ` : `Năm học ${p.from_year} → ${p.to_year}: `) +
      `${p.promoted} học sinh lên lớp, ${p.graduated} ra trường, ${p.repeated} lưu ban. ` +
      `Còn nợ chuyển sang năm mới: ${money(p.carried.outstanding)} của ${p.carried.pupils_owing} học sinh` +
      (p.carried.graduates_owing ? ` (trong đó ${money(p.carried.graduates_outstanding)} của ${p.carried.graduates_owing} học sinh ra trường).` : ".")),
    p.already_done ? el("p", {class: "error"}, `Năm học ${p.from_year} đã được chuyển lúc ${when(p.already_done.done_at)} (${p.already_done.done_by}).`) : null,
    p.unreadable.length ? el("p", {class: "error", data: {testid: "year-unreadable"}},
      "Không đọc được khối của các lớp: " + p.unreadable.map((u) => `${u.class_name} (${u.pupils} học sinh)`).join(", ") +
      ". Sửa tên lớp trong danh sách học sinh (bắt đầu bằng số khối, ví dụ 3A) rồi xem trước lại.") : null,
    el("table", {}, el("thead", {}, el("tr", {}, ...["Lớp", "Chuyển", "Sang lớp", "Số học sinh", "Còn nợ"].map((h, i) => el("th", {class: i > 2 ? "num" : ""}, h)))),
      el("tbody", {}, ...p.by_class.map((c) => el("tr", {data: {testid: "year-row"}}, el("td", {}, c.class_name), el("td", {}, OUTCOME[c.outcome] || c.outcome),
        el("td", {}, c.new_class || "—"), el("td", {class: "num"}, c.pupils), el("td", {class: "num"}, money(c.outstanding)))))));
}

async function previewYear() {
  const p = await inv(`/school-years/${encodeURIComponent($("y-to").value.trim())}/preview`, {method: "POST", body: yearBody()});
  yearPlan = p.plan;
  showYear(p);
  $("y-apply").disabled = Boolean(p.unreadable.length || p.already_done);
}

async function applyYear() {
  if (!yearPlan) return;
  if (!confirm(`Chuyển cả trường sang năm học ${$("y-to").value.trim()}? Thao tác này chỉ làm một lần mỗi năm.`)) return;
  const p = await inv(`/school-years/${encodeURIComponent($("y-to").value.trim())}`, {method: "POST", body: yearBody(yearPlan)});
  $("y-apply").disabled = true;
  yearPlan = null;
  showYear(p);
  toast(`Đã chuyển sang năm học ${p.to_year}`);
}

async function saveWebhook() {
  await rec(`/webhooks/${$("w-provider").value}`, {method: "PUT", body: {scheme: $("w-scheme").value, secret: $("w-secret").value}});
  $("w-secret").value = "";
  toast("Đã lưu cấu hình nhận báo có");
  await loadSchoolSetup();
}

async function saveSeries() {
  const n = (id) => Number($(id).value.replace(/[^0-9]/g, ""));
  await rct("/series", {method: "POST", body: {form_code: $("se-form").value.trim(), series_code: $("se-code").value.trim(),
    year: n("se-year"), range_from: n("se-from"), range_to: n("se-to")}});
  toast("Đã đăng ký ký hiệu biên lai");
  await loadSchoolSetup();
}

async function importKey() {
  const file = $("k-file").files[0];
  if (!file) { toast("Chọn tệp chứng thư (.p12)"); return; }
  const form = new FormData();
  form.append("file", file);
  form.append("password", $("k-password").value);
  const r = await fetch(`${APIS.receipts}/schools/${school()}/keys`, {method: "POST", headers: {Authorization: "Bearer " + token}, body: form});
  const data = await r.json().catch(() => ({}));
  $("k-password").value = "";
  if (!r.ok) throw new Error(typeof data.detail === "string" ? data.detail : `nhập chứng thư thất bại (${r.status})`);
  put($("k-result"), el("span", {class: "ok"}, `Đã nhập chứng thư, mã khóa ${data.kid}. Biên lai mới được ký bằng chứng thư này.`));
}

// --- Preparing a period: roster, fee items, issuing with a preview ---

const CATEGORY = {tuition: "Học phí", meals: "Tiền ăn", services: "Dịch vụ", insurance: "Bảo hiểm",
  extra_classes: "Học thêm", other: "Khác"};
const CADENCE = {monthly: "Hằng tháng", semester: "Học kỳ", yearly: "Cả năm", one_off: "Một lần"};

async function loadSetup() {
  const items = await inv("/fee-items");
  put($("fees"), items.length ? el("table", {}, el("tbody", {}, ...items.map((i) => el("tr", {data: {testid: "fee-item", code: i.code}},
    el("td", {}, i.code), el("td", {}, i.name), el("td", {}, CATEGORY[i.category] || i.category),
    el("td", {}, (CADENCE[i.cadence] || i.cadence) + (i.one_off_period ? ` (kỳ ${i.one_off_period})` : "")),
    el("td", {class: "num"}, i.rates.map((r) => money(r.amount) + (i.per_day ? "/ngày" : "") + (r.grade || r.class_name ? ` (${r.class_name || "khối " + r.grade})` : "")).join(", ")),
    el("td", {}, i.state_funded ? "Nhà nước chi trả" : ""),
    el("td", {}, el("button", {class: "plain", data: {testid: "fee-edit"}, on: {click: () => editFeeItem(i)}}, "Sửa"), " ",
      el("button", {class: "danger", data: {testid: "fee-retire"}, on: {click: () => guarded(() => retireFeeItem(i))}}, "Ngừng thu")))))) : el("p", {class: "muted"}, "Chưa có khoản thu nào."));
  await loadRounds();
  if (!$("i-period").value) $("i-period").value = new Intl.DateTimeFormat("en-CA", {timeZone: TZ, year: "numeric", month: "2-digit"}).format(new Date()).slice(0, 7);
}

async function loadRounds() {
  const rounds = await inv("/rounds");
  put($("rounds"), rounds.length ? el("table", {}, el("tbody", {}, ...rounds.map((r) => el("tr", {data: {testid: "round"}},
    el("td", {}, r.code), el("td", {}, r.name), el("td", {}, r.period), el("td", {}, r.class_name || r.grade || "cả trường"),
    el("td", {class: "num"}, `${r.invoices} hóa đơn`), el("td", {class: "num"}, money(r.invoiced)),
    el("td", {class: "num"}, `đã thu ${money(r.collected)}`))))) : null);
}

async function openRound() {
  const body = {code: $("o-code").value.trim().toUpperCase(), name: $("o-name").value.trim(), period: $("o-period").value.trim(),
    items: [{name: $("o-item").value.trim(), category: $("o-category").value, amount: Number($("o-amount").value.replace(/[^0-9]/g, ""))}]};
  if ($("o-class").value.trim()) body.class_name = $("o-class").value.trim();
  const r = await inv("/rounds", {method: "POST", body});
  toast(`Đã mở đợt thu ${r.code}: ${r.invoices} hóa đơn, tổng ${money(r.total)}`);
  await loadRounds();
}

// What an import would do, as the page says it (the server's `plan` is "+added ~changed -left").
let rosterPlan = null;

let rosterMapping = null;  // {field: heading} the accountant chose for this file's headings

async function sendRoster(mode, confirm) {
  const form = new FormData();
  form.append("file", $("r-file").files[0]);
  if (rosterMapping) form.append("mapping", JSON.stringify(rosterMapping));
  const query = new URLSearchParams({mode});
  if (confirm) query.set("confirm", confirm);
  return fetch(`/schools/${school()}/roster?${query}`, {method: "POST", headers: {Authorization: "Bearer " + token}, body: form});
}

async function uploadRoster(mode) {
  const file = $("r-file").files[0];
  if (!file) { toast("Chọn tệp danh sách trước"); return; }
  if (mode !== "preview") {
    // Applying changes no pupil unseen: the counts are previewed and confirmed first.
    const preview = await (await sendRoster("preview")).json();
    const changed = Object.keys(preview.updated || {}).length;
    if ((changed || preview.marked_left.length) && !confirm(
      `Nhập tệp này sẽ thêm ${preview.created.length} học sinh, cập nhật ${changed} và đánh dấu ${preview.marked_left.length} học sinh đã nghỉ. Tiếp tục?`)) return;
    rosterPlan = preview.plan;
  }
  const r = await sendRoster(mode, mode === "preview" ? null : rosterPlan);
  const data = await r.json();
  const columns = (data.errors || []).filter((e) => e.code === "missing_column");
  if (!r.ok && columns.length) { put($("r-result"), el("p", {class: "error"}, data.detail)); showMapping(columns); return; }
  if (!r.ok && data.rows === undefined) throw new Error(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail));
  put($("r-map"));
  const changed = Object.keys(data.updated || {}).length;
  put($("r-result"), 
    el("p", {class: data.errors.length ? "error" : "ok", data: {testid: "roster-summary"}},
      `${data.rows} dòng, ${data.valid} dòng đúng, ${data.errors.length} lỗi. ` +
      (data.applied ? `Đã nhập: ${data.created.length} học sinh mới, ${changed} cập nhật, ${data.marked_left.length} đã nghỉ.`
        : mode === "apply" && data.errors.length ? "Chưa nhập gì: sửa các lỗi dưới đây rồi tải lại tệp."
        : `Chưa nhập (xem trước): sẽ thêm ${data.created.length}, cập nhật ${changed}, đánh dấu ${data.marked_left.length} học sinh đã nghỉ.`)),
    data.without_personal_id.length ? el("p", {class: "muted", data: {testid: "roster-without-id"}},
      `${data.without_personal_id.length} học sinh chưa có mã định danh (vẫn được nhập, được tính vào chỉ tiêu của phòng): ${data.without_personal_id.join(", ")}`) : null,
    data.errors.length ? el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Dòng"), el("th", {}, "Cột"), el("th", {}, "Lỗi"))),
      el("tbody", {}, ...data.errors.map((e) => el("tr", {data: {testid: "roster-error"}}, el("td", {}, e.line), el("td", {}, e.column), el("td", {}, e.message))))) : null);
}

// The columns a roster needs, and the optional ones, by the names the page uses.
const ROSTER_FIELDS = {student_code: "Mã học sinh", full_name: "Họ và tên", date_of_birth: "Ngày sinh", class_name: "Lớp",
  guardian_name: "Họ tên phụ huynh", guardian_phone: "SĐT phụ huynh", mother_name: "Họ tên mẹ", mother_phone: "SĐT mẹ",
  father_name: "Họ tên cha", father_phone: "SĐT cha", national_id: "Mã định danh", grade: "Khối", policy: "Đối tượng miễn giảm"};

function showMapping(columns) {
  const headers = columns[0].headers || [];
  const selects = {};
  const rows = Object.entries(ROSTER_FIELDS).map(([field, label]) => {
    const id = `map-${field}`;
    selects[field] = el("select", {id, data: {testid: "map-" + field}}, el("option", {value: ""}, "— không có —"),
      ...headers.map((h) => el("option", {value: h, selected: Boolean(rosterMapping && rosterMapping[field] === h)}, h)));
    const needed = columns.some((c) => c.field === field || (c.field === "guardian" && field.startsWith("guardian_")));
    return el("label", {for: id}, label + (needed ? " (cần)" : ""), selects[field]);
  });
  const go = el("button", {data: {testid: "map-apply"}, on: {click: () => guarded(async () => {
    rosterMapping = Object.fromEntries(Object.entries(selects).map(([f, s]) => [f, s.value]).filter(([, v]) => v));
    await uploadRoster("preview");
  })}}, "Xem trước với cách ghép này");
  put($("r-map"), el("p", {}, "Các cột của tệp chưa được nhận ra. Chọn cột của tệp ứng với từng cột cần có (cần: ",
    columns.map((c) => c.message).join("; "), "). Trường sẽ ghi nhớ cách ghép cho các lần tải sau."),
  el("div", {class: "bar"}, ...rows), el("div", {class: "actions"}, go));
}

async function saveFeeItem() {
  const code = $("fi-code").value.trim().toUpperCase();
  const amount = Number($("fi-amount").value.replace(/[^0-9]/g, ""));
  if (!code || !$("fi-name").value.trim()) { toast("Cần mã và tên khoản thu"); return; }
  const oneOff = $("fi-cadence").value === "one_off";
  if (oneOff && !/^\d{4}-\d{2}$/.test($("fi-period").value.trim())) { toast("Khoản thu một lần cần kỳ thu, ví dụ 2026-10."); $("fi-period").focus(); return; }
  await inv(`/fee-items/${encodeURIComponent(code)}`, {method: "PUT", body: {name: $("fi-name").value.trim(),
    category: $("fi-category").value, cadence: $("fi-cadence").value, per_day: $("fi-per-day").checked, rates: [{amount}],
    one_off_period: oneOff ? $("fi-period").value.trim() : null}});
  toast(`Đã lưu khoản thu ${code}`);
  await loadSetup();
}

function editFeeItem(i) {
  $("fi-code").value = i.code;
  $("fi-name").value = i.name;
  $("fi-category").value = i.category;
  $("fi-cadence").value = i.cadence;
  $("fi-per-day").checked = i.per_day;
  $("fi-amount").value = i.rates.length ? i.rates[0].amount : "";
  $("fi-period").value = i.one_off_period || "";
  $("fi-period-box").hidden = i.cadence !== "one_off";
  $("fi-name").focus();
}

async function retireFeeItem(i) {
  if (!confirm(`Ngừng thu khoản ${i.code} (${i.name})? Hóa đơn đã phát hành giữ nguyên; các kỳ sau không thu khoản này nữa.`)) return;
  await inv(`/fee-items/${encodeURIComponent(i.code)}`, {method: "DELETE"});
  toast(`Đã ngừng thu khoản ${i.code}`);
  await loadSetup();
}

async function saveCalendar() {
  const period = $("i-period").value.trim();
  const days = Number($("i-days").value.replace(/[^0-9]/g, ""));
  await inv(`/calendar/${encodeURIComponent(period)}`, {method: "PUT", body: {school_days: days}});
  toast(`Kỳ ${period}: ${days} ngày học (tiền ăn tính theo ngày)`);
}

function issueQuery() {
  const days = $("i-days").value.trim();
  return days ? `?school_days=${encodeURIComponent(days)}` : "";
}

async function previewIssue() {
  const period = $("i-period").value.trim();
  const p = await inv(`/periods/${encodeURIComponent(period)}/invoices/preview${issueQuery()}`);
  const table = (head, rows) => el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h, i) => el("th", {class: i ? "num" : ""}, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((v, i) => el("td", {class: i ? "num" : ""}, v))))));
  put($("i-result"), 
    el("p", {data: {testid: "issue-summary"}}, `Kỳ ${p.period}: sẽ phát hành `, el("strong", {}, `${p.invoices} hóa đơn`), `, tổng `,
      el("strong", {data: {testid: "issue-total"}}, money(p.total)), `. Đã phát hành trước: ${p.already_issued}. Không phải nộp: ${p.nothing_billed}.`),
    el("h3", {}, "Theo lớp"), table(["Lớp", "Số hóa đơn", "Tổng"], p.by_class.map((c) => [c.class_name, c.invoices, money(c.total)])),
    el("h3", {}, "Theo khoản thu"), table(["Khoản thu", "Theo mức thu", "Miễn giảm", "Phải nộp"], p.by_item.map((i) => [i.name, money(i.list_amount), money(i.reduction), money(i.amount)])),
    p.exemptions.length ? el("h3", {}, "Miễn giảm theo đối tượng") : null,
    p.exemptions.length ? table(["Đối tượng", "Số học sinh", "Miễn giảm"], p.exemptions.map((e) => [POLICIES[e.policy_category] || e.policy_category, e.students, money(e.reduction)])) : null);
  $("i-issue").disabled = p.invoices === 0;
}

async function issue() {
  const period = $("i-period").value.trim();
  const days = $("i-days").value.trim();
  // Issuing sends invoices to every family: asked once more, with what it will create.
  const p = await inv(`/periods/${encodeURIComponent(period)}/invoices/preview${issueQuery()}`);
  if (!p.invoices) { toast(`Kỳ ${p.period}: không có hóa đơn nào để phát hành.`); return; }
  if (!confirm(`Phát hành ${p.invoices} hóa đơn kỳ ${p.period}, tổng ${money(p.total)}? Phụ huynh sẽ nhận được hóa đơn.`)) return;
  const r = await inv(`/periods/${encodeURIComponent(period)}/invoices`, {method: "POST", body: days ? {school_days: Number(days)} : {}});
  $("i-issue").disabled = true;
  put($("i-result"), el("p", {class: "ok", data: {testid: "issue-done"}},
    `Đã phát hành ${r.created} hóa đơn kỳ ${r.period}, tổng ${money(r.total_invoiced)}. Mở tab Hóa đơn để gửi cho phụ huynh.`));
  toast(`Đã phát hành ${r.created} hóa đơn`);
}

// --- Invoices ---

let shownInvoices = [];

const dayOf = (iso) => iso ? `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}` : "";

async function loadInvoices() {
  if (!loadInvoices.opened) {  // the first time: the current month, as the accountant works it
    loadInvoices.opened = true;
    if (!$("f-period").value) $("f-period").value = today().slice(0, 7);
  }
  const q = new URLSearchParams({limit: "2000"});
  for (const [id, key] of [["f-period", "period"], ["f-class", "class_name"], ["f-status", "status"], ["f-student", "student"]]) {
    if ($(id).value.trim()) q.set(key, $(id).value.trim());
  }
  const asked = (loadInvoices.asked = (loadInvoices.asked || 0) + 1);
  const rows = await inv(`/invoices?${q}`);
  if (asked !== loadInvoices.asked) return;  // a later filter's answer draws the list, not this one
  shownInvoices = rows;
  $("hoa-don").append($("invoice"));  // back in its section before the rows it sat among are replaced
  $("invoice").hidden = true;
  const todayIso = today();
  chosen.clear();
  $("group").disabled = true;
  const choose = (i) => el("input", {type: "checkbox", "aria-label": `Chọn hóa đơn của ${i.full_name} kỳ ${i.period}`, data: {testid: "invoice-pick"},
    disabled: !(i.outstanding > 0 && i.status !== "cancelled"),
    on: {click: (ev) => ev.stopPropagation(), keydown: (ev) => ev.stopPropagation(), change: (ev) => {
      if (ev.currentTarget.checked) chosen.add(i.invoice_id); else chosen.delete(i.invoice_id);
      $("group").disabled = chosen.size < 2;
    }}});
  put($("invoices"), ...shownInvoices.map((i) => el("tr", {class: "pick", tabindex: "0", data: {testid: "invoice-row", invoice: i.invoice_id},
    on: {click: (ev) => { guarded(async () => { await openInvoice(i.invoice_id); besideInvoice(ev.currentTarget); }); },
      keydown: (ev) => { if (ev.key === "Enter" && ev.target === ev.currentTarget) { const tr = ev.currentTarget; guarded(async () => { await openInvoice(i.invoice_id); besideInvoice(tr); }); } }}},
  el("td", {}, choose(i)), el("td", {}, i.student_code), el("td", {}, i.full_name), el("td", {}, i.class_name), el("td", {}, i.period),
  el("td", {class: i.outstanding > 0 && i.status !== "cancelled" && i.due_date < todayIso ? "error" : "", data: {testid: "due-date"}},
    dayOf(i.due_date)),
  el("td", {class: "num"}, money(i.total)), el("td", {class: "num"}, money(i.amount_paid)),
  el("td", {class: "num"}, money(i.outstanding)), el("td", {}, tag(i.status, STATUS)))));
  const owed = shownInvoices.reduce((s, i) => s + (i.status === "cancelled" ? 0 : i.outstanding), 0);
  $("invoices-sum").textContent = `${shownInvoices.length} hóa đơn · còn phải thu ${money(owed)}`;
}

// Invoices chosen for one payment group (one reference, one QR for a family's several invoices).
const chosen = new Set();

async function groupChosen() {
  const g = await inv("/payment-groups", {method: "POST", body: {invoice_ids: [...chosen]}});
  const url = `${location.origin}/pay/${g.public_token}`;
  put($("group-result"), el("div", {class: "card", data: {testid: "group-done"}},
    el("p", {class: "ok"}, `Mã thanh toán chung `, el("strong", {}, g.payment_reference), ` cho ${g.invoice_ids.length} hóa đơn, tổng ${money(g.total)}.`),
    el("p", {}, "Gửi phụ huynh đường dẫn: ", el("a", {href: url, target: "_blank", rel: "noopener"}, url))));
  toast(`Đã gộp ${g.invoice_ids.length} hóa đơn: mã ${g.payment_reference}`);
}

// The invoice's details open right under the row (keyboard and screen readers read them in place).
function besideInvoice(tr) {
  if (!tr || !tr.parentNode) return;
  const holder = el("tr", {class: "detail"}, el("td", {colspan: "10"}));
  holder.firstChild.append($("invoice"));
  for (const old of tr.parentNode.querySelectorAll("tr.detail")) old.remove();
  tr.after(holder);
  $("invoice").scrollIntoView({block: "nearest"});
}

function parentMessage(d, payUrl) {
  return `Kính gửi phụ huynh em ${d.full_name} (lớp ${d.class_name}): khoản thu kỳ ${d.period} của ${d.school_name} ` +
    `là ${money(d.total)}, còn phải nộp ${money(d.outstanding)}` + (d.due_date ? `, hạn nộp ${dayOf(d.due_date)}` : "") +
    `. Phụ huynh quét mã QR hoặc mở đường dẫn ` +
    `${payUrl} để chuyển khoản (nội dung đã điền sẵn mã ${d.payment_reference}). Trân trọng cảm ơn.`;
}

// Adjusting an invoice (a meal refund for days absent, a fee waived mid-month) and cancelling it; both are
// kept in its history with who and why.
function invoiceChanges(d) {
  const way = el("select", {"aria-label": "Tăng hay giảm", data: {testid: "adjust-way"}},
    el("option", {value: "-1"}, "Giảm"), el("option", {value: "1"}, "Tăng"));
  const amount = el("input", {size: "10", inputmode: "numeric", "aria-label": "Số tiền điều chỉnh (đồng)", data: {testid: "adjust-amount"}});
  const why = el("input", {size: "28", "aria-label": "Lý do điều chỉnh", placeholder: "lý do, ví dụ: hoàn tiền ăn 3 ngày nghỉ", data: {testid: "adjust-reason"}});
  const cancelWhy = el("input", {size: "28", "aria-label": "Lý do hủy hóa đơn", placeholder: "lý do hủy", data: {testid: "cancel-reason"}});
  const adjust = el("button", {data: {testid: "adjust"}, on: {click: () => guarded(async () => {
    const typed = amount.value.trim();
    if (!/^[0-9][0-9.\s]*$/.test(typed) || !Number(typed.replace(/[^0-9]/g, ""))) { toast("Số tiền điều chỉnh phải là số đồng lớn hơn 0, ví dụ 75000."); amount.focus(); return; }
    if (!why.value.trim()) { toast("Ghi lý do điều chỉnh."); why.focus(); return; }
    const delta = Number(way.value) * Number(typed.replace(/[^0-9]/g, ""));
    const r = await inv(`/invoices/${d.invoice_id}/adjustments`, {method: "POST", body: {delta, reason: why.value.trim()}});
    toast(`Đã điều chỉnh ${money(delta)}: tổng mới ${money(r.total)}`);
    await reopenInvoice(d.invoice_id);
  })}}, "Điều chỉnh");
  const cancel = el("button", {class: "danger", data: {testid: "invoice-cancel"}, on: {click: () => guarded(async () => {
    if (!cancelWhy.value.trim()) { toast("Ghi lý do hủy hóa đơn."); cancelWhy.focus(); return; }
    if (!confirm(`Hủy hóa đơn kỳ ${d.period} của ${d.full_name} (${money(d.total)})? Mã QR của hóa đơn sẽ không nhận tiền nữa.`)) return;
    await inv(`/invoices/${d.invoice_id}/cancel`, {method: "POST", body: {reason: cancelWhy.value.trim()}});
    toast("Đã hủy hóa đơn");
    await reopenInvoice(d.invoice_id);
  })}}, "Hủy hóa đơn");
  return el("div", {}, el("h3", {}, "Điều chỉnh hoặc hủy"),
    el("div", {class: "bar"}, way, amount, why, adjust),
    d.amount_paid === 0 ? el("div", {class: "bar"}, cancelWhy, cancel)
      : el("p", {class: "muted"}, "Hóa đơn đã có tiền nộp: không hủy được; điều chỉnh giảm, hoặc hoàn tiền ở tab Cần xử lý."));
}

// A receipt cancelled keeps its number; by default a new receipt replaces it (a wrong payer, a wrong amount).
async function cancelReceipt(d, r) {
  const reason = prompt(`Lý do hủy biên lai ${r.number}:`);
  if (reason === null) return;
  if (!reason.trim()) { toast("Hủy biên lai cần ghi lý do."); return; }
  const replace = confirm("Phát hành biên lai mới thay thế? (Chọn Hủy bỏ nếu khoản nộp không còn, ví dụ đã hoàn tiền.)");
  const done = await api("receipts", `/schools/${school()}/receipts/${r.receipt_id}/cancel`, {method: "POST", body: {reason: reason.trim(), replace}});
  toast(done.replaced_by ? `Đã hủy biên lai ${r.number}; biên lai thay thế đang được ký.` : `Đã hủy biên lai ${r.number}.`);
  for (let i = 0; i < 20; i++) {  // the invoice's receipts follow the receipts service's events a moment later
    const now = await inv(`/invoices/${d.invoice_id}`);
    if (!now.receipts.some((x) => x.receipt_id === r.receipt_id) && (!done.replaced_by || now.receipts.length)) break;
    await new Promise((ok) => setTimeout(ok, 300));
  }
  await reopenInvoice(d.invoice_id);
}

// The list again (totals and statuses moved), with the invoice's details open under its row.
async function reopenInvoice(invoiceId) {
  await loadInvoices();
  const tr = document.querySelector(`#invoices tr[data-invoice="${invoiceId}"]`);
  await openInvoice(invoiceId);
  besideInvoice(tr);
}

async function openInvoice(invoiceId) {
  // While another invoice's details are fetched, the panel shows none: never the previous invoice's buttons,
  // which would adjust or cancel the wrong invoice. Only the last invoice asked for is drawn.
  const asked = (openInvoice.asked = (openInvoice.asked || 0) + 1);
  const box = $("invoice");
  put(box, el("p", {class: "muted"}, "Đang tải hóa đơn…"));
  box.hidden = false;
  const d = await inv(`/invoices/${invoiceId}`);
  const listed = shownInvoices.find((i) => i.invoice_id === invoiceId);
  const payUrl = listed ? listed.pay_url : "";
  const qr = el("div", {class: "qr", data: {testid: "invoice-qr"}});
  if (d.outstanding > 0 && d.status !== "cancelled") {
    const svg = await inv(`/invoices/${invoiceId}/qr.svg`);
    qr.append(el("img", {alt: "Mã VietQR", width: "180", height: "180",
      src: "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(svg)))}));
  }
  if (asked !== openInvoice.asked) return;
  const message = el("textarea", {readonly: true, "aria-label": "Tin nhắn gửi phụ huynh", data: {testid: "parent-message"}}, parentMessage(d, payUrl));
  put(box, 
    el("h2", {}, `${d.full_name} · lớp ${d.class_name} · kỳ ${d.period}`),
    el("div", {}, tag(d.status, STATUS), " ", el("span", {class: "muted"}, `Mã thanh toán ${d.payment_reference}`),
      d.due_date ? el("span", {class: "muted", data: {testid: "invoice-due"}}, ` · hạn nộp ${dayOf(d.due_date)}`) : null),
    el("h3", {}, "Các khoản"),
    el("table", {}, el("tbody", {}, ...d.lines.map((l) => el("tr", {},
      el("td", {}, l.name), el("td", {class: "num"}, money(l.list_amount)),
      el("td", {class: "num"}, l.reduction ? "− " + money(l.reduction) : ""), el("td", {class: "num"}, money(l.amount)))),
    el("tr", {}, el("th", {}, "Tổng"), el("td", {}), el("td", {}), el("th", {class: "num"}, money(d.total))))),
    el("p", {}, `Đã nộp ${money(d.amount_paid)} · còn lại `, el("strong", {data: {testid: "invoice-outstanding"}}, money(d.outstanding))),
    el("h3", {}, "Lịch sử"),
    el("ul", {data: {testid: "invoice-history"}},
      ...d.payments.map((p) => el("li", {}, `${when(p.paid_at)}: nộp ${money(p.amount)} (${p.channel === "CASH" ? "tiền mặt" : "chuyển khoản"})`,
        p.reversed_at ? el("span", {class: "muted"}, ` — đã hủy ${when(p.reversed_at)}`) : "")),
      ...d.adjustments.map((a) => el("li", {}, `${when(a.created_at)}: điều chỉnh ${money(a.delta)} — ${a.reason} (${a.adjusted_by})`)),
      ...d.receipts.map((r) => el("li", {data: {testid: "invoice-receipt"}}, `${when(r.issued_at)}: biên lai `,
        el("a", {href: r.url, target: "_blank", rel: "noopener"}, r.number), " ",
        el("button", {class: "danger", data: {testid: "receipt-cancel"}, on: {click: () => guarded(() => cancelReceipt(d, r))}}, "Hủy biên lai")))),
    d.status !== "cancelled" ? invoiceChanges(d) : null,
    el("h3", {}, "Gửi phụ huynh"), qr,
    payUrl ? el("p", {}, el("a", {href: payUrl, target: "_blank", rel: "noopener", data: {testid: "pay-link"}}, payUrl)) : null,
    message,
    el("div", {class: "actions"}, el("button", {class: "plain", on: {click: () => copy(message.value)}}, "Sao chép tin nhắn")),
  );
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast("Đã sao chép");
  } catch (e) {
    toast("Trình duyệt không cho sao chép tự động: hãy chọn và sao chép nội dung");
  }
}

async function printUnpaid(what = "unpaid") {
  const period = $("f-period").value.trim() || $("i-period").value.trim();
  if (!period) { toast("Nhập kỳ thu (ví dụ 2026-09) để in"); return; }
  const q = new URLSearchParams({period});
  if ($("f-class").value.trim()) q.set("class_name", $("f-class").value.trim());
  await saveFile(await fetchFile("invoicing", `/exports/${what}.pdf?${q}`), what === "unpaid" ? "chua-nop.pdf" : "giay-bao.pdf");
}

async function fetchFile(service, path) {
  const r = await fetch(APIS[service] + `/schools/${school()}${path}`, {headers: {Authorization: "Bearer " + token}});
  if (!r.ok) {
    const data = await r.json().catch(() => ({}));
    throw new Error(typeof data.detail === "string" ? data.detail : `tải về thất bại (${r.status})`);
  }
  return r;
}

// A file sent to an API (a statement): the answer's JSON, or its problem's Vietnamese detail as the error.
async function fetchForm(service, path, form) {
  const send = () => fetch(APIS[service] + `/schools/${school()}${path}`, {method: "POST", headers: {Authorization: "Bearer " + token}, body: form});
  let r = await send();
  if (r.status === 401 && session) { await refreshToken(); r = await send(); }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(typeof data.detail === "string" ? data.detail : `gửi tệp thất bại (${r.status})`);
  return data;
}

async function saveFile(r, fallback) {
  const name = (/filename="([^"]+)"/.exec(r.headers.get("content-disposition") || "") || [])[1] || fallback;
  const url = URL.createObjectURL(await r.blob());
  const a = el("a", {href: url, download: name});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// --- Exceptions queue ---

// The queue a page at a time (oldest first); "Xem thêm" reads the next page after the last card shown.
const QUEUE_PAGE = 50;

function queueCursor(c) { return `${c.booked_at}_${c.credit_id}`; }

async function loadExceptions() {
  const [count, items] = await Promise.all([rec("/exceptions/count"), rec(`/exceptions?limit=${QUEUE_PAGE}`)]);
  $("exceptions-count").textContent = count.open;
  if (!items.length) {
    put($("exceptions"), el("p", {class: "ok", data: {testid: "exceptions-empty"}}, "Không còn khoản nào cần xử lý."));
    return;
  }
  put($("exceptions"), ...items.map(exceptionCard), moreExceptions(items, count.open));
}

function moreExceptions(shown, total) {
  if (shown.length >= total || shown.length % QUEUE_PAGE) return el("span");
  const button = el("button", {class: "plain", data: {testid: "exceptions-more"}, on: {click: () => guarded(async () => {
    const next = await rec(`/exceptions?limit=${QUEUE_PAGE}&after=${encodeURIComponent(queueCursor(shown[shown.length - 1]))}`);
    const all = shown.concat(next);
    button.replaceWith(...next.map(exceptionCard), moreExceptions(all, total));
  })}}, `Xem thêm (còn ${total - shown.length} khoản)`);
  return button;
}

const WHY = {name: (s) => `Nội dung chuyển khoản có tên học sinh “${s.read}”`,
  reference_one_off: (s) => `Mã “${s.read}” trong nội dung gần giống mã ${s.payment_reference} (sai một ký tự)`};

function exceptionCard(c) {
  const free = c.unallocated;
  const reasonInput = el("input", {placeholder: "lý do", size: "24", "aria-label": "Lý do bỏ qua"});
  const refInput = el("input", {placeholder: "số tham chiếu giao dịch hoàn", size: "22", "aria-label": "Số tham chiếu giao dịch hoàn tiền"});
  const found = el("div");
  const search = el("input", {placeholder: "tìm học sinh: mã hoặc tên", size: "22", "aria-label": "Tìm học sinh theo mã hoặc tên",
    on: {keydown: (ev) => { if (ev.key === "Enter") ev.currentTarget.nextElementSibling.click(); }}});
  // A split with amounts: invoices added from the candidates, the suggestions or a search, each with its đồng.
  const parts = new Map();
  const splitBox = el("div", {data: {testid: "split"}});
  const drawSplit = () => {
    if (!parts.size) { put(splitBox); return; }
    const sum = () => [...parts.values()].reduce((t, p) => t + Number(p.input.value.replace(/[^0-9]/g, "") || 0), 0);
    const total = el("span", {data: {testid: "split-total"}});
    const show = () => { const t = sum(); total.textContent = `Tổng ${money(t)} / còn ${money(free)}` + (t > free ? " — vượt quá số tiền" : ""); total.className = t > free ? "error" : "muted"; };
    for (const part of parts.values()) part.input.oninput = show;
    show();
    put(splitBox, el("h3", {}, "Chia khoản tiền theo số tiền"),
      el("table", {}, el("tbody", {}, ...[...parts.entries()].map(([id, part]) => el("tr", {data: {testid: "split-part"}},
        el("td", {}, part.label), el("td", {class: "num"}, part.input),
        el("td", {}, el("button", {class: "plain", on: {click: () => { parts.delete(id); drawSplit(); }}}, "Bỏ")))))),
      el("div", {class: "actions"}, total, el("button", {data: {testid: "split-go"}, on: {click: () => {
        const allocations = [...parts.entries()].map(([invoice_id, part]) => ({invoice_id, amount: Number(part.input.value.replace(/[^0-9]/g, ""))}));
        if (allocations.some((a) => !a.amount)) { toast("Nhập số tiền cho từng hóa đơn (lớn hơn 0 đồng)."); return; }
        if (sum() > free) { toast(`Tổng các phần vượt quá ${money(free)} còn lại của khoản tiền.`); return; }
        act(c, {kind: "split", allocations});
      }}}, "Chia")));
  };
  const addToSplit = (invoiceId, label, owed) => {
    if (!parts.has(invoiceId)) {
      parts.set(invoiceId, {label, input: el("input", {size: "10", inputmode: "numeric", value: String(Math.min(owed, free)),
        "aria-label": `Số tiền cho ${label}`, data: {testid: "split-amount"}})});
    }
    drawSplit();
  };
  // One invoice row: match what is owed (up to what is free), or add it to a split.
  const invoiceRow = (testid, i, name, extra) => el("tr", {data: {testid}},
    el("td", {}, i.student_code), el("td", {}, name), el("td", {}, i.class_name), el("td", {}, i.period),
    el("td", {class: "num"}, money(i.outstanding)), extra ? el("td", {class: "muted"}, extra) : null,
    el("td", {}, i.outstanding > 0
      ? el("span", {}, el("button", {on: {click: () => act(c, {kind: "match", allocations: [{invoice_id: i.invoice_id, amount: Math.min(free, i.outstanding)}]})}},
        `Khớp ${money(Math.min(free, i.outstanding))}`), " ",
      el("button", {class: "plain", data: {testid: "split-add"}, on: {click: () => addToSplit(i.invoice_id, `${name} (${i.class_name}, kỳ ${i.period})`, i.outstanding)}}, "Thêm vào phần chia"))
      : el("span", {class: "muted"}, "đã nộp đủ")));
  // An invoice already paid offers no "Khớp": paying it again needs the family's balance or a refund.
  const candidates = c.candidates.map((i) => invoiceRow("candidate", i, i.student_name));
  const suggestions = (c.suggestions || []).map((i) => invoiceRow("suggestion", i, i.student_name, (WHY[i.why] || (() => i.why))(i)));
  const openSum = c.candidates.reduce((s, i) => s + i.outstanding, 0);
  const splitButton = c.candidates.length > 1 && openSum === free
    ? el("button", {on: {click: () => act(c, {kind: "split", allocations: c.candidates.map((i) => ({invoice_id: i.invoice_id, amount: i.outstanding}))})}},
      `Chia cho ${c.candidates.length} hóa đơn`) : null;
  return el("div", {class: "card", data: {testid: "exception", credit: c.credit_id}},
    el("h2", {}, money(c.amount), " ", el("span", {class: "muted"}, when(c.booked_at)), " ", tag(c.state, STATE)),
    el("div", {}, "Nội dung: ", el("span", {class: "memo", data: {testid: "memo"}}, c.memo || "(trống)")),
    el("div", {class: "muted", data: {testid: "reason"}}, REASON[c.reason_code] || c.reason_code,
      c.payer_name ? ` · người chuyển: ${c.payer_name}` : "", free !== c.amount ? ` · còn ${money(free)} chưa xử lý` : ""),
    candidates.length ? el("table", {}, el("tbody", {}, ...candidates)) : null,
    suggestions.length ? el("h3", {}, "Gợi ý") : null,
    suggestions.length ? el("table", {data: {testid: "suggestions"}}, el("tbody", {}, ...suggestions)) : null,
    el("div", {class: "actions"}, splitButton, search,
      el("button", {class: "plain", on: {click: () => guarded(async () => {
        const q = search.value.trim();
        if (!q) return;
        const rows = (await inv(`/invoices?student=${encodeURIComponent(q)}&owing=true&limit=50`)).filter((i) => i.outstanding > 0);
        if (!rows.length) {
          put(found, el("p", {class: "muted", data: {testid: "search-none"}}, (await inv(`/invoices?student=${encodeURIComponent(q)}&limit=1`)).length
            ? `Học sinh theo “${q}” không còn hóa đơn nào phải nộp.` : `Không tìm thấy học sinh nào theo “${q}” (mã hoặc tên, có dấu hay không dấu).`));
          return;
        }
        put(found, el("table", {}, el("tbody", {}, ...rows.map((i) => invoiceRow("search-result", i, i.full_name)))));
      })}}, "Tìm")),
    found,
    splitBox,
    c.allocated > 0 ? el("div", {class: "actions"}, el("button", {class: "plain", data: {testid: "keep"},
      on: {click: () => act(c, {kind: "keep"})}}, `Giữ ${money(free)} làm số dư, trừ vào hóa đơn sau`)) : null,
    el("div", {class: "actions"}, refInput,
      el("button", {class: "plain", on: {click: () => act(c, {kind: "refund", bank_reference: refInput.value})}}, `Đã hoàn ${money(free)}`),
      reasonInput,
      el("button", {class: "danger", on: {click: () => act(c, {kind: "ignore", reason: reasonInput.value})}}, "Bỏ qua")));
}

// One key per action a card offers: a double click or a retry of the same button is the same request, done once.
const actionKeys = new Map();

async function act(credit, body) {
  const what = `${credit.credit_id}:${JSON.stringify(body)}`;
  if (!actionKeys.has(what)) actionKeys.set(what, crypto.randomUUID());
  await guarded(async () => {
    const result = await rec(`/credits/${credit.credit_id}/actions`, {method: "POST", body: {...body, idempotency_key: actionKeys.get(what)}});
    actionKeys.delete(what);
    toast(`${KIND[body.kind]}: ${money(result.handled)} — ${STATE[result.state] || result.state}`, result.action_id);
    await refreshCurrent();
  });
}

async function undo(actionId) {
  await guarded(async () => {
    const result = await rec(`/actions/${actionId}/undo`, {method: "POST"});
    toast(`Đã hoàn tác — ${STATE[result.state] || result.state}`);
    await refreshCurrent();
  });
}

async function refreshCurrent() {
  const name = (location.hash || "#hoa-don").slice(1);
  if (loaders[name]) await loaders[name]();
  if (name !== "ngoai-le") await loadExceptionCount();
  if (!$("credit").hidden && $("credit").dataset.credit) await openCredit($("credit").dataset.credit);
}

async function loadExceptionCount() {
  $("exceptions-count").textContent = (await rec("/exceptions/count")).open;
}

// --- Matched credits: reverse a wrong match, with the history of every action ---

async function loadMatched() {
  if (!$("m-date").value) $("m-date").value = today();
  const rows = (await rec(`/credits?date=${$("m-date").value}&limit=1000`)).filter((c) => c.allocated > 0 || c.state === "withdrawn" || c.state === "resolved");
  $("da-khop").append($("credit"));  // back in its section before the rows it sat among are replaced
  const open = (ev) => { const tr = ev.currentTarget; guarded(async () => { await openCredit(tr.dataset.credit); besideRow(tr); }); };
  put($("matched"), ...rows.map((c) => el("tr", {class: "pick", tabindex: "0", data: {testid: "matched-row", credit: c.credit_id},
    on: {click: open, keydown: (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(ev); } }}},
    el("td", {}, when(c.booked_at)), el("td", {class: "num"}, money(c.amount)), el("td", {}, el("span", {class: "memo"}, c.memo)),
    el("td", {}, c.channel === "CASH" ? "Tiền mặt" : "Chuyển khoản"), el("td", {}, tag(c.state, STATE)), el("td", {}, REASON[c.reason_code] || c.reason_code))));
}

// The payment's details open right under the row clicked (not at the foot of a long day's list).
function besideRow(tr) {
  const holder = el("tr", {class: "detail"}, el("td", {colspan: "6"}));
  holder.firstChild.append($("credit"));
  for (const old of tr.parentNode.querySelectorAll("tr.detail")) old.remove();
  tr.after(holder);
  $("credit").scrollIntoView({block: "nearest"});
}

async function openCredit(creditId) {
  // As for invoices: no other payment's buttons while this one loads; only the last one asked for is drawn.
  const asked = (openCredit.asked = (openCredit.asked || 0) + 1);
  const box = $("credit");
  if (box.dataset.credit !== creditId) put(box, el("p", {class: "muted"}, "Đang tải…"));
  const c = await rec(`/credits/${creditId}`);
  if (asked !== openCredit.asked) return;
  box.hidden = false;
  box.dataset.credit = creditId;
  const reason = el("input", {placeholder: "lý do", size: "30", data: {testid: "correction-reason"}});
  const inForce = c.allocations.filter((a) => !a.reversed_at);
  put(box, 
    el("h2", {}, money(c.amount), " ", tag(c.state, STATE), " ", el("span", {class: "muted"}, when(c.booked_at))),
    el("div", {}, el("span", {class: "memo"}, c.memo)),
    el("h3", {}, "Đã khớp vào"),
    el("ul", {data: {testid: "credit-allocations"}}, ...c.allocations.map((a) => el("li", {},
      `${money(a.amount)} → ${a.student_name || "(chưa rõ tên)"} (${a.student_code || "?"}, lớp ${a.class_name || "?"}, kỳ ${a.period || "?"}, mã ${a.payment_reference || a.invoice_id.slice(0, 8)}) · ${REASON[a.reason_code] || a.reason_code}`,
      a.reversed_at ? el("span", {class: "muted"}, ` — đã hủy ${when(a.reversed_at)}`) : ""))),
    el("h3", {}, "Thao tác (ai, khi nào)"),
    el("ul", {data: {testid: "credit-actions"}}, ...c.actions.map((a) => el("li", {},
      `${when(a.created_at)} · ${a.actor} · ${KIND[a.kind] || a.kind}`, a.payload.reason ? ` — ${a.payload.reason}` : "",
      a.undone_by ? el("span", {class: "muted"}, " (đã hoàn tác)") : "",
      a.kind !== "undo" && !a.undone_by ? el("button", {class: "plain", data: {testid: "undo"}, on: {click: () => undo(a.action_id)}}, "Hoàn tác") : ""))),
    inForce.length ? el("div", {class: "actions"}, reason,
      el("button", {class: "danger", data: {testid: "unmatch"}, on: {click: () => act(c, {kind: "unmatch", reason: reason.value})}}, "Hủy khớp (khớp sai)"),
      c.channel === "CASH" ? el("button", {class: "danger", data: {testid: "withdraw"}, on: {click: () => act(c, {kind: "withdraw", reason: reason.value})}}, "Rút bút toán tiền mặt") : null) : null,
  );
}

// --- Bank statements: a preview of each line, then the upload ---

const stFile = () => $("st-file").files[0];

async function uploadStatement(preview) {
  const file = stFile();
  if (!file) { toast("Chọn tệp sao kê trước."); return; }
  const form = new FormData();
  form.append("file", file);
  form.append("preview", preview ? "true" : "false");
  const layout = $("st-layout").value;
  if (layout === "mapping") {
    form.append("mapping", JSON.stringify({date: $("st-date").value.trim(), credit: $("st-credit").value.trim(),
      memo: $("st-memo").value.trim(), reference: $("st-ref").value.trim(), date_format: $("st-datefmt").value.trim()}));
  } else if (layout) {
    form.append("layout", layout);
  }
  const r = await fetchForm("reconciliation", "/statements", form);
  if (r.already_uploaded) {
    put($("st-result"), el("p", {class: "muted", data: {testid: "statement-summary"}},
      `Tệp này đã được tải lên trước đó (${r.credits} dòng tiền về): không ghi nhận lần nữa.`));
    $("st-record").disabled = true;
    return;
  }
  const dup = r.credits - r.new_credits;
  const queued = r.lines.filter((l) => l.new && !["matched", "resolved"].includes(l.state)).length;
  put($("st-result"),
    el("p", {class: preview ? "" : "ok", data: {testid: "statement-summary"}},
      (preview ? "Xem trước (chưa ghi nhận): " : "Đã ghi nhận: ") +
      `${r.credits} dòng tiền về, ${r.new_credits} khoản mới, ${dup} khoản trùng với tiền đã ghi nhận trước đó` +
      `, ${queued} khoản mới cần xử lý.` + (r.reversals && r.reversals.applied + r.reversals.open ? ` Ngân hàng thu hồi: ${r.reversals.applied + r.reversals.open} khoản.` : "")),
    r.notes.length ? el("ul", {class: "muted"}, ...r.notes.map((n) => el("li", {}, n))) : null,
    el("table", {}, el("thead", {}, el("tr", {}, ...["Thời điểm", "Số tiền", "Nội dung", "Ghi nhận", "Kết quả"].map((h, i) => el("th", {class: i === 1 ? "num" : ""}, h)))),
      el("tbody", {}, ...r.lines.map((l) => el("tr", {data: {testid: "statement-line"}}, el("td", {}, when(l.booked_at)),
        el("td", {class: "num"}, money(l.amount)), el("td", {}, el("span", {class: "memo"}, l.memo)),
        el("td", {}, l.new ? "Khoản mới" : el("span", {class: "muted"}, "Trùng (đã có)")),
        el("td", {}, tag(l.state, STATE), " ", el("span", {class: "muted"}, REASON[l.reason_code] || l.reason_code)))))));
  $("st-record").disabled = !preview;
  if (!preview) { toast(`Đã ghi nhận sao kê: ${r.new_credits} khoản mới`); await loadExceptionCount(); }
}

// --- Cash at the desk ---

let cashInvoice = null;

async function findForCash() {
  const q = $("c-student").value.trim();
  if (!q) return;
  const rows = (await inv(`/invoices?student=${encodeURIComponent(q)}&owing=true&limit=50`)).filter((i) => i.outstanding > 0);
  // "Nothing to pay" only when it is true: the pupil is found and owes nothing; else, say that no pupil matched.
  const found = rows.length ? rows : await inv(`/invoices?student=${encodeURIComponent(q)}&limit=1`);
  const nothing = found.length
    ? el("p", {class: "muted", data: {testid: "cash-nothing-owed"}}, `${found[0].full_name} (${found[0].student_code}) không còn khoản nào phải nộp.`)
    : el("p", {class: "muted", data: {testid: "cash-no-pupil"}}, `Không tìm thấy học sinh nào theo “${q}”. Nhập mã học sinh hoặc tên (có dấu hay không dấu đều được).`);
  // A pupil's invoice is chosen by click, or by Enter or Space on its focused row; the amount field follows.
  const pick = (tr, i) => {
    cashInvoice = i;
    for (const row of tr.parentNode.children) { row.style.background = ""; row.removeAttribute("aria-current"); }
    tr.style.background = "#e0efff";
    tr.setAttribute("aria-current", "true");
    $("c-amount").value = i.outstanding;
    $("c-record").disabled = false;
  };
  put($("c-invoices"), rows.length ? el("table", {}, el("tbody", {}, ...rows.map((i) => el("tr", {class: "pick", tabindex: "0",
    data: {testid: "cash-invoice"}, on: {click: (ev) => pick(ev.currentTarget, i),
      keydown: (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); pick(ev.currentTarget, i); $("c-amount").focus(); } }}},
  el("td", {}, i.student_code), el("td", {}, i.full_name), el("td", {}, i.class_name), el("td", {}, i.period),
  el("td", {class: "num"}, money(i.outstanding)))))) : nothing);
}

async function recordCash() {
  const typed = $("c-amount").value.trim();
  if (!cashInvoice) { toast("Chọn hóa đơn của học sinh trước (tìm theo mã hoặc tên)."); return; }
  // Written as people write money: 300000, 300.000 or 300 000 đồng; anything else is said, not ignored.
  if (!/^[0-9][0-9.\s]*(đ|₫|đồng)?$/i.test(typed)) { toast("Số tiền phải là số đồng, ví dụ 300000 hoặc 300.000."); $("c-amount").focus(); return; }
  const amount = Number(typed.replace(/[^0-9]/g, ""));
  if (!amount) { toast("Số tiền phải lớn hơn 0 đồng."); $("c-amount").focus(); return; }
  const r = await rec("/cash", {method: "POST", body: {invoice_id: cashInvoice.invoice_id, amount, payer_name: $("c-payer").value.trim()}});
  const who = cashInvoice;
  put($("c-result"), el("span", {class: "ok"}, `Đã ghi nhận ${money(amount)} tiền mặt cho ${who.full_name} — ${STATE[r.state] || r.state}. `),
    el("span", {class: "muted", data: {testid: "cash-receipt"}}, "Đang phát hành biên lai…"));
  toast(`Thu tiền mặt ${money(amount)}`);
  cashInvoice = null;
  $("c-record").disabled = true;
  put($("c-invoices"), );
  await loadCashToday();
  for (let i = 0; i < 20; i++) {  // the receipt is signed by the receipts service a moment later
    const d = await inv(`/invoices/${who.invoice_id}`);
    const receipt = d.receipts[d.receipts.length - 1];
    if (receipt) {
      put($("c-result").querySelector("[data-testid=cash-receipt]"), "Biên lai ",
        el("a", {href: receipt.url, target: "_blank", rel: "noopener"}, receipt.number), " — mở để in.");
      return;
    }
    await new Promise((ok) => setTimeout(ok, 500));
  }
}

async function loadCashToday() {
  const rows = (await rec(`/credits?date=${today()}&limit=1000`)).filter((c) => c.channel === "CASH");
  const total = rows.filter((c) => c.state !== "withdrawn").reduce((s, c) => s + c.amount, 0);
  put($("c-today"), el("p", {}, "Tổng tiền mặt trong quỹ hôm nay: ", el("strong", {data: {testid: "cash-total"}}, money(total))),
    el("table", {}, el("tbody", {}, ...rows.map((c) => el("tr", {}, el("td", {}, when(c.booked_at)), el("td", {class: "num"}, money(c.amount)),
      el("td", {}, c.payer_name), el("td", {}, tag(c.state, STATE)))))));
}

// --- Messages to parents: the school's channels and reminders, and every message with its status ---

const MSG_KIND = {invoice: "Thông báo hóa đơn", payment: "Xác nhận đã nhận tiền", reminder: "Nhắc hạn nộp"};
const MSG_STATUS = {sent: "Đã gửi", queued: "Đang chờ gửi", sending: "Đang gửi", failed: "Không gửi được", skipped: "Không gửi"};
const MSG_CHANNEL = {zalo: "Zalo", sms: "SMS", email: "Email"};
const TRY = {sent: "đã gửi", retry: "lỗi tạm thời, thử lại sau", next: "kênh không gửi được lúc này", undeliverable: "không gửi tới được người nhận"};

async function loadMessages() {
  const m = await inv("/message-settings");
  ["ms-1", "ms-2", "ms-3"].forEach((id, i) => { $(id).value = m.channels[i] || ""; });
  $("ms-before").value = m.remind_days_before;
  $("ms-every").value = m.remind_every_days;
  $("ms-max").value = m.max_reminders;
  $("ms-cap").value = m.monthly_cap;
  $("ms-stopped").value = m.stopped_classes.join(", ");
  const month = await inv("/messages/summary");
  $("ml-month").textContent = `Tháng ${month.month.slice(5)}/${month.month.slice(0, 4)}: đã gửi ${month.messages} tin, chi phí ${money(month.cost)}` +
    ` / hạn mức ${money(month.cap)}` + (month.by_channel.length ? " (" + month.by_channel.map((c) => `${MSG_CHANNEL[c.channel] || c.channel}: ${c.messages} tin, ${money(c.cost)}`).join("; ") + ")" : "") + ".";
  await loadMessageLog();
}

async function loadMessageLog() {
  const q = new URLSearchParams({limit: "500"});
  for (const [id, key] of [["ml-student", "student"], ["ml-channel", "channel"], ["ml-status", "status"]]) {
    if ($(id).value.trim()) q.set(key, $(id).value.trim());
  }
  const rows = await inv(`/messages?${q}`);
  put($("messages"), rows.length ? rows.map(messageRow)
    : el("tr", {}, el("td", {colspan: "8", class: "muted"}, "Chưa có tin nhắn nào.")));
}

function messageRow(x) {
  const tries = x.tries.map((t) => el("li", {}, `${MSG_CHANNEL[t.channel] || t.channel}: ${TRY[t.outcome] || t.outcome}` +
    (t.code ? ` (mã ${t.code})` : "") + (t.outcome !== "sent" && t.detail ? ` — ${t.detail}` : "")));
  const state = x.status === "sent" ? "paid" : x.status === "failed" ? "overpaid" : "open";
  const more = el("details", {}, el("summary", {}, x.status === "sent" ? "Nội dung" : (x.last_error || "Chi tiết")),
    el("p", {}, x.text), el("ul", {}, ...tries));
  return el("tr", {data: {testid: "message-row"}},
    el("td", {}, when(x.sent_at || x.created_at)), el("td", {}, `${x.full_name} (${x.class_name})`),
    el("td", {}, MSG_KIND[x.kind] || x.kind), el("td", {}, MSG_CHANNEL[x.channel] || "—"),
    el("td", {}, el("span", {class: "tag " + state}, MSG_STATUS[x.status] || x.status)),
    el("td", {}, x.recipient || "—"), el("td", {class: "num"}, money(x.cost)), el("td", {}, more));
}

async function saveMessageSettings() {
  const channels = ["ms-1", "ms-2", "ms-3"].map((id) => $(id).value).filter(Boolean);
  const n = (id) => Number($(id).value.replace(/[^0-9]/g, "") || 0);
  await inv("/message-settings", {method: "PUT", body: {channels, remind_days_before: n("ms-before"), remind_every_days: n("ms-every") || 7,
    max_reminders: n("ms-max"), monthly_cap: n("ms-cap"), stopped_classes: $("ms-stopped").value.split(",").map((c) => c.trim()).filter(Boolean)}});
  toast("Đã lưu cách gửi tin cho phụ huynh");
}

// --- Daily close ---

async function loadClose() {
  if (!$("d-date").value) $("d-date").value = today();
  const r = await rec(`/close?date=${$("d-date").value}`);
  const label = (acc) => acc.startsWith("CASH:") ? "Quỹ tiền mặt" : `Tài khoản ${acc}`;
  put($("close"), 
    el("p", {data: {testid: "close-status"}, class: r.balanced ? "ok" : "error"},
      r.balanced ? "Khớp đúng đến từng đồng: tiền về = đã khớp + cần xử lý + đã hoàn + bỏ qua + giữ làm số dư." : "Chưa cân: cần kiểm tra."),
    r.balanced ? null : el("ul", {class: "error", data: {testid: "close-why"}}, ...closeProblems(r).map((t) => el("li", {}, t))),
    el("div", {class: "scroll", tabindex: "0", role: "region", "aria-label": "Sổ ngày theo tài khoản"}, el("table", {}, el("thead", {}, el("tr", {}, ...["Tài khoản", "Số giao dịch", "Tiền về", "Đã khớp", "Cần xử lý", "Đã hoàn", "Bỏ qua", "Trong đó rút", "Giữ làm số dư", "Chênh lệch", "Số dư cuối ngày (sao kê)"].map((h, i) => el("th", {class: i ? "num" : ""}, h)))),
      el("tbody", {}, ...r.accounts.map((a) => el("tr", {data: {testid: "close-row"}}, el("td", {}, label(a.account_number)), el("td", {class: "num"}, a.credits),
        ...[a.received, a.matched, a.in_exceptions, a.refunded, a.ignored, a.withdrawn, a.held, a.difference].map((v) => el("td", {class: "num"}, money(v))),
        el("td", {class: "num", data: {testid: "statement-balance"}}, a.statement_closing_balance === null || a.statement_closing_balance === undefined
          ? "chưa có sao kê" : money(a.statement_closing_balance))))))),
    approvalOf(r));
}

// Why a day does not balance, said per account.
function closeProblems(r) {
  const out = [];
  for (const a of r.accounts) {
    const where = a.account_number.startsWith("CASH:") ? "Quỹ tiền mặt" : `Tài khoản ${a.account_number}`;
    if (a.difference) out.push(`${where}: chênh lệch ${money(a.difference)}.`);
    if (a.unconfirmed_by_bank) out.push(`${where}: ${a.unconfirmed_by_bank} khoản tiền về qua webhook (${money(a.unconfirmed_amount)}) chưa có trong sao kê của ngân hàng.`);
    if (a.not_announced_by_webhook) out.push(`${where}: sao kê có ${a.not_announced_by_webhook} khoản không được webhook báo trước (đã ghi nhận từ sao kê).`);
    if (a.open_reversals) out.push(`${where}: ${a.open_reversals} lần ngân hàng thu hồi tiền chưa được xử lý.`);
  }
  if (!out.length && r.open_reversals) out.push(`${r.open_reversals} lần ngân hàng thu hồi tiền chưa được xử lý.`);
  return out;
}

// The principal's approval of the day: who approved it and whether the figures are still those approved; the
// principal approves a balanced day here.
function approvalOf(r) {
  const a = r.approval;
  const said = a
    ? el("p", {data: {testid: "close-approval"}, class: a.still_holds ? "ok" : "error"},
      `Hiệu trưởng ${a.approved_by} đã duyệt lúc ${when(a.approved_at)}` + (a.note ? ` (${a.note})` : "") +
      (a.still_holds ? "." : ": số liệu của ngày đã thay đổi sau khi duyệt, cần duyệt lại."))
    : el("p", {data: {testid: "close-approval"}, class: "muted"}, "Hiệu trưởng chưa duyệt sổ ngày này.");
  if (!isPrincipal()) return said;
  const note = el("input", {id: "d-note", maxlength: "300", placeholder: "Ghi chú (không bắt buộc)", size: "40"});
  const go = el("button", {id: "d-approve", disabled: Boolean(a && a.still_holds)}, a ? "Duyệt lại" : "Duyệt sổ ngày");
  go.addEventListener("click", () => guarded(async () => {
    await rec("/close/approval", {method: "POST", body: {date: $("d-date").value, note: note.value.trim()}});
    await loadClose();
  }));
  return el("div", {}, said, r.balanced ? el("div", {class: "bar"}, note, go) : el("p", {class: "error"}, "Sổ chưa cân: chưa duyệt được."));
}

// --- Exports: the file comes from the API under the token, then is saved by the browser ---

async function download(kind) {
  const fmt = $("x-fmt").value;
  const first = $("x-from").value || today();
  const last = $("x-to").value || first;
  const range = `from=${first}&to=${last}`;
  const period = $("x-period").value.trim();
  const [service, path] = {
    collection: ["invoicing", `/exports/collection.${fmt}` + (period ? `?period=${encodeURIComponent(period)}` : "")],
    receipts: ["receipts", `/exports/receipts.${fmt}?${range}`],
    exceptions: ["reconciliation", `/exports/credits.${fmt}?${range}&kind=exceptions`],
    credits: ["reconciliation", `/exports/credits.${fmt}?${range}`],
  }[kind];
  await saveFile(await fetchFile(service, path), `bao-cao.${fmt}`);
}

// --- Start ---

async function start() {
  if (!session) session = await Auth.load();
  if (session && !WORKSPACE_ROLES.includes(session.role)) {
    session = null;
    $("signin-error").textContent = "Trang này dành cho kế toán và hiệu trưởng của trường: tài khoản này không dùng được ở đây.";
  }
  if (session && !claims) await guarded(refreshToken);
  const signedIn = Boolean(session && claims);
  $("signin").hidden = signedIn;
  $("tabs").hidden = !signedIn;
  $("signout").hidden = !signedIn;
  $("switch").hidden = !signedIn || session.schools.length < 2;
  if (!signedIn) {
    for (const section of document.querySelectorAll("main > section")) section.hidden = true;
    $("who").textContent = "";
    $("school").textContent = "";
    return;
  }
  $("who").textContent = session.display_name || session.username;
  put($("switch"), session.schools.map((id) => el("option", {value: id, selected: id === session.school_id}, id)));
  await guarded(async () => {
    const s = await inv("");
    $("school").textContent = s.name;
  });
  showTab();
}

async function signedIn() {
  session = null;
  claims = null;
  await start();
}

async function switchSchool() {
  await Auth.post("/auth/school", {school_id: $("switch").value});
  session.school_id = $("switch").value;
  await refreshToken();
  await start();
}

Auth.bindForm(signedIn);
$("switch").addEventListener("change", () => guarded(switchSchool));
$("signout").addEventListener("click", signOut);
$("f-go").addEventListener("click", () => guarded(loadInvoices));
for (const id of ["f-period", "f-class", "f-student"]) {
  $(id).addEventListener("keydown", (ev) => { if (ev.key === "Enter") guarded(loadInvoices); });
}
$("r-preview").addEventListener("click", () => guarded(() => uploadRoster("preview")));
$("r-template").addEventListener("click", (ev) => { ev.preventDefault();
  guarded(async () => saveFile(await fetchFile("invoicing", "/roster/template.xlsx"), "mau-danh-sach-hoc-sinh.xlsx")); });
$("r-apply").addEventListener("click", () => guarded(() => uploadRoster("apply")));
$("r-apply-valid").addEventListener("click", () => guarded(() => uploadRoster("apply_valid")));
$("fi-save").addEventListener("click", () => guarded(saveFeeItem));
$("i-preview").addEventListener("click", () => guarded(previewIssue));
$("i-issue").addEventListener("click", () => guarded(issue));
$("o-open").addEventListener("click", () => guarded(openRound));
$("i-days-save").addEventListener("click", () => guarded(saveCalendar));
// Credits keep arriving while the accountant works: the queue's size is refreshed every 15 seconds.
setInterval(() => { if (claims && !document.hidden) guarded(loadExceptionCount); }, 15000);
$("w-save").addEventListener("click", () => guarded(saveWebhook));
$("se-save").addEventListener("click", () => guarded(saveSeries));
$("k-import").addEventListener("click", () => guarded(importKey));
$("print-unpaid").addEventListener("click", () => guarded(() => printUnpaid("unpaid")));
$("print-notices").addEventListener("click", () => guarded(() => printUnpaid("notices")));
$("group").addEventListener("click", () => guarded(groupChosen));
$("ms-save").addEventListener("click", () => guarded(saveMessageSettings));
$("ml-go").addEventListener("click", () => guarded(loadMessageLog));
$("ml-student").addEventListener("keydown", (ev) => { if (ev.key === "Enter") guarded(loadMessageLog); });
$("fi-cadence").addEventListener("change", () => { $("fi-period-box").hidden = $("fi-cadence").value !== "one_off"; });
$("y-preview").addEventListener("click", () => guarded(previewYear));
$("y-apply").addEventListener("click", () => guarded(applyYear));
$("st-preview").addEventListener("click", () => guarded(() => uploadStatement(true)));
$("st-record").addEventListener("click", () => guarded(() => uploadStatement(false)));
$("st-layout").addEventListener("change", () => { $("st-mapping").hidden = $("st-layout").value !== "mapping"; });
$("st-file").addEventListener("change", () => { $("st-record").disabled = true; put($("st-result")); });
$("m-go").addEventListener("click", () => guarded(loadMatched));
$("c-find").addEventListener("click", () => guarded(findForCash));
$("c-student").addEventListener("keydown", (ev) => { if (ev.key === "Enter") guarded(findForCash); });
$("c-record").addEventListener("click", () => guarded(recordCash));
$("d-go").addEventListener("click", () => guarded(loadClose));
for (const b of document.querySelectorAll("[data-export]")) b.addEventListener("click", () => guarded(() => download(b.dataset.export)));
window.addEventListener("hashchange", showTab);
start();
