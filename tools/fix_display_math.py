"""Put every ``$$`` display-math block of a notebook's Markdown cells in its own paragraph.

MyST's dollarmath only treats ``$$ ... $$`` as display math when the block starts a
paragraph; glued to the preceding sentence it is parsed as inline text.  Usage:
``python tools/fix_display_math.py NOTEBOOK [NOTEBOOK ...]`` (edits in place).
"""

import sys


def fix(text: str) -> str:
    lines = text.split("\n")
    out, inside = [], False
    for line in lines:
        if line.strip() == "$$":
            if not inside and out and out[-1].strip():
                out.append("")
            out.append(line)
            if inside:
                out.append("")
            inside = not inside
            continue
        if not inside and out and out[-1] == "" and line.strip() == "" :
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + ("\n" if text.endswith("\n") else "")


def main(paths):
    import nbformat

    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = fix(cell.source)
        nbformat.write(nb, path)


if __name__ == "__main__":
    main(sys.argv[1:])
