"""Print the configuration of the solutions-hidden edition: _config.yml plus hide_solutions.

Used by `make book-student`; generated, so it can never drift from _config.yml.
"""

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
config = yaml.safe_load((ROOT / "_config.yml").read_text())
config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
# the generated file lives in _build/, so make the book-relative paths absolute
config["sphinx"]["local_extensions"] = {
    name: str((ROOT / path).resolve()) for name, path in config["sphinx"].get("local_extensions", {}).items()
}
config["bibtex_bibfiles"] = [str((ROOT / b).resolve()) for b in config.get("bibtex_bibfiles", [])]
config["title"] = config.get("title", "") + " (student edition)"
yaml.safe_dump(config, sys.stdout, sort_keys=False, allow_unicode=True)
