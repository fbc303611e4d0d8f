"""Generate and grade the labs with otter-grader, locally and without Docker.

    python tools/labs.py assign [LAB ...]          # labs/_dist/<lab>/{student,autograder}
    python tools/labs.py grade LAB SUBMISSIONS_DIR [DIST]  # writes SUBMISSIONS_DIR/scores.csv
                                                   # and SUBMISSIONS_DIR/manual_answers.md
    python tools/labs.py manual SUBMISSIONS_DIR    # only manual_answers.md (no grading)

`assign` runs `otter assign` on each master notebook `labs/<lab>/<lab>.ipynb`;
`grade` grades (otter's `otter run` engine, no container) with the lab's autograder zip every
`*.ipynb` in a folder and writes one CSV row per submission, and collects every
submission's answers to the questions graded by hand (otter's written-answer cells) into
one Markdown file, question by question, for the grader (the rubric is in the solutions
key, labs/_dist/<lab>/autograder/).  DIST is the lab's
`otter assign` output (default `labs/_dist/<lab>`, generated when missing).
"""

from __future__ import annotations

import asyncio
import copy
import csv
import inspect
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABS = ROOT / "labs"
DIST = LABS / "_dist"
OTTER = [sys.executable, "-m", "otter"]


def _recv_exactly(connection, size: int) -> bytes | None:
    """``size`` bytes from a socket, or ``None`` if the peer closed it first."""
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _patch_otter_log_receiver() -> None:
    """Make otter's log receiver survive a kernel that dies while it logs.

    otter's grading process receives the kernel's log records on a TCP server
    (``otter.execute.logging``). Its handler reads a record's bytes with
    ``while len(chunk) < slen: chunk += recv(...)``, and ``recv`` returns ``b""`` forever once the
    kernel has closed the connection. A kernel killed in the middle of a record (the lab tests kill
    kernels on purpose, and a student's submission can) therefore left a handler thread spinning at
    full CPU, and, because the threads are not daemons, the grading process could never exit: one
    clean-clone CI run hung after its last lab test that way. This handler stops at the end of the
    stream, and the handler threads are daemons.
    """
    import logging
    import struct

    from otter.execute import logging as otter_logging

    def handle(self):
        while True:
            header = _recv_exactly(self.connection, 4)
            if header is None:
                return
            data = _recv_exactly(self.connection, struct.unpack(">L", header)[0])
            if data is None:
                return
            self.handle_log_record(logging.makeLogRecord(self.unpickle(data)))

    otter_logging.LogRecordStreamHandler.handle = handle
    otter_logging.LogRecordSocketReceiver.daemon_threads = True


_patch_otter_log_receiver()


def lab_names() -> list[str]:
    return sorted(p.parent.name for p in LABS.glob("*/*.ipynb")
                  if p.stem == p.parent.name and not p.parent.name.startswith("_"))


def assign(lab: str, out: Path | None = None, *, run_tests: bool = True) -> Path:
    """Run ``otter assign`` for one lab; returns the output directory."""
    master = LABS / lab / f"{lab}.ipynb"
    if not master.exists():
        raise FileNotFoundError(f"no master notebook at {master}")
    out = out or DIST / lab
    if out.exists():
        shutil.rmtree(out)
    cmd = [*OTTER, "assign", str(master), str(out)]
    if not run_tests:
        cmd.append("--no-run-tests")
    subprocess.run(cmd, check=True, cwd=master.parent, capture_output=True, text=True)
    return out


def autograder_zip(dist: Path) -> Path:
    zips = sorted((dist / "autograder").glob("*.zip"))
    if len(zips) != 1:
        raise FileNotFoundError(f"expected one autograder zip in {dist / 'autograder'}, found {zips}")
    return zips[0]


def grade_one(zip_path: Path, submission: Path) -> dict[str, tuple[float, float]]:
    """Grade one notebook; returns ``{question: (score, max_score)}``.

    Uses otter's Python API (``otter.api.grade_submission``, the engine behind
    ``otter run``): no container, and half the time of a fresh ``otter run`` process.
    """
    import otter.api  # imported here: otter is heavy, and `assign` does not need it
    from nbconvert.preprocessors import ExecutePreprocessor

    original = ExecutePreprocessor.preprocess

    def preprocess(self, nb, resources=None, km=None):
        # km is None: nbclient starts a fresh kernel for each run (the replay after a death too)
        def execute(notebook):
            return original(self, notebook, resources, km=km)

        return _execute_surviving_kernel_death(self, nb, execute)

    ExecutePreprocessor.preprocess = preprocess
    try:
        results = otter.api.grade_submission(str(submission), str(zip_path), quiet=True)
    finally:
        ExecutePreprocessor.preprocess = original
    if results.catastrophic_error is not None:
        raise RuntimeError(f"otter could not grade {submission}: {results.catastrophic_error}")
    return {name: (float(r["score"]), float(r["possible"])) for name, r in results.to_dict().items()}


