// Signing in, shared by the suite's pages (the workspace, the administration): the account's user name and
// password, then the authenticator's code. The session is an HttpOnly cookie no script sees; requests that
// change something carry the session's CSRF token. The form's elements have the same ids on every page.
const Auth = (() => {
  const byId = (id) => document.getElementById(id);
  const state = {session: null};
  let pendingCsrf = "";  // the CSRF token of a session waiting for its code

  async function post(path, body, csrf) {
    const headers = {"Content-Type": "application/json"};
    const sent = csrf || (state.session && state.session.csrf);
    if (sent) headers["X-CSRF-Token"] = sent;
    const r = await fetch(path, {method: "POST", headers, body: JSON.stringify(body || {}), credentials: "same-origin"});
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(typeof data.detail === "string" ? data.detail : "Không thực hiện được, hãy thử lại.");
    return data;
  }

  async function load() {
    const r = await fetch("/auth/session", {credentials: "same-origin"});
    state.session = r.ok ? await r.json() : null;
    return state.session;
  }

  async function signOut() {
    try { await post("/auth/sign-out"); } catch (e) { /* already ended */ }
    state.session = null;
  }

  function bindForm(onSignedIn) {
    const fail = (e) => { byId("signin-error").textContent = e.message; };
    async function signIn() {
      byId("signin-error").textContent = "";
      try {
        const step = await post("/auth/sign-in", {username: byId("u-name").value.trim(), password: byId("u-pass").value});
        byId("u-pass").value = "";
        if (step.stage === "password") {
          pendingCsrf = step.csrf;
          byId("code-step").hidden = false;
          byId("u-code").focus();
          return;
        }
        state.session = null;
        await onSignedIn();
      } catch (e) { fail(e); }
    }
    async function secondFactor() {
      byId("signin-error").textContent = "";
      try {
        await post("/auth/second-factor", {code: byId("u-code").value.trim()}, pendingCsrf);
        byId("u-code").value = "";
        byId("code-step").hidden = true;
        state.session = null;
        await onSignedIn();
      } catch (e) { fail(e); }
    }
    // The province's identity provider, where the district uses one: a link there, and back to this page.
    fetch("/auth/oidc").then((r) => r.json()).then((o) => {
      const link = byId("oidc-go");
      if (!o.enabled || !link) return;
      const back = new URLSearchParams(location.search).get("next") || location.href;
      link.href = "/auth/oidc/start?next=" + encodeURIComponent(back);
      link.textContent = o.label;
      link.hidden = false;
    }).catch(() => {});
    byId("signin-go").addEventListener("click", signIn);
    byId("u-pass").addEventListener("keydown", (e) => { if (e.key === "Enter") signIn(); });
    byId("code-go").addEventListener("click", secondFactor);
    byId("u-code").addEventListener("keydown", (e) => { if (e.key === "Enter") secondFactor(); });
  }

  return {state, post, load, signOut, bindForm};
})();
