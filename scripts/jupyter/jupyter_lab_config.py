# JupyterLab settings for the course, passed by scripts/lab.sh (--config), so that
# nothing is written to the learner's own Jupyter configuration.
from pathlib import Path

c = get_config()  # noqa: F821 (traitlets provides it when it loads this file)

# overrides.json beside this file switches off the first-run "official Jupyter news?" prompt
# (the fetchNews setting of @jupyterlab/apputils-extension:notification) and update checks.
c.LabApp.app_settings_dir = str(Path(__file__).resolve().parent / "settings")
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
