# OptLab's Jupyter server configuration: the book's TeX macros in JupyterLab.
#
# jupyterlab-myst renders a notebook's Markdown (theorems, proofs, citations, math with
# KaTeX) and takes TeX macros only from the `math:` frontmatter of the notebook's first
# Markdown cell.  The chapters and labs do not carry that frontmatter: this contents
# manager adds it when JupyterLab opens a notebook and removes it again when JupyterLab
# saves one, so the files stay as they are and the macros keep one definition,
# book/_ext/tex_macros.json (also read by the book's Sphinx extension for MathJax).
#
# Loaded from a directory on Jupyter's config path: `make lab` copies this directory
# (with tex_macros.json beside this file) into .venv/etc/jupyter; tests/test_jupyterlab.py
# puts tools/jupyter on JUPYTER_CONFIG_PATH.
import json
from pathlib import Path

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

_HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
_CANDIDATES = [_HERE / "tex_macros.json", _HERE.parents[1] / "book" / "_ext" / "tex_macros.json"]


def _frontmatter() -> str:
    path = next((p for p in _CANDIDATES if p.exists()), None)
    if path is None:
        return ""
    macros = json.loads(path.read_text(encoding="utf-8"))
    lines = ["---", "math:"]
    for name, body in macros.items():
        body = body[0] if isinstance(body, list) else body  # KaTeX counts the #n itself
        lines.append(f"  {json.dumps(chr(92) + name)}: {json.dumps(body)}")
    return "\n".join(lines + ["---", ""])


class OptLabContentsManager(AsyncLargeFileManager):
    """Adds the book's macros as jupyterlab-myst frontmatter on open, removes them on save."""

    frontmatter = _frontmatter()

    def _first_markdown(self, nb):
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "markdown":
                if isinstance(cell.get("source"), list):
                    cell["source"] = "".join(cell["source"])
                return cell
        return None

    async def get(self, path, content=True, type=None, format=None, **kwargs):
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if self.frontmatter and model.get("type") == "notebook" and model.get("content"):
            cell = self._first_markdown(model["content"])
            if cell is not None and not cell["source"].lstrip().startswith("---"):
                cell["source"] = self.frontmatter + cell["source"]
        return model

    async def save(self, model, path=""):
        if self.frontmatter and model.get("type") == "notebook" and model.get("content"):
            cell = self._first_markdown(model["content"])
            if cell is not None and cell["source"].startswith(self.frontmatter):
                cell["source"] = cell["source"][len(self.frontmatter) :]
        return await super().save(model, path)


c = get_config()  # noqa: F821 (defined by traitlets when it loads this file)
c.ServerApp.contents_manager_class = OptLabContentsManager
