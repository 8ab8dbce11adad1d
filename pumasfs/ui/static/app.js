// pumas ui: the little script the pages need (drag-and-drop upload, live activity, dialogs).
// Everything state-changing carries the CSRF token; nothing is loaded from elsewhere.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const jobs = new Map();       // job id -> last event
  const seenFirst = new Map();  // job id -> state when first seen (no refresh for old jobs)
  const trayByJob = new Map();  // job id -> tray rows waiting for the import's results

  // -- messages --------------------------------------------------------------
  function toast(text, kind) {
    const box = $("#toasts");
    const el = document.createElement("div");
    el.className = "toast " + (kind || "info");
    el.textContent = text;
    box.appendChild(el);
    setTimeout(() => el.remove(), kind === "error" ? 10000 : 5000);
  }
  window.pumasToast = toast;

  async function send(method, url, body) {
    const r = await fetch(url, { method, body, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
    const text = await r.text();
    if (!r.ok) throw new Error(text || r.statusText);
    return text ? JSON.parse(text) : null;
  }

  // -- htmx glue -------------------------------------------------------------
  document.body.addEventListener("htmx:configRequest", (e) => { e.detail.headers["X-CSRF-Token"] = csrf; });
  document.body.addEventListener("htmx:responseError", (e) => toast(e.detail.xhr.responseText || "request failed", "error"));
  document.body.addEventListener("htmx:sendError", () => toast("the pumas server is not answering", "error"));
  document.body.addEventListener("htmx:afterRequest", (e) => {
    const elt = e.detail.elt;
    if (!e.detail.successful || !elt.matches || !elt.matches("[data-job-form], form[hx-post='/downloads']")) return;
    try {
      const r = JSON.parse(e.detail.xhr.responseText);
      toast("Started: see Activity", "ok");
      if (r.job) jobs.set(r.job, jobs.get(r.job) || { id: r.job, state: "queued" });
    } catch (_) { /* not JSON */ }
  });

  // -- dialogs and pickers ---------------------------------------------------
  document.addEventListener("click", (e) => {
    const open = e.target.closest("[data-open]");
    if (open) { document.getElementById(open.dataset.open).showModal(); return; }
    const close = e.target.closest("[data-close]");
    if (close) { close.closest("dialog").close(); return; }
    const pick = e.target.closest("[data-pick]");
    if (pick && $("#path-input")) { $("#path-input").value = pick.dataset.pick; $("#path-input").focus(); return; }
    const cancel = e.target.closest(".job-cancel");
    if (cancel) {
      const id = cancel.closest("[data-job]").dataset.job;
      send("POST", "/jobs/" + id + "/cancel").catch((err) => toast(err.message, "error"));
    }
  });
  const tray = $("#tray");
  $("#tray-close").addEventListener("click", () => { tray.hidden = true; });

  const params = new URLSearchParams(location.search);
  // A redirect after a change says what it did once (a reload does not repeat it).
  const said = { removed: (v) => "Removed " + v + " (in the trash)", restored: (v) => "Restored " + v,
                 emptied: (v) => "Deleted " + v + " model(s) for good", unpinned: (v) => "Unpinned " + v,
                 adopted: (v) => "Adopted " + v + " model(s)" };
  let spoke = false;
  for (const [key, text] of Object.entries(said)) {
    if (params.get(key) !== null) { toast(text(params.get(key)), "ok"); params.delete(key); spoke = true; }
  }
  if (spoke) history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : ""));

  // -- live activity (server-sent events) -------------------------------------
  function renderJob(job) {
    const list = $("#jobs");
    if (!list) return;
    let li = list.querySelector('[data-job="' + job.id + '"]');
    if (!li) {
      const tpl = $("#job-template");
      li = tpl.content.firstElementChild.cloneNode(true);
      li.dataset.job = job.id;
      const empty = list.querySelector(".empty-jobs");
      if (empty) empty.remove();
      list.prepend(li);
    }
    li.className = "job state-" + job.state;
    $(".badge.kind", li).textContent = job.kind;
    $(".job-title", li).textContent = job.title;
    $(".job-detail", li).textContent = job.detail || "";
    $(".job-state", li).textContent = job.state;
    $(".job-cancel", li).hidden = !job.cancellable;
    const bar = $(".job-progress", li);
    if (job.state === "done") bar.value = 100;
    else if (job.percent === null || job.percent === undefined) bar.removeAttribute("value");
    else bar.value = job.percent;
    $(".job-phase", li).textContent = job.state === "done" ? "finished" : job.state === "cancelled" ? "cancelled" : (job.phase || "");
    $(".job-item", li).textContent = job.item || "";
    const err = $(".job-error", li);
    err.hidden = !job.error;
    err.textContent = job.error || "";
    const res = $(".job-results", li);
    res.replaceChildren(...resultsOf(job).map((r) => {
      const item = document.createElement("li");
      item.className = "res-" + r.status;
      item.textContent = resultText(r);
      return item;
    }), ...(job.messages || []).map((m) => {
      const item = document.createElement("li");
      item.className = "res-warning";
      item.textContent = m;
      return item;
    }));
  }

  function resultsOf(job) {
    if (!job.result) return [];
    if (Array.isArray(job.result) && job.result.every((r) => typeof r === "string")) {
      return job.result.map((text) => ({ status: "summary", text }));
    }
    if (Array.isArray(job.result)) return job.result;
    if (Array.isArray(job.result.results)) return job.result.results;
    return [];
  }

  function resultText(r) {
    if (r.status === "summary") return r.text;
    const base = (r.source || "").split("/").pop();
    if (r.status === "imported") return base + " → " + r.model_id + " (" + [r.subtype, r.family].filter(Boolean).join(", ") + ")";
    if (r.status === "duplicate") return base + ": " + r.message;
    return base + ": " + r.status + ": " + r.message;
  }

  const eventLog = [];  // the last events, for a look from the developer tools (and the tests)
  window.pumasEventLog = eventLog;

  function onJob(job) {
    eventLog.push(job);
    if (eventLog.length > 1000) eventLog.shift();
    const before = jobs.get(job.id);
    if (!seenFirst.has(job.id)) seenFirst.set(job.id, job.state);
    jobs.set(job.id, job);
    const active = [...jobs.values()].filter((j) => j.state === "queued" || j.state === "running").length;
    const pill = $("#active-count");
    pill.textContent = String(active);
    pill.hidden = active === 0;
    renderJob(job);
    updateTray(job);
    const finishedNow = (job.state === "done" || job.state === "failed") && before && before.state !== job.state;
    const wasRunning = seenFirst.get(job.id) !== "done" && seenFirst.get(job.id) !== "failed";
    if (finishedNow && wasRunning) {
      if (job.state === "failed") toast(job.title + ": " + job.error, "error");
      else toast(job.title + ": done", "ok");
      if (window.htmx) htmx.trigger(document.body, "library-changed");
    }
  }

  let source = null;
  function listen() {
    source = new EventSource("/events");
    source.addEventListener("job", (ev) => onJob(JSON.parse(ev.data)));
    source.onopen = () => { document.body.dataset.live = "1"; };  // live: events from now on reach this page
    source.onerror = () => { document.body.dataset.live = "0"; /* EventSource reconnects by itself */ };
  }
  listen();
  window.pumasJobs = jobs;

  // -- the mapping editor: drag models onto an app folder ------------------------
  const MODELS_TYPE = "application/x-pumas-models";
  document.addEventListener("change", (e) => {
    if (e.target.matches(".pick-box")) e.target.closest(".pick").classList.toggle("selected", e.target.checked);
  });
  document.addEventListener("dragstart", (e) => {
    const pick = e.target.closest && e.target.closest(".pick");
    if (!pick) return;
    const chosen = [...document.querySelectorAll(".pick.selected")].map((p) => p.dataset.model);
    const ids = pick.classList.contains("selected") ? chosen : [pick.dataset.model];
    e.dataTransfer.setData(MODELS_TYPE, ids.join("\n"));
    e.dataTransfer.setData("text/plain", ids.join("\n"));
    e.dataTransfer.effectAllowed = "copy";
  });
  const isModels = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes(MODELS_TYPE);
  document.addEventListener("dragover", (e) => {
    const t = e.target.closest && e.target.closest(".drop-target");
    if (t && isModels(e)) { e.preventDefault(); t.classList.add("over"); }
  });
  document.addEventListener("dragleave", (e) => {
    const t = e.target.closest && e.target.closest(".drop-target");
    if (t) t.classList.remove("over");
  });
  document.addEventListener("drop", (e) => {
    const t = e.target.closest && e.target.closest(".drop-target");
    if (!t || !isModels(e)) return;
    e.preventDefault();
    t.classList.remove("over");
    const app = document.querySelector(".editor").dataset.app;
    htmx.ajax("POST", "/apps/" + encodeURIComponent(app) + "/map/propose",
      { target: "#editor", values: { model_ids: e.dataTransfer.getData(MODELS_TYPE), target: t.dataset.folder } });
  });

  // -- drag and drop, file chooser, uploads ------------------------------------
  const overlay = $("#drop-overlay");
  let depth = 0;
  const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
  window.addEventListener("dragenter", (e) => { if (!hasFiles(e)) return; e.preventDefault(); depth++; overlay.hidden = false; });
  window.addEventListener("dragleave", (e) => { if (!hasFiles(e)) return; depth--; if (depth <= 0) { depth = 0; overlay.hidden = true; } });
  window.addEventListener("dragover", (e) => { if (!hasFiles(e)) return; e.preventDefault(); e.dataTransfer.dropEffect = "copy"; });
  window.addEventListener("drop", async (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    overlay.hidden = true;
    uploadAll(await collect(e.dataTransfer));
  });
  for (const input of [$("#file-input"), $("#folder-input")]) {
    if (!input) continue;
    // A chosen folder's files carry their path inside it (webkitRelativePath): the folder stays one drop.
    input.addEventListener("change", () => {
      uploadAll([...input.files].map((f) => ({ file: f, path: f.webkitRelativePath || f.name })));
      input.value = "";
    });
  }
  const folderPick = $("#folder-pick");
  if (folderPick) folderPick.addEventListener("click", (e) => { e.preventDefault(); e.stopPropagation(); $("#folder-input").click(); });

  function readAll(reader) {
    return new Promise((resolve, reject) => {
      const out = [];
      const next = () => reader.readEntries((batch) => { if (!batch.length) resolve(out); else { out.push(...batch); next(); } }, reject);
      next();
    });
  }
  async function walk(entry, prefix, out) {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({ file, path: prefix + entry.name });
    } else if (entry.isDirectory) {
      for (const child of await readAll(entry.createReader())) await walk(child, prefix + entry.name + "/", out);
    }
  }
  async function collect(dt) {
    const out = [];
    const items = [...(dt.items || [])].filter((i) => i.kind === "file");
    for (const item of items) {
      const entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
      if (entry) await walk(entry, "", out);
      else { const f = item.getAsFile(); if (f) out.push({ file: f, path: f.name }); }
    }
    if (!items.length) for (const f of dt.files) out.push({ file: f, path: f.name });
    return out;
  }

  function humanSize(n) {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n.toFixed(0)) + " " + u[i];
  }

  function trayRow(name, size) {
    tray.hidden = false;
    const li = document.createElement("li");
    li.className = "tray-item";
    li.innerHTML = '<div class="tray-name"></div><progress max="100" value="0"></progress><div class="tray-status muted small">waiting</div>';
    $(".tray-name", li).textContent = name + " · " + humanSize(size);
    li.dataset.top = name;
    $("#tray-list").prepend(li);
    return li;
  }

  function put(url, file, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); };
      xhr.onload = () => (xhr.status < 300 ? resolve(JSON.parse(xhr.responseText)) : reject(new Error(xhr.responseText)));
      xhr.onerror = () => reject(new Error("upload interrupted"));
      xhr.send(file);
    });
  }

  async function uploadAll(files) {
    if (!files.length) return;
    // One tray row per dropped top-level entry (a file, or a folder and everything in it).
    const groups = new Map();
    for (const f of files) {
      const top = f.path.split("/")[0];
      if (!groups.has(top)) groups.set(top, { files: [], size: 0 });
      groups.get(top).files.push(f);
      groups.get(top).size += f.file.size;
    }
    const rows = new Map([...groups].map(([top, g]) => [top, trayRow(top, g.size)]));
    let batch;
    try {
      batch = (await send("POST", "/uploads")).batch;
    } catch (err) { toast(err.message, "error"); return; }
    try {
      for (const [top, g] of groups) {
        const row = rows.get(top);
        let sent = 0;
        $(".tray-status", row).textContent = "uploading";
        for (const f of g.files) {
          await put("/uploads/" + batch + "/file?name=" + encodeURIComponent(f.path), f.file, (loaded) => {
            $("progress", row).value = Math.round(((sent + loaded) * 100) / Math.max(1, g.size));
          });
          sent += f.file.size;
        }
        $("progress", row).value = 100;
        $(".tray-status", row).textContent = "uploaded, waiting to import";
      }
      const { job } = await send("POST", "/uploads/" + batch + "/import");
      trayByJob.set(job, rows);
      for (const row of rows.values()) { row.dataset.job = job; $(".tray-status", row).textContent = "identifying and importing"; $("progress", row).removeAttribute("value"); }
      if (jobs.has(job)) updateTray(jobs.get(job));
    } catch (err) {
      toast(err.message, "error");
      for (const row of rows.values()) { row.classList.add("failed"); $(".tray-status", row).textContent = err.message; }
      send("DELETE", "/uploads/" + batch).catch(() => {});
    }
  }

  function updateTray(job) {
    const rows = trayByJob.get(job.id);
    if (!rows) return;
    for (const [top, row] of rows) {
      const status = $(".tray-status", row);
      const bar = $("progress", row);
      if (job.state === "running" || job.state === "queued") {
        if (job.percent !== null && job.percent !== undefined) bar.value = job.percent;
        status.textContent = (job.phase || "importing") + (job.item ? ": " + job.item : "");
        continue;
      }
      bar.value = 100;
      if (job.state !== "done") { row.classList.add("failed"); status.textContent = job.error || job.state; continue; }
      const mine = resultsOf(job).filter((r) => (r.source || "").split("/files/").pop().split("/")[0] === top);
      const lines = mine.length ? mine.map(resultText) : ["done"];
      row.classList.add(mine.some((r) => r.status === "failed") ? "failed" : "ok");
      status.replaceChildren(...lines.map((t) => { const d = document.createElement("div"); d.textContent = t; return d; }));
      const imported = mine.find((r) => r.status === "imported");
      if (imported) {
        const a = document.createElement("a");
        a.href = "/model/" + imported.model_id;
        a.textContent = "Open";
        a.className = "link";
        status.appendChild(a);
      }
    }
  }
})();