CELL_TIMEOUT_ENV = "OPTLAB_GRADING_CELL_TIMEOUT"
CELL_TIMEOUT_S = 300.0
KERNEL_POLL_S = 1.0  # how often a blocking read of a kernel's channel checks that it is alive


def _resolve(value):
    """The value of a kernel manager's method: awaited for an AsyncKernelManager (nbclient's own)."""
    return asyncio.run(value) if inspect.isawaitable(value) else value


class _CellWatch:
    """What :func:`_limit_cells` arms: ``cell_index``, the cell running now (``None`` between
    cells), and ``disarm()``, which cancels a pending interrupt."""

    def __init__(self) -> None:
        self.cell_index: int | None = None
        self.timers: list[threading.Timer] = []

    def disarm(self, **_) -> None:
        while self.timers:
            self.timers.pop().cancel()


def _limit_cells(preprocessor) -> _CellWatch:
    """A cell of a submission (or of the hidden tests) that runs longer than the limit
    (``OPTLAB_GRADING_CELL_TIMEOUT`` seconds, default 300) is interrupted (KeyboardInterrupt,
    recorded as the cell's error) and grading goes on: a submission that loops forever loses
    the points of what did not finish instead of hanging the grader (otter sets no limit).
    A cell still running one period after an interrupt (a check that caught it and called
    the hanging function again) is interrupted again, as long as the kernel lives: a dead
    kernel is not interrupted (nbclient raises ``DeadKernelError``, see
    :func:`_execute_surviving_kernel_death`).

    A watchdog thread sends the interrupt, armed by nbclient's cell hooks (``on_cell_execute``
    before the request, ``on_cell_executed`` on the reply): nbclient's own ``timeout`` /
    ``interrupt_on_timeout`` never fire with the synchronous kernel manager that grading shares
    across submissions, whose blocking reads of the output channel hold nbclient's event loop
    (measured: a ``while True`` cell ran on for 15 min).  The hooks go through the config, because
    ``ExecutePreprocessor.preprocess`` re-runs ``NotebookClient.__init__``, which resets the
    traits to the config's values.  Returns the watch: the index of the running cell, and the
    function that cancels a pending interrupt (called once the notebook has run)."""
    limit = float(os.environ.get(CELL_TIMEOUT_ENV, CELL_TIMEOUT_S))
    watch = _CellWatch()

    def fire():
        if not _resolve(preprocessor.km.is_alive()):
            preprocessor.log.warning("the kernel died: no more interrupts")
            return
        preprocessor.log.warning("cell %s ran over %s s: interrupting the kernel", watch.cell_index, limit)
        _resolve(preprocessor.km.interrupt_kernel())
        arm()

    def arm(**_):
        watch.disarm()
        watch.timers.append(threading.Timer(limit, fire))
        watch.timers[-1].daemon = True
        watch.timers[-1].start()

    def started(cell_index: int, **_):
        watch.cell_index = cell_index
        arm()

    def finished(**_):
        watch.cell_index = None
        watch.disarm()

    preprocessor.config.ExecutePreprocessor.on_cell_execute = started
    preprocessor.config.ExecutePreprocessor.on_cell_executed = finished  # (on_cell_complete: sent)
    return watch


_KERNEL_DIED = (
    "The kernel died while running this cell (the process was killed, or ran out of memory). "
    "The cells after it were not run; the tests ran in a new kernel on the cells before it."
)
MAX_REPLAYS = 5  # replays of a submission after kernel deaths before its grading gives up

