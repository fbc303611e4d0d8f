"""Print a generated Jupyter Book configuration: _config.yml plus edition-specific settings.

    python tools/book_config.py --student                      # solutions-hidden edition
    python tools/book_config.py --repository-url URL [--branch main]
                                [--binderhub-url https://mybinder.org] [--jupyterhub-url URL]

The second form adds the repository link and the launch buttons: every chapter page gets a
rocket menu that opens the notebook in JupyterLab on Binder (and on your JupyterHub through
nbgitpuller when --jupyterhub-url is given). Launch buttons need a public repository, which is
why the committed _config.yml has none: `make book REPOSITORY_URL=...` uses this script.

The output is generated from _config.yml, so editions can never drift apart. It lives in
_build/, so book-relative paths (local extensions, bibliographies) are made absolute.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def build_config(*, student: bool = False, repository_url: str | None = None, branch: str = "main",
                 binderhub_url: str = "https://mybinder.org", jupyterhub_url: str | None = None) -> dict:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx = config.setdefault("sphinx", {})
    sphinx["local_extensions"] = {
        name: str((ROOT / path).resolve()) for name, path in sphinx.get("local_extensions", {}).items()
    }
    config["bibtex_bibfiles"] = [str((ROOT / b).resolve()) for b in config.get("bibtex_bibfiles", [])]
    if student:
        sphinx.setdefault("config", {})["hide_solutions"] = True
        config["title"] = config.get("title", "") + " (student edition)"
    if repository_url:
        if not repository_url.startswith(("https://", "http://")):
            raise SystemExit(f"--repository-url must be an http(s) URL, got {repository_url!r}")
        config["repository"] = {"url": repository_url.rstrip("/"), "branch": branch}
        html = config.setdefault("html", {})
        html["use_repository_button"] = True
        html["use_issues_button"] = True
        launch = config.setdefault("launch_buttons", {})
        launch["notebook_interface"] = "jupyterlab"
        launch["binderhub_url"] = binderhub_url
        if jupyterhub_url:
            launch["jupyterhub_url"] = jupyterhub_url
    return config


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--student", action="store_true", help="hide exercise solutions")
    parser.add_argument("--repository-url", default=None, help="public git repository of the book")
    parser.add_argument("--branch", default="main")
    parser.add_argument("--binderhub-url", default="https://mybinder.org")
    parser.add_argument("--jupyterhub-url", default=None)
    args = parser.parse_args(argv)
    config = build_config(student=args.student, repository_url=args.repository_url, branch=args.branch,
                          binderhub_url=args.binderhub_url, jupyterhub_url=args.jupyterhub_url)
    yaml.safe_dump(config, sys.stdout, sort_keys=False, allow_unicode=True)


if __name__ == "__main__":
    main()
