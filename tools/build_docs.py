"""Build the course site: python tools/build_docs.py [--out DIR]

1. copy the lessons into docs/lessons/ (myst-nb executes them; an error fails the build);
2. write the kernel-free steppers into docs/_static/steppers/;
3. serve the widget renderer (@jupyter-widgets/html-manager, from the npm registry,
   cached in docs/_vendor/) from docs/_static/vendor/ so the site works offline;
4. sphinx-build -W (every warning, a broken internal link included, is an error);
5. the in-browser course (tools/build_lite.py) into lite/ of the same site: each
   lesson page links to its live copy there (served over HTTP, not from file://).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HTML_MANAGER = ("@jupyter-widgets/html-manager", "1.0.15")

STEPPERS = [
    # (folder, title, holds, action, kwargs, use the explorer's counterexample?)
    ("seed-patch-munmap", "The June 2026 patch as posted: remote walker, VMA lock + IRQs off, vs munmap", "vma_lock,irqs_off", "munmap", {"walker": "remote"}, False),
    ("seed-review-retract", "Its reviewer's design: remote walker, VMA lock + RCU, vs retract_page_tables", "vma_lock,rcu", "retract_page_tables", {"walker": "remote"}, False),
    ("bug-none-munmap", "Counterexample: a walker holding nothing vs munmap", "none", "munmap", {}, True),
    ("bug-rcu-sync-one", "Counterexample: rcu_read_lock() vs tlb_remove_table_sync_one() (6.18, PT_RECLAIM=n, failed batch)", "rcu", "munmap",
     {"config": "PT_RECLAIM=n", "fault": "batch_alloc_fail"}, True),
    ("bug-remote-no-rcu-free", "Counterexample: IRQs off does not help a remote walker without RCU table free", "irqs_off", "munmap",
     {"walker": "remote", "config": "MMU_GATHER_RCU_TABLE_FREE=n"}, True),
    ("bug-mremap", "Counterexample: a walker holding nothing vs mremap", "none", "mremap", {}, True),
    ("deadlock-retract", "Counterexample: a local IRQs-off walker deadlocks against retract_page_tables", "irqs_off", "retract_page_tables", {}, True),
]


def vendor_html_manager() -> None:
    name, version = HTML_MANAGER
    target = DOCS / "_static" / "vendor" / "html-manager"
    if (target / "embed.js").exists():
        return
    cache = DOCS / "_vendor" / f"html-manager-{version}.tgz"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        data = None
        if shutil.which("npm"):
            p = subprocess.run(["npm", "pack", f"{name}@{version}", "--pack-destination", str(cache.parent)], capture_output=True, text=True)
            packed = cache.parent / f"jupyter-widgets-html-manager-{version}.tgz"
            if p.returncode == 0 and packed.exists():
                packed.rename(cache)
        if not cache.exists():
            url = f"https://registry.npmjs.org/{name}/-/html-manager-{version}.tgz"
            try:
                with urllib.request.urlopen(url, timeout=120) as r:
                    data = r.read()
            except OSError as err:
                raise SystemExit(f"build_docs: the widget renderer {name}@{version} (from npm) is not cached and the network "
                                 f"is unreachable ({err.__class__.__name__}); once online run `npm pack {name}@{version}` and "
                                 f"save it as {cache.relative_to(ROOT) if cache.is_relative_to(ROOT) else cache}, or rerun this build") from None
            cache.write_bytes(data)
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(cache) as tar:
        for member in tar.getmembers():
            if member.name.startswith("package/dist/") and member.isfile() and "/" not in member.name[len("package/dist/"):]:
                f = tar.extractfile(member)
                (target / member.name[len("package/dist/"):]).write_bytes(f.read())
            elif member.name == "package/LICENSE" or member.name.endswith("/LICENSE"):
                (target / "LICENSE").write_bytes(tar.extractfile(member).read())


def write_steppers() -> None:
    sys.path.insert(0, str(ROOT))
    import matplotlib
    matplotlib.use("Agg")
    from pagewalk_edu.explore import verdict
    from pagewalk_edu.kernel import make_scenario, run
    from pagewalk_edu.viz.stepper import write_stepper

    out = DOCS / "_static" / "steppers"
    shutil.rmtree(out, ignore_errors=True)
    lines = ["# Step through it, with no kernel running", "",
             "Each stepper below was rendered when this site was built: every step's page-table tree, the timeline",
             "with the current step marked, and the event log. Use Back/Next, the slider or the arrow keys.", ""]
    for folder, title, holds, action, kw, bug in STEPPERS:
        s = make_scenario(holds, action, **kw)
        schedule = verdict(s).schedule if bug else None
        trace = run(s, schedule, then_default=not bug)
        write_stepper(trace, out / folder, title)
        lines += [f"## {title}", "", f"`{s.describe()}`", "",
                  f'<iframe src="_static/steppers/{folder}/index.html" title="{title}" width="100%" height="900" loading="lazy"></iframe>',
                  "", f'<p><a href="_static/steppers/{folder}/index.html">Open it on its own page</a></p>', ""]
    (DOCS / "steppers.md").write_text("\n".join(lines), encoding="utf-8")


LIVE_LINK = (
    '<p class="pw-live-link"><a href="../lite/notebooks/index.html?path={name}">Run this page live in your browser</a> '
    '(Python runs in the tab, nothing to install; it needs the site served over HTTP, for example '
    '<code>python3 -m http.server</code> in the site\'s folder, and does not start from a file opened from disk). '
    'The steppers on this site work either way.</p>'
)


def live_link_cell(name: str) -> dict:
    """A first cell for a lesson's page: the link to the same lesson in the Lite site."""
    return {"cell_type": "markdown", "id": "pagewalk-live-link", "metadata": {},
            "source": LIVE_LINK.format(name=name)}


def copy_lessons() -> None:
    dst = DOCS / "lessons"
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if nb.name == "glossary.ipynb":  # a reference page of the site, not a lesson
            shutil.copy(nb, DOCS / nb.name)
            continue
        # lessons link the glossary beside them (notebooks/glossary.ipynb); on the site it is one level up,
        # and a term is reached by its heading's anchor, not by the cell id JupyterLab follows
        text = nb.read_text(encoding="utf-8").replace("](glossary.ipynb#cell-id=", "](glossary.ipynb#")
        text = text.replace("](glossary.ipynb", "](../glossary.ipynb")
        data = json.loads(text)
        # after the title cell, so the page still opens with the lesson's heading
        data["cells"].insert(1, live_link_cell(nb.name))
        (dst / nb.name).write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    shutil.rmtree(DOCS / "img", ignore_errors=True)
    shutil.copytree(ROOT / "notebooks" / "img", DOCS / "img")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(DOCS / "_build" / "html"))
    args = ap.parse_args()
    copy_lessons()
    write_steppers()
    vendor_html_manager()
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), args.out]
    rc = subprocess.run(cmd).returncode
    if rc == 0:
        rc = build_lite_into(Path(args.out) / "lite")
    return rc


def build_lite_into(out: Path) -> int:
    """The Lite site beside the pages, where their "run this page live" links point."""
    sys.path.insert(0, str(ROOT / "tools"))
    import build_lite

    return build_lite.main(["--output", str(out)])


if __name__ == "__main__":
    sys.exit(main())
