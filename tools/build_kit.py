"""Build the conference kit: python tools/build_kit.py [--output FILE] [--site DIR]

One zip archive (default dist/pagewalk-edu-kit.zip, at most 100 MB) holding the
whole course site for a room with no internet: the docs pages with their
kernel-free steppers, and the in-browser (JupyterLite) course beside them. A
presenter copies it from a USB stick, unpacks it and serves it:

    python3 -m zipfile -e pagewalk-edu-kit.zip . && cd pagewalk-edu-kit
    python3 -m http.server 8000
    open http://127.0.0.1:8000/ (lessons run live under "Run this page live")

--site DIR packs a site tools/build_docs.py already built (with its lite/ folder)
instead of building one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP = "pagewalk-edu-kit"
LIMIT = 100_000_000
README = """pagewalk-edu: the course, offline (docs, steppers, and every lesson running in the browser)

  cd {top} && python3 -m http.server 8000
  then open http://127.0.0.1:8000/ in a browser; a lesson's "Run this page live" link runs it in the tab.
  (The steppers also open straight from disk; the live lessons need the server: browsers run them over HTTP only.)
"""


def pack(site: Path, archive: Path) -> int:
    """Zip `site` under one top folder; return the archive's size."""
    for need in ("index.html", "lite/jupyter-lite.json", "_static/steppers"):
        if not (site / need).exists():
            raise SystemExit(f"build_kit: {site} has no {need}; build it with tools/build_docs.py")
    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = archive.with_name(archive.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(f"{TOP}/README.txt", README.format(top=TOP))
        for p in sorted(site.rglob("*")):
            if p.is_file() and ".doctrees" not in p.parts and p.name != ".buildinfo":
                z.write(p, f"{TOP}/{p.relative_to(site).as_posix()}")
    tmp.replace(archive)
    return archive.stat().st_size


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Build the offline conference kit (one zip archive).")
    ap.add_argument("--output", default=str(ROOT / "dist" / f"{TOP}.zip"), help="the archive (default dist/pagewalk-edu-kit.zip)")
    ap.add_argument("--site", help="pack this already built docs site instead of building one")
    args = ap.parse_args(argv)
    if not args.site:  # building the site runs tools/build_docs.py (Sphinx) and tools/build_lite.py
        import importlib.util

        needs = (("sphinx", "docs"), ("myst_nb", "docs"), ("furo", "docs"), ("ipykernel", "lab"),
                 ("jupyterlite_core", "lite"), ("jupyterlite_pyodide_kernel", "lite"))
        lacking = sorted({extra for module, extra in needs if importlib.util.find_spec(module) is None})
        if lacking:
            print(f"build_kit: needs the extras {', '.join(lacking)} to build the site; "
                  "run bash scripts/setup.sh lab,lite,docs first", file=sys.stderr)
            return 2
    archive = Path(args.output).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(args.site) if args.site else Path(tmp) / "site"
        if not args.site:
            p = subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs.py"), "--out", str(site)])
            if p.returncode != 0:
                print("build_kit: the docs build failed (see above)", file=sys.stderr)
                return p.returncode
        size = pack(site, archive)
    print(f"build_kit: {archive}: {size / 1e6:.1f} MB (limit {LIMIT / 1e6:.0f} MB)")
    if size > LIMIT:
        print(f"build_kit: the kit is over {LIMIT / 1e6:.0f} MB, too big for the conference USB stick", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
