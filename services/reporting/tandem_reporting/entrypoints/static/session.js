// The bearer token this tab uses: from the page's fragment (#token=..., as a sign-in redirect or a
// link hands it over; removed from the address bar at once) or pasted into the form; kept in
// sessionStorage, never in a cookie, so other tabs and sites never send it.
(function () {
  const KEY = "tandem.reporting.token";
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    sessionStorage.setItem(KEY, fragment.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  window.tandemSession = {
    token: () => sessionStorage.getItem(KEY),
    save: (token) => sessionStorage.setItem(KEY, token.trim()),
    forget: () => sessionStorage.removeItem(KEY),
    async get(path) {
      const response = await fetch(path, { headers: { Authorization: "Bearer " + this.token() } });
      if (response.status === 401) { this.forget(); throw new Error("signed out: " + (await response.text())); }
      if (!response.ok) { const error = new Error(await response.text()); error.status = response.status; throw error; }
      return response.json();
    },
    signIn(start) {
      const form = document.getElementById("signin");
      if (this.token()) { form.hidden = true; document.getElementById("app").hidden = false; start(); return; }
      form.hidden = false;
      document.getElementById("token-save").onclick = () => {
        this.save(document.getElementById("token-input").value);
        form.hidden = true; document.getElementById("app").hidden = false; start();
      };
    },
    poll() { return Number(new URLSearchParams(location.search).get("poll")) || 10; },
  };
})();
