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
