// Names for the controls ipywidgets leaves unnamed.  A plain script (no
// import, no export): the widgets' front end (keys.js) is built on it, and the
// course site loads it as it is, from disk too, where modules cannot load.
// ipywidgets leaves some controls without an accessible name: the slider's
// handle, the Play widget's icon-only buttons.  Name them from what is on
// screen (the widget's description or tooltip, the icon's meaning).
const ICON_NAMES = { "fa-play": "play", "fa-pause": "pause", "fa-stop": "stop", "fa-retweet": "repeat" };

function nameControls(root) {
  root.querySelectorAll("[role=slider]:not([aria-label])").forEach((h) => {
    const box = h.closest(".widget-slider");
    const label = box && box.querySelector(".widget-label");
    h.setAttribute("aria-label", (label && label.textContent.trim()) || "step");
  });
  root.querySelectorAll("button").forEach((b) => {
    if (b.textContent.trim() || b.getAttribute("aria-label")) return;
    const icon = b.querySelector("i");
    const key = icon && [...icon.classList].find((c) => ICON_NAMES[c]);
    b.setAttribute("aria-label", b.title || (key ? ICON_NAMES[key] : "button"));
  });
  root.querySelectorAll("select:not([aria-label]), input:not([aria-label])").forEach((c) => {
    const box = c.closest(".widget-inline-hbox, .widget-text, .widget-dropdown, .widget-checkbox");
    const label = box && box.querySelector("label");
    if (label && label.textContent.trim() && !c.labels?.length) c.setAttribute("aria-label", label.textContent.trim());
  });
}
