// The Explorer's small front end.  It keeps the learner's keystrokes inside
// the widget (JupyterLab's Lumino command registry stops looking for a
// notebook shortcut at an ancestor carrying data-lm-suppress-shortcuts),
// turns Step/Back keys into messages to Python, announces each step in a live
// region, scrolls the event log to the current step, and says so when no
// Python kernel answers any more.
const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);

function rootOf(el) {
  return el.closest(".pw-root") || el.parentElement;
}

// nameControls(root) comes from names.js, put before this file (frontend.py).

function render({ model, el }) {
  const live = document.createElement("div");
  live.className = "pw-live";
  live.setAttribute("role", "status");
  live.setAttribute("aria-live", "polite");
  live.textContent = model.get("announce");
  el.appendChild(live);
  let root = null;
  let lastPong = Date.now();
  let pingSent = 0;
  const attach = () => {
    root = rootOf(el);
    if (!root || root.dataset.pwKeys === "1") return;
    root.dataset.pwKeys = "1";
    root.setAttribute("data-lm-suppress-shortcuts", "true");
    root.classList.add("pw-live-kernel");
    root.addEventListener("keydown", onKey);
    root.addEventListener("keyup", stop);
    root.addEventListener("keypress", stop);
    root.addEventListener("focusin", ping);
    root.addEventListener("click", ping);
    nameControls(root);
    new MutationObserver(() => nameControls(root)).observe(root, { childList: true, subtree: true });
    scrollLog();
  };
  function stop(e) {
    e.stopPropagation();
  }
  function onKey(e) {
    // never let a keystroke reach the notebook (command mode: r, d d, b, arrows, Space)
    e.stopPropagation();
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    const typing = TYPING.has(t.tagName) || t.isContentEditable;
    const inSlider = t.closest && t.closest(".widget-slider, .slider-container, [role=slider]");
    const presenter = root.classList.contains("pw-presenter");
    let cmd = null;
    if (presenter && !typing) {
      if (e.key === "ArrowRight" || e.key === " " || e.key === "PageDown" || e.key === "n") cmd = "step";
      if (e.key === "ArrowLeft" || e.key === "PageUp" || e.key === "b") cmd = "back";
    } else if (!typing && !inSlider) {
      if (e.key === "n" || e.key === "ArrowRight") cmd = "step";
      if (e.key === "b" || e.key === "ArrowLeft") cmd = "back";
    }
    if (cmd) {
      e.preventDefault();
      send({ cmd });
    }
  }
  function send(msg) {
    try {
      model.send(msg);
      pingSent = pingSent || Date.now();
      setTimeout(check, 4000);
    } catch (err) {
      gone();
    }
  }
  function ping() {
    const now = Date.now();
    if (now - lastPong < 2000 || pingSent) return;
    send({ cmd: "ping" });
  }
  function check() {
    if (pingSent && Date.now() - pingSent >= 3500) gone();
  }
  function gone() {
    if (!root) return;
    root.classList.remove("pw-live-kernel");
    root.classList.add("pw-no-kernel");
    live.textContent = model.get("gone_text");
  }
  function scrollLog() {
    if (!root) return;
    const cur = root.querySelector(".pw-log .pw-current");
    const box = root.querySelector(".pw-log-scroll");
    if (cur && box) {
      const top = cur.offsetTop - box.offsetTop;
      if (top < box.scrollTop || top > box.scrollTop + box.clientHeight - cur.offsetHeight) {
        box.scrollTop = Math.max(0, top - box.clientHeight / 3);
      }
    }
  }
  model.on("msg:custom", (msg) => {
    if (msg && msg.cmd === "pong") {
      lastPong = Date.now();
      pingSent = 0;
      if (root) {
        root.classList.add("pw-live-kernel");
        root.classList.remove("pw-no-kernel");
      }
    }
  });
  model.on("change:announce", () => {
    lastPong = Date.now();
    pingSent = 0;
    live.textContent = model.get("announce");
    requestAnimationFrame(scrollLog);
  });
  // the helper is rendered inside the widget's box: wait until it is in the page
  const timer = setInterval(() => {
    if (el.isConnected && el.closest(".pw-root")) {
      clearInterval(timer);
      attach();
    }
  }, 50);
  return () => {
    clearInterval(timer);
    if (root) root.removeEventListener("keydown", onKey);
  };
}

export default { render };