# Run first in every grading kernel: otter's Checker.check (behind grader.check, otter's check
# cells and its final cell) writes the test it starts, then "done", to a file that outlives the
# kernel, and fails without running it a test that killed the kernel before.
_GUARD_CELL = """\
def _optlab_guard(breadcrumbs, fatal):
    import inspect, json
    from otter.execute import Checker
    from otter.test_files import create_test_file
    from otter.test_files.abstract_test import TestCaseResult

    check = Checker.__dict__.get("_optlab_check") or Checker.check.__func__
    Checker._optlab_check = check

    def guarded(cls, path, nbmeta_config, test_name=None, global_env=None):
        if global_env is None:
            global_env = inspect.currentframe().f_back.f_globals
        key = json.dumps([path, test_name])
        if key in fatal:
            test = create_test_file(path, nbmeta_config, test_name=test_name)
            test.test_case_results = [TestCaseResult(test_case=tc, passed=False, message=(
                "The kernel died running this test (killed, or out of memory)")) for tc in test.test_cases]
            if cls._track_results:
                cls._test_files.append(test)
            return test
        with open(breadcrumbs, "a") as fh:
            fh.write(key + "\\n")
        try:
            return check(cls, path, nbmeta_config, test_name, global_env)
        finally:  # also when interrupted: a later death is not this test's
            with open(breadcrumbs, "a") as fh:
                fh.write("done\\n")

    Checker.check = classmethod(guarded)
_optlab_guard({breadcrumbs!r}, {fatal!r})
del _optlab_guard
"""


def _execute_surviving_kernel_death(preprocessor, nb, execute):
    """Run otter's grading notebook ``nb`` with ``execute(notebook)`` (nbclient's preprocess,
    which returns ``(notebook, resources)``; it starts a new kernel if the last one died),
    each cell under :func:`_limit_cells`.

    A submission that kills the kernel (``os.kill(os.getpid(), 9)``, running out of memory)
    makes nbclient raise ``DeadKernelError``, and otter, which does not catch it, would lose
    the whole submission (no results file).  Instead the notebook is replayed in a new kernel:

    * death in a cell before otter's last one: the cell gets that error as its output, and
      the cells before it are replayed, then otter's last cell, which runs the tests not yet
      run and exports the results.  The submission keeps the points of what ran before the
      fatal cell and loses the questions it did not reach;
    * death in a test (otter's check cells, a ``grader.check`` of the submission, or otter's
      last cell; a guard cell run first records which test starts, see ``_GUARD_CELL``): that
      test fails without running in the replay, the other tests run.

    Each replay drops a cell or fails a test; after ``MAX_REPLAYS`` replays (or a death in
    the first cell) the ``DeadKernelError`` is raised."""
    import tempfile

    from nbclient.exceptions import DeadKernelError
    from nbformat.v4 import new_code_cell, new_output

    handle, breadcrumbs = tempfile.mkstemp(prefix="optlab-tests-", suffix=".txt")
    os.close(handle)
    fatal: list[str] = []
    guard = new_code_cell(_GUARD_CELL.format(breadcrumbs=breadcrumbs, fatal=fatal))
    nb.cells.insert(0, guard)
    export = len(nb.cells) - 1  # otter's last cell: runs the tests not run yet, writes the results
    run = nb
    watch = _limit_cells(preprocessor)
    try:
        for replay in range(MAX_REPLAYS + 1):
            Path(breadcrumbs).write_text("")
            try:
                _, resources = execute(run)
                return nb, resources
            except DeadKernelError:
                dead, watch.cell_index = watch.cell_index, None
                watch.disarm()  # its interrupt would hit the next kernel as it starts
                if dead is None or dead == 0 or replay == MAX_REPLAYS:
                    raise
                # Close the dead kernel's client (nbclient keeps it, as the kernel manager is not
                # its own; a reference cycle through the error keeps it alive): it shares the
                # session's identity with the next client, and its sockets reconnecting to the
                # new kernel first got the kernel's replies instead (measured: "Kernel didn't
                # respond in 60 seconds" after the restart in 2 of 5 runs).
                if preprocessor.kc is not None:
                    _resolve(preprocessor.kc.stop_channels())
            crumbs = Path(breadcrumbs).read_text().splitlines()
            test = crumbs[-1] if crumbs and crumbs[-1] != "done" else None
            in_export = dead == len(run.cells) - 1
            if in_export and test is None:
                raise DeadKernelError("Kernel died in otter's results cell, outside a test")
            preprocessor.log.warning("the kernel died in cell %s (test %s): replaying", dead, test)
            if test is not None:
                fatal.append(test)
                guard.source = _GUARD_CELL.format(breadcrumbs=breadcrumbs, fatal=fatal)
            if not in_export:
                died = new_output("error", ename="DeadKernelError", evalue=_KERNEL_DIED, traceback=[])
                nb.cells[dead].outputs = [died]
                for cell in nb.cells[dead + 1 : export]:
                    cell.outputs = []
                run = copy.copy(nb)  # shares the cells: the replay's outputs land in nb
                run.cells = [*nb.cells[:dead], nb.cells[export]]
        raise AssertionError("unreachable")
    finally:
        watch.disarm()
        os.remove(breadcrumbs)


