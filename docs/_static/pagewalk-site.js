// The course site's own script (no network; served from _static).
// 1. Saved widget views: ipywidgets leaves the slider's handle and the Play
//    widget's icon buttons without a name; name them as the widgets do in
//    JupyterLab (nameControls() of names.js, the widgets' own code, loaded
//    before this file).  A plain script: modules do not load from file://.
// 2. A widget on a saved page has no kernel behind it and says so: link its
//    note to this site's kernel-free steppers and in-browser course.
// 3. A block that scrolls sideways (a long code line, a wide table) takes the
//    keyboard focus, so a reader without a mouse can scroll it with the arrows.
const SCROLLERS = "pre, .table-wrapper, .pw-log-scroll, .pw-matrix-scroll, .cell_output .output";

function focusScrollers() {
  document.querySelectorAll(SCROLLERS).forEach((el) => {
    const scrolls = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
    if (scrolls && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", "0");
  });
}

function linkNotes() {
  const root = document.documentElement.dataset.content_root || "./";
  document.querySelectorAll(".pw-nokernel:not([data-pw-linked])").forEach((note) => {
    note.dataset.pwLinked = "1";
    const more = document.createElement("span");
    more.innerHTML = ` <a href="${root}steppers.html">Open the kernel-free steppers</a> or ` +
      `<a href="${root}lite/lab/index.html">the in-browser course</a> (it needs the site served over HTTP).`;
    note.appendChild(more);
  });
}

function mend() {
  linkNotes();
  document.querySelectorAll(".jupyter-widgets, .pw-root").forEach((root) => nameControls(root));
  focusScrollers();
}

let queued = false;
function later() {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => { queued = false; mend(); });
}

// widget views render after the page loads (html-manager): mend what arrives
new MutationObserver(later).observe(document.documentElement, { childList: true, subtree: true });
window.addEventListener("load", mend);
window.addEventListener("resize", later);
mend();
