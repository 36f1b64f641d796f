# Sphinx configuration of the pagewalk-edu course site: the lessons (executed at
# build time by myst-nb; a notebook error fails the build), kernel-free steppers,
# and the reference pages.  Builds offline: the theme is pip-installed and the
# widget renderer is served from _static.
project = "pagewalk-edu"
author = "the pagewalk-edu developers"
extensions = ["myst_nb"]
html_theme = "furo"
html_title = "pagewalk-edu: page-table walks, freed tables and the kernel"
html_static_path = ["_static"]
exclude_patterns = ["_build", "_vendor", "README.md", "**/.ipynb_checkpoints"]
nb_execution_mode = "force"
nb_execution_timeout = 180
nb_execution_raise_on_error = True
nb_execution_show_tb = True
# Widget views render from the saved widget state with the html-manager bundle
# served from this site's own files, never from a CDN.
nb_ipywidgets_js = {"vendor/html-manager/embed.js": {}}
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]
html_theme_options = {"navigation_with_keys": True}
# The "view source" eye icon sits outside every landmark of the theme's page
# (axe: region); the sources are in the repository.
html_show_sourcelink = False
html_copy_source = False
# Widget views on a saved page: name the controls ipywidgets leaves unnamed (the
# same code the widgets run in JupyterLab), and let a reader reach by keyboard a
# code block that scrolls sideways.
html_static_path += ["../pagewalk_edu/widgets/static"]
html_js_files = ["names.js", "pagewalk-site.js"]
html_css_files = ["pagewalk-site.css"]

import os  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

# The notebooks run here to save their outputs; no kernel stays behind them, so
# the widgets' front-end helper (an anywidget, whose script a saved page cannot
# load) is replaced by its plain-HTML live region (pagewalk_edu/widgets/frontend.py).
os.environ["PAGEWALK_SAVED_PAGE"] = "1"

#: (pattern, replacement) mending the theme's markup where axe-core finds a
#: violation: a sidebar caption with role=heading needs its level; the two
#: <aside> landmarks need names of their own.
_THEME_FIXES = (
    (re.compile(r'<p class="caption" role="heading">'), '<p class="caption" role="heading" aria-level="2">'),
    (re.compile(r'<aside class="sidebar-drawer">'), '<aside class="sidebar-drawer" aria-label="site navigation">'),
    (re.compile(r'<aside class="toc-drawer([^"]*)">'), r'<aside class="toc-drawer\1" aria-label="on this page">'),
)


def _mend_theme_markup(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for page in out.rglob("*.html"):
        if page.relative_to(out).parts[0] in ("_static", "lite"):
            continue
        text = page.read_text(encoding="utf-8")
        new = text
        for pat, rep in _THEME_FIXES:
            new = pat.sub(rep, new)
        if page.name == "search.html" and "<h1" not in new:  # the search page has no heading of its own
            new = new.replace('<article role="main" id="furo-main-content">',
                              '<article role="main" id="furo-main-content">\n<h1>Search</h1>', 1)
        if new != text:
            page.write_text(new, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _mend_theme_markup)
