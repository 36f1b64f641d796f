"""The docs site's first build without network stops with one line naming what
it needed (the widget renderer from npm) and how to get it, not a traceback."""

import subprocess
import sys
import textwrap

from lessons import ROOT


def test_first_offline_build_names_the_widget_renderer_in_one_line(tmp_path):
    # Run build_docs' vendoring step against an empty docs folder, with npm absent and every connection refused.
    script = textwrap.dedent(f"""
        import shutil, socket, sys, urllib.request
        sys.path.insert(0, {str(ROOT / 'tools')!r})
        import build_docs
        build_docs.DOCS = __import__('pathlib').Path({str(tmp_path)!r})
        shutil.which = lambda name: None
        def refuse(*a, **k):
            raise urllib.error.URLError(ConnectionRefusedError(111, 'Connection refused'))
        urllib.request.urlopen = refuse
        build_docs.vendor_html_manager()
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    name, version = "@jupyter-widgets/html-manager", None
    assert f"the widget renderer {name}@" in lines[0] and "(from npm)" in lines[0]
    assert "npm pack" in lines[0] and "rerun this build" in lines[0]
    assert not (tmp_path / "_static").exists() or not any((tmp_path / "_static").rglob("*.js")), "nothing half-written"