def _death_aware_client_class():
    """A ``BlockingKernelClient`` whose channels' blocking reads give up when the kernel dies.

    nbclient waits for a cell's reply and outputs with ``get_msg(timeout=None)`` and checks
    that the kernel lives in another task of its event loop; with a synchronous client the
    read blocks that loop, so a kernel that dies in a cell was never noticed and the grader
    hung (measured: a cell calling ``os.kill(os.getpid(), 9)`` hung ``grade_many`` past 150 s).
    Here a read waits in slices of ``KERNEL_POLL_S`` seconds (its own timeout, if any, still
    applies) and raises nbclient's ``DeadKernelError`` once the kernel is no longer alive."""
    from jupyter_client.blocking import BlockingKernelClient
    from nbclient.exceptions import DeadKernelError

    class DeathAwareClient(BlockingKernelClient):
        def _watched(self, channel):
            if getattr(channel, "_optlab_watched", False):
                return channel
            blocking_get = channel.get_msg

            def get_msg(timeout=None):
                deadline = None if timeout is None else time.monotonic() + timeout
                while True:
                    left = KERNEL_POLL_S if deadline is None else max(0.0, deadline - time.monotonic())
                    try:
                        return blocking_get(timeout=min(KERNEL_POLL_S, left))
                    except queue.Empty:
                        if deadline is not None and time.monotonic() >= deadline:
                            raise
                    if not self.is_alive():
                        raise DeadKernelError("Kernel died") from None

            channel.get_msg = get_msg
            channel._optlab_watched = True
            return channel

        @property
        def shell_channel(self):
            return self._watched(super().shell_channel)

        @property
        def iopub_channel(self):
            return self._watched(super().iopub_channel)

    return DeathAwareClient


# Run first in the shared kernel before each submission: forget the previous submission's
# names, otter's collected results and its logging handlers, and work in the new grading
# folder (otter's GradingPreprocessor resolves ./tests from there).
_RESET_CELL = """\
import os as _os
_os.chdir({cwd!r})  # first: the previous grading folder is gone, and %reset needs a cwd
%reset -f
import os as _os
from otter import logging as _otter_logging
from otter.execute import Checker as _Checker
_Checker.clear_results()
for _h in list(_otter_logging._handlers):
    for _lg in _otter_logging._instances.values():
        _lg.removeHandler(_h)
    _h.close()
_otter_logging._handlers.clear()
del _os, _otter_logging, _Checker
"""


def grade_many(zip_path: Path, submissions: list[Path]) -> list[dict[str, tuple[float, float]]]:
    """Grade several notebooks of one lab in ONE kernel; returns one score dict each.

    The same grading as :func:`grade_one` (otter's ``grade_submission``: its folders, its
    preprocessor, its hidden tests), except that every submission runs in one kernel,
    reset before each (``%reset -f``, otter's results and log handlers cleared, the working
    directory set to the submission's grading folder).  This saves a kernel start and the
    imports (otter, JAX: ~6 s) per submission, and what JAX compiled for one submission
    serves the next.  Modules the submissions import stay imported, so this is for the
    lab tests (the solution's mutants, which do not patch libraries), not for students'
    submissions: the instructors' command grades each in a fresh kernel.  The kernel runs
    with ``OPTLAB_SKIP_EXPERIMENTS=1``: a lab's experiment (its explorer, which no test
    grades) is not built, which saves about a tenth of each run.
    """
    import nbformat
    import otter.api
    from jupyter_client import KernelManager
    from nbconvert.preprocessors import ExecutePreprocessor

    km = KernelManager(kernel_name="python3")
    original = ExecutePreprocessor.preprocess

    def preprocess(self, nb, resources=None, km_=None):
        nb.cells.insert(0, nbformat.v4.new_code_cell(_RESET_CELL.format(cwd=os.getcwd())))

        def execute(notebook):
            if not km.is_alive():  # a submission that killed the kernel does not sink the rest
                km.restart_kernel(now=True)
            try:
                return original(self, notebook, resources, km=km)
            finally:
                # nbclient stops a client's channels only when it owns the kernel manager: with
                # ours, every run left its zmq sockets open (34 submissions of lab 18 took the
                # process past 1024 descriptors, where otter's log server's select() fails)
                kc = getattr(self, "kc", None)
                if kc is not None:
                    kc.stop_channels()
                    self.kc = None

        return _execute_surviving_kernel_death(self, nb, execute)

    # nbclient's blocking reads of this synchronous kernel's channels give up when it dies
    km.client_factory = _death_aware_client_class()
    # the experiments (explorers) are not graded: the kernel skips building them
    km.start_kernel(cwd=str(Path(zip_path).parent), env={**os.environ, "OPTLAB_SKIP_EXPERIMENTS": "1"})
    ExecutePreprocessor.preprocess = preprocess
    try:
        out = []
        for submission in submissions:
            results = otter.api.grade_submission(str(submission), str(zip_path), quiet=True)
            if results.catastrophic_error is not None:
                raise RuntimeError(f"otter could not grade {submission}: {results.catastrophic_error}")
            out.append({n: (float(r["score"]), float(r["possible"])) for n, r in results.to_dict().items()})
        return out
    finally:
        ExecutePreprocessor.preprocess = original
        km.shutdown_kernel(now=True)


