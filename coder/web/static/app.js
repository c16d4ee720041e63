// coder review page. Plain JavaScript, no build step, no remote assets.
// Every answer is sent to the server and shown as done only after the server says it is stored.
// Text from the project (transcripts, codes, memos) is only ever set with textContent.
(() => {
  "use strict";

  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const coder = document.querySelector('meta[name="coder"]').content;
  const banner = document.getElementById("banner");
  // A banner about the server not answering goes when the heartbeat gets through again. One about
  // an answer the server did not confirm stays until a later save is confirmed: the server being
  // back does not make that answer saved.
  let bannerIsConnection = false;

  function showBanner(message, connection) {
    banner.textContent = message;
    banner.hidden = false;
    bannerIsConnection = !!connection;
  }

  function hideBanner() {
    banner.hidden = true;
    banner.textContent = "";
    bannerIsConnection = false;
  }

  class ApiError extends Error {
    constructor(message, connection, status) {
      super(message);
      this.connection = connection;
      this.status = status || 0;
    }
  }

  const TIMEOUT_MS = 20000;

  async function api(method, path, body) {
    const options = {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
    };
    if (method === "GET") {
      const sep = path.includes("?") ? "&" : "?";
      path = `${path}${sep}coder=${encodeURIComponent(coder)}`;
    } else {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(Object.assign({ coder }, body || {}));
    }
    let resp;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    options.signal = abort.signal;
    try {
      resp = await fetch(path, options);
    } catch (e) {
      throw new ApiError(
        method === "GET"
          ? "Connection lost: the server does not answer. Is 'coder serve' still running?"
          : "Connection lost: the server did not confirm this, so it may not be saved. " +
            "Is 'coder serve' still running? Reload the page when it is, to see what was stored.",
        true,
      );
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (resp.status === 403) {
      throw new ApiError(
        "This page's access has ended (was 'coder serve' restarted?): open the new link it printed.",
        true,
        403,
      );
    }
    if (!resp.ok || !data || !data.ok) {
      const why = data && data.error ? data.error : `the server answered ${resp.status}`;
      throw new ApiError(method === "GET" ? `Could not load: ${why}.` : `Not saved: ${why}.`, false, resp.status);
    }
    return data;
  }

  // A heartbeat, so a stopped server shows up before the next answer is lost in the void.
  if (coder) {
    let beats = 0;
    setInterval(async () => {
      try {
        await api("GET", "/api/ping");
        if (bannerIsConnection) hideBanner();
      } catch (e) {
        if (banner.hidden || bannerIsConnection) showBanner(e.message, true); // an unsaved answer's bar stays
      } finally {
        document.body.dataset.beats = String(++beats); // for tests: this beat is done
      }
    }, 10000);
  }

  const docEl = document.getElementById("doc");
  if (!docEl) return;

  // -- the document page --------------------------------------------------------------------

  const docId = Number(docEl.dataset.doc);
  const statusEl = document.getElementById("status");
  const rows = Array.from(document.querySelectorAll("#transcript .row"));
  const rowById = new Map(rows.map((r) => [Number(r.dataset.seg), r]));
  let chips = {};
  let memos = {};
  let codebook = {};
  let focus = null; // {seg, code} or {seg, code: null} for a sentence without a chosen chip
  let saving = false;
  let mode = null; // null, "reasons", "note", "search", "memo", "help"
  let boxTarget = null; // the chip or sentence a box was opened for: later clicks do not retarget it
  const explained = new Map();

  function say(message) {
    statusEl.textContent = message;
  }

  function label(path) {
    const parts = path.split(" > ");
    return parts[parts.length - 1];
  }

  function chipOf(f) {
    if (!f || f.code === null) return null;
    return (chips[f.seg] || []).find((c) => c.code_path === f.code) || null;
  }

  // every chip in document order: what j and k walk through
  function order() {
    const out = [];
    for (const row of rows) {
      const seg = Number(row.dataset.seg);
      for (const c of chips[seg] || []) out.push({ seg, code: c.code_path });
    }
    return out;
  }

  function indexOf(list, f) {
    return f ? list.findIndex((x) => x.seg === f.seg && x.code === f.code) : -1;
  }

  function render() {
    for (const row of rows) {
      const seg = Number(row.dataset.seg);
      const box = row.querySelector(".chips");
      box.replaceChildren();
      const list = chips[seg] || [];
      for (const c of list) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = `chip ${c.state}${c.suggested ? "" : " by-hand"}`;
        b.dataset.code = c.code_path;
        const name = document.createElement("span");
        name.textContent = label(c.code_path);
        b.append(name);
        if (c.score !== null && c.score !== undefined) {
          const s = document.createElement("small");
          s.textContent = c.probability !== null && c.probability !== undefined ? ` ${Math.round(100 * c.probability)}%` : "";
          b.append(s);
        }
        const info = codebook[c.code_path];
        const carried = c.carried ? " (carried over from the sentence before)" : "";
        b.title = `${c.code_path} — ${c.state}${carried}${info ? "\n" + info.definition : ""}`;
        if (focus && focus.seg === seg && focus.code === c.code_path) b.classList.add("focus");
        b.addEventListener("click", (ev) => {
          ev.stopPropagation();
          setFocus({ seg, code: c.code_path });
        });
        box.append(b);
      }
      if ((memos[seg] || []).length) {
        const m = document.createElement("span");
        m.className = "memo-mark";
        m.title = memos[seg].join("\n—\n");
        m.textContent = `✎${memos[seg].length}`;
        box.append(m);
      }
      row.classList.toggle("has-pending", list.some((c) => c.state === "pending"));
      row.classList.toggle("focus", !!focus && focus.seg === seg);
    }
  }

  function renderProgress(p) {
    const bar = document.getElementById("doc-progress");
    bar.max = Math.max(p.suggested, 1);
    bar.value = p.answered;
    document.getElementById("progress-text").textContent =
      `${p.answered} of ${p.suggested} suggestions answered · ${p.pending} pending · ` +
      `${p.accepted} accepted, ${p.rejected} rejected`;
  }

  function apply(state) {
    chips = state.chips;
    memos = state.memos;
    renderProgress(state.progress);
    if (focus && focus.code !== null && !chipOf(focus)) focus = { seg: focus.seg, code: null };
    render();
    showCurrent();
  }

  function setFocus(f, scroll) {
    focus = f;
    render();
    showCurrent();
    const row = rowById.get(f.seg);
    if (row && scroll !== false) row.scrollIntoView({ block: "center", behavior: "auto" });
  }

  function text(id, value) {
    document.getElementById(id).textContent = value || "—";
  }

  function showCurrent() {
    const body = document.getElementById("current-body");
    const empty = document.getElementById("current-empty");
    const segOnly = document.getElementById("seg-only");
    const chip = chipOf(focus);
    empty.hidden = !!focus;
    segOnly.hidden = !(focus && !chip);
    body.hidden = !chip;
    document.getElementById("btn-accept").disabled = !chip || !chip.suggested;
    document.getElementById("btn-reject").disabled = !chip || !chip.suggested;
    document.getElementById("btn-no-code").disabled = !focus || !pendingOn(focus.seg);
    if (!chip) return;
    const info = codebook[chip.code_path] || {};
    const state = document.getElementById("cur-state");
    const offered = chip.carried ? "you gave it to the sentence before" : "suggested";
    state.textContent = chip.state === "pending" ? offered : chip.state + (chip.suggested ? "" : " (your code)");
    state.className = `state ${chip.state}`;
    let score = "";
    if (chip.score !== null && chip.score !== undefined) score = `similarity ${chip.score.toFixed(2)}`;
    if (chip.probability !== null && chip.probability !== undefined)
      score += ` · estimated ${Math.round(100 * chip.probability)}% likely`;
    else if (chip.state === "pending") score += " · probability not yet calibrated";
    if (chip.reason) score += ` · reason: ${chip.reason}`;
    text("cur-score", score);
    text("cur-name", info.name || label(chip.code_path));
    text("cur-path", chip.code_path);
    text("cur-def", info.definition);
    text("cur-inc", info.include);
    text("cur-exc", info.exclude);
    text("cur-source", info.source ? `Source: ${info.source}` : "");
    explain(chip);
  }

  async function explain(chip) {
    const why = document.getElementById("cur-why");
    if (!chip.suggested) {
      why.hidden = true;
      return;
    }
    const key = `${chip.segment_id}|${chip.code_path}`;
    let e = explained.get(key);
    if (!e) {
      try {
        e = await api("GET", `/api/explain?segment_id=${chip.segment_id}&code=${encodeURIComponent(chip.code_path)}`);
        explained.set(key, e);
      } catch (err) {
        why.hidden = true;
        return;
      }
    }
    const now = chipOf(focus);
    if (!now || now.segment_id !== chip.segment_id || now.code_path !== chip.code_path) return;
    if (!e.kind) {
      why.hidden = true;
      return;
    }
    const sim = e.similarity !== null && e.similarity !== undefined ? ` (similarity ${e.similarity.toFixed(2)})` : "";
    document.getElementById("cur-why-label").textContent =
      e.kind === "carried"
        ? "Why: you gave it to the sentence before"
        : e.kind === "accepted"
          ? `Why: close to a sentence you accepted${e.participant ? " from " + e.participant : ""}${sim}`
          : `Why: close to the codebook example${sim}`;
    document.getElementById("cur-why-text").textContent = e.text;
    why.hidden = false;
  }

  function move(step) {
    const list = order();
    if (!list.length) {
      say("No suggestions in this document. Click a sentence and press c to code it.");
      return;
    }
    let i = indexOf(list, focus);
    if (i < 0) {
      // from a sentence without a chosen code: the first chip at or after it
      if (focus) {
        const at = rows.findIndex((r) => Number(r.dataset.seg) === focus.seg);
        const next = list.findIndex((x) => rows.findIndex((r) => Number(r.dataset.seg) === x.seg) >= at);
        i = next < 0 ? list.length : next;
        if (step > 0) i -= 1;
      } else {
        i = step > 0 ? -1 : list.length;
      }
    }
    const j = Math.min(Math.max(i + step, 0), list.length - 1);
    setFocus(list[j]);
  }

  function nextPending() {
    const list = order();
    const i = indexOf(list, focus);
    const rest = list.slice(i + 1).concat(list.slice(0, i + 1));
    const next = rest.find((x) => (chipOf(x) || {}).state === "pending");
    if (next) setFocus(next);
    else {
      render();
      showCurrent();
      say(`${statusEl.textContent} — every suggestion in this document has an answer.`);
    }
  }

  async function save(kind, body, done, target) {
    if (saving) {
      say("Still saving the last answer…");
      return false;
    }
    saving = true;
    const at = target || focus;
    const row = at ? rowById.get(at.seg) : null;
    if (row) row.classList.add("saving");
    say("Saving…");
    try {
      const state = await api("POST", `/api/${kind}`, body);
      hideBanner();
      apply(state);
      done(state);
      if (kind !== "memo") saved(); // a memo changes no count
      return true;
    } catch (e) {
      showBanner(e.message, false); // not cleared by the heartbeat: this answer is still unsaved
      say(e.message);
      return false;
    } finally {
      saving = false;
      if (row) row.classList.remove("saving");
    }
  }

  function answer(kind, reason, note, target) {
    const chip = chipOf(target || focus);
    if (!chip || !chip.suggested) {
      say("Choose a suggestion first (j / k, or click a code).");
      return Promise.resolve(false);
    }
    const body = { segment_id: chip.segment_id, code_path: chip.code_path, answer: kind };
    if (reason) body.reason = reason;
    if (note) body.note = note;
    return save(
      "answer",
      body,
      (state) => {
        focus = { seg: chip.segment_id, code: chip.code_path };
        say(`Saved: ${kind === "accept" ? "accepted" : "rejected"} ${label(chip.code_path)}` +
          (state.learned ? ` · ${state.learned}` : ""));
        nextPending();
      },
      { seg: chip.segment_id },
    );
  }

  function pendingOn(seg) {
    return (chips[seg] || []).some((c) => c.suggested && c.state === "pending");
  }

  function noCode() {
    const seg = focus && focus.seg;
    if (!seg || !pendingOn(seg)) {
      say("Choose a sentence with suggestions first (j / k, or click a sentence).");
      return Promise.resolve(false);
    }
    return save(
      "no-code",
      { segment_id: seg },
      (state) => {
        focus = { seg, code: null };
        say(`Saved: no code on this sentence (${state.rejected} suggestion${state.rejected === 1 ? "" : "s"} rejected)` +
          (state.learned ? ` · ${state.learned}` : ""));
        nextPending();
      },
      { seg },
    );
  }

  function undo() {
    save("undo", { document_id: docId }, (state) => {
      const u = state.undone;
      if (!u) {
        say("Nothing to undo.");
        return;
      }
      const what = u.also && u.also.length ? `no code (${u.also.length + 1} rejections)` : `${u.answer} ${label(u.code_path)}`;
      if (u.document_id === docId) {
        setFocus({ seg: u.segment_id, code: chipOf({ seg: u.segment_id, code: u.code_path }) ? u.code_path : null });
        say(`Undone: ${what}`);
      } else {
        say(`Undone: ${what} in ${u.document}`);
      }
    });
  }

  // -- the live status card: read again after every save the server confirmed ---------------
  // A read begun before the latest confirmed save may miss it: its answer is never shown, and the
  // card is read again. One read at a time; on a big project reads are spaced so that they take at
  // most ~1/5 of the server's time (from the server's own timing), and the card says it is updating.

  const live = document.getElementById("live");
  let savesSeen = 0; // confirmed saves so far
  let liveShown = -1; // the savesSeen value the card's numbers were read after
  let liveBusy = false;
  let liveTimer = null;
  let liveCost = 0; // ms the server spent on the last read
  let liveEnded = 0;

  function pct(x) {
    return x === null || x === undefined ? "–" : `${Math.round(100 * x)}%`;
  }

  function renderLive(st) {
    document.getElementById("live-summary").textContent =
      `${st.accepted + st.rejected} answered (${st.accepted} accepted, ${st.rejected} rejected, ` +
      `${pct(st.acceptance)} accepted)${st.added ? ` · ${st.added} coded by hand` : ""}` +
      `${st.rejected_unsuggested ? ` · ${st.rejected_unsuggested} rejected where nothing was suggested` : ""} · ` +
      `${st.pending} pending · estimated recall ${pct(st.recall)}`;
    const body = document.getElementById("live-codes");
    body.replaceChildren();
    for (const c of st.codes) {
      const tr = document.createElement("tr");
      for (const [value, cls] of [
        [label(c.code), "code"],
        [`✓${c.accepted}`, "n"],
        [`✗${c.rejected}`, "n"],
        [`…${c.pending}`, "n"],
        [c.added ? `+${c.added}` : "", "n"],
        [pct(c.recall), "n"],
      ]) {
        const td = document.createElement("td");
        td.textContent = value;
        td.className = cls;
        tr.append(td);
      }
      tr.title = `${c.code}: ${c.accepted} accepted, ${c.rejected} rejected, ${c.pending} pending, ` +
        `${c.added} by hand, estimated recall ${pct(c.recall)}`;
      body.append(tr);
    }
  }

  function liveFresh() {
    const fresh = liveShown === savesSeen;
    live.classList.toggle("stale", !fresh);
    live.title = fresh ? "" : "updating…";
    return fresh;
  }

  async function refreshLive() {
    liveTimer = null;
    if (liveBusy) return;
    liveBusy = true;
    const after = savesSeen;
    try {
      const st = await api("GET", "/api/status");
      liveCost = 1000 * (st.seconds || 0);
      if (after === savesSeen) {
        renderLive(st);
        liveShown = after;
      }
    } catch (e) {
      document.getElementById("live-summary").textContent = e.message;
      liveShown = after; // said as it is; the next save reads again
    } finally {
      liveBusy = false;
      liveEnded = performance.now();
      if (!liveFresh()) liveSoon();
    }
  }

  function liveSoon() {
    if (liveBusy || liveTimer !== null) return; // the read in flight, or the one planned, will see it
    const wait = Math.max(0, liveEnded + 4 * liveCost - performance.now());
    liveTimer = setTimeout(refreshLive, wait);
  }

  function saved() {
    savesSeen += 1;
    liveFresh();
    liveSoon();
  }

  // -- boxes: reject reasons, code search, memo, help --------------------------------------

  function openBox(name) {
    closeBox();
    mode = name;
    boxTarget = focus ? { seg: focus.seg, code: focus.code } : null;
    const el = document.getElementById(name === "note" ? "reasons" : name);
    el.hidden = false;
  }

  function closeBox() {
    for (const id of ["reasons", "search", "memo", "help"]) document.getElementById(id).hidden = true;
    document.getElementById("note-form").hidden = true;
    mode = null;
    boxTarget = null;
    if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
  }

  function startReject() {
    const chip = chipOf(focus);
    if (!chip || !chip.suggested) {
      say("Choose a suggestion first (j / k, or click a code).");
      return;
    }
    openBox("reasons");
  }

  function reasonChosen(reason) {
    if (reason === "other") {
      mode = "note";
      const form = document.getElementById("note-form");
      form.hidden = false;
      document.getElementById("note").value = "";
      document.getElementById("note").focus();
      return;
    }
    const target = boxTarget;
    closeBox();
    answer("reject", reason || null, null, target);
  }

  function codableFocus() {
    if (!focus) {
      say("Click a participant's sentence (or press j) first.");
      return false;
    }
    if (!rowById.get(focus.seg).classList.contains("codable")) {
      say("Interviewer speech is not coded.");
      return false;
    }
    return true;
  }

  let hits = [];
  let hit = 0;
  let searchTimer = null;

  function renderHits() {
    const ol = document.getElementById("search-results");
    ol.replaceChildren();
    hits.forEach((path, i) => {
      const li = document.createElement("li");
      li.textContent = path;
      li.className = i === hit ? "chosen" : "";
      const info = codebook[path];
      if (info) li.title = info.definition;
      li.addEventListener("click", () => applyCode(path));
      ol.append(li);
    });
  }

  async function search(q) {
    try {
      const data = await api("GET", `/api/codes?q=${encodeURIComponent(q)}`);
      hits = data.codes;
      hit = 0;
      renderHits();
    } catch (e) {
      showBanner(e.message, e.connection);
    }
  }

  function startSearch() {
    if (!codableFocus()) return;
    openBox("search");
    const input = document.getElementById("search-q");
    input.value = "";
    hits = [];
    renderHits();
    input.focus();
  }

  async function applyCode(path) {
    const seg = boxTarget.seg;
    const ok = await save(
      "code",
      { segment_id: seg, code_path: path },
      () => {
        closeBox();
        setFocus({ seg, code: path });
        say(`Coded: ${label(path)}`);
      },
      { seg },
    );
    if (!ok) document.getElementById("search-q").focus(); // the box stays open: try again or Esc
  }

  function startMemo() {
    if (!codableFocus()) return;
    openBox("memo");
    const ul = document.getElementById("memo-list");
    ul.replaceChildren();
    for (const m of memos[focus.seg] || []) {
      const li = document.createElement("li");
      li.textContent = m;
      ul.append(li);
    }
    const ta = document.getElementById("memo-text");
    ta.value = "";
    ta.focus();
  }

  function saveMemo() {
    const textValue = document.getElementById("memo-text").value;
    if (!textValue.trim()) {
      say("An empty memo is not saved.");
      return;
    }
    const seg = boxTarget.seg;
    save("memo", { segment_id: seg, text: textValue }, () => {
      closeBox();
      say("Memo saved.");
    }, { seg });
  }

  // -- keys and buttons ---------------------------------------------------------------------

  function link(rel) {
    const a = document.querySelector(`.doc-nav a[rel="${rel}"]`);
    if (a) window.location.href = a.href;
  }

  function command(key) {
    switch (key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "a": answer("accept", null, null); break;
      case "r": startReject(); break;
      case "x": noCode(); break;
      case "u": undo(); break;
      case "c": startSearch(); break;
      case "m": startMemo(); break;
      case "n": link("next"); break;
      case "p": link("prev"); break;
      case "?": if (mode === "help") closeBox(); else openBox("help"); break;
      default: return false;
    }
    return true;
  }

  const REASON_KEYS = { 1: "meets an exclusion criterion", 2: "wrong code", 3: "too vague", 4: "other" };

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) {
      if (mode === "memo" && ev.key === "Enter") {
        ev.preventDefault();
        saveMemo();
      }
      return;
    }
    if (ev.key === "Escape") {
      if (mode) {
        ev.preventDefault();
        closeBox();
        say("Cancelled.");
      }
      return;
    }
    if (mode === "reasons") {
      ev.preventDefault();
      if (REASON_KEYS[ev.key]) reasonChosen(REASON_KEYS[ev.key]);
      else if (ev.key === "Enter") reasonChosen("");
      return;
    }
    if (mode === "search") {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        if (hits.length) hit = (hit + (ev.key === "ArrowDown" ? 1 : hits.length - 1)) % hits.length;
        renderHits();
      } else if (ev.key === "Enter") {
        ev.preventDefault();
        if (hits.length) applyCode(hits[hit]);
      }
      return;
    }
    if (mode === "note" || mode === "memo") return; // typing
    const target = ev.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) return;
    if (command(ev.key)) ev.preventDefault();
  });

  document.getElementById("search-q").addEventListener("input", (ev) => {
    clearTimeout(searchTimer);
    const q = ev.target.value;
    searchTimer = setTimeout(() => search(q), 120);
  });
  document.getElementById("search-form").addEventListener("submit", (ev) => ev.preventDefault());
  document.getElementById("note-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const note = document.getElementById("note").value.trim();
    const target = boxTarget;
    answer("reject", "other", note || null, target).then((ok) => {
      if (ok) closeBox();
    });
  });
  document.getElementById("memo-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    saveMemo();
  });
  // a clicked button gives focus back, so a later Space or Enter cannot repeat its action
  for (const b of document.querySelectorAll("#panel button")) {
    b.addEventListener("mousedown", (ev) => ev.preventDefault());
    b.addEventListener("click", () => b.blur());
  }
  for (const b of document.querySelectorAll("#panel [data-key]")) {
    b.addEventListener("click", () => command(b.dataset.key));
  }
  for (const b of document.querySelectorAll("#reasons [data-reason]")) {
    b.addEventListener("click", () => reasonChosen(b.dataset.reason));
  }
  for (const b of document.querySelectorAll("[data-cancel]")) {
    b.addEventListener("click", () => closeBox());
  }
  for (const row of rows) {
    row.addEventListener("click", () => {
      const seg = Number(row.dataset.seg);
      const first = (chips[seg] || [])[0];
      setFocus({ seg, code: first ? first.code_path : null }, false);
    });
  }

  // -- start ------------------------------------------------------------------------------

  (async () => {
    try {
      const [book, state] = await Promise.all([api("GET", "/api/codebook"), api("GET", `/api/doc/${docId}`)]);
      codebook = book.codes;
      apply(state);
      say(state.progress.pending ? "Press j for the next suggestion." : "No pending suggestions here.");
      document.body.dataset.ready = "1";
      refreshLive();
    } catch (e) {
      showBanner(e.message, e.connection);
    }
  })();
})();