def _question_title(cells, index: int) -> str:
    """The heading of the question an answer cell belongs to: the nearest ``## ...`` above."""
    for cell in reversed(cells[:index]):
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("## "):
                    return line[3:].strip()
    return f"cell {index}"


def export_manual_answers(folder: Path) -> Path:
    """Collect the written answers (Markdown cells tagged ``otter_answer_cell``) of every
    ``*.ipynb`` in ``folder`` into ``folder/manual_answers.md``, grouped by question, one
    section per submission; an answer left as otter's placeholder is marked unanswered.
    Returns the path written."""
    import json

    by_question: dict[str, list[tuple[str, str]]] = {}
    for nb_path in sorted(folder.glob("*.ipynb")):
        cells = json.loads(nb_path.read_text())["cells"]
        for i, cell in enumerate(cells):
            tags = cell.get("metadata", {}).get("tags", [])
            if cell["cell_type"] != "markdown" or "otter_answer_cell" not in tags:
                continue
            text = "".join(cell["source"]).strip()
            if not text or text == "_Type your answer here, replacing this text._":
                text = "*(unanswered)*"
            by_question.setdefault(_question_title(cells, i), []).append((nb_path.name, text))
    lines = [f"# Written answers in {folder.name}", ""]
    if not by_question:
        lines.append("No submission has a written (hand-graded) answer cell.")
    for title, answers in by_question.items():
        lines += [f"## {title}", ""]
        for name, text in answers:
            lines += [f"### {name}", "", text, ""]
    out = folder / "manual_answers.md"
    out.write_text("\n".join(lines).rstrip() + "\n")
    return out


def grade_folder(lab: str, folder: Path, dist: Path | None = None) -> Path:
    """Grade every ``*.ipynb`` in ``folder``; writes and returns ``folder/scores.csv``."""
    dist = dist or DIST / lab
    if not dist.exists():
        assign(lab, dist)
    zip_path = autograder_zip(dist)
    rows = []
    for nb in sorted(folder.glob("*.ipynb")):
        scores = grade_one(zip_path, nb)
        total = sum(s for s, _ in scores.values())
        possible = sum(m for _, m in scores.values())
        rows.append({"submission": nb.name, **{q: s for q, (s, _) in scores.items()},
                     "total": total, "possible": possible})
    out = folder / "scores.csv"
    questions = sorted({k for r in rows for k in r} - {"submission", "total", "possible"})
    fields = ["submission", *questions, "total", "possible"]
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    export_manual_answers(folder)
    return out


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"assign", "grade", "manual"}:
        print(__doc__)
        return 2
    if argv[0] == "manual":
        if len(argv) != 2:
            print("usage: python tools/labs.py manual SUBMISSIONS_DIR")
            return 2
        print(export_manual_answers(Path(argv[1]).resolve()).read_text())
        return 0
    if argv[0] == "assign":
        for lab in argv[1:] or lab_names():
            print(f"otter assign {lab} -> {assign(lab).relative_to(ROOT)}")
        return 0
    if len(argv) not in (3, 4):
        print("usage: python tools/labs.py grade LAB SUBMISSIONS_DIR [DIST]")
        return 2
    dist = Path(argv[3]).resolve() if len(argv) == 4 else None
    print(grade_folder(argv[1], Path(argv[2]).resolve(), dist).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
