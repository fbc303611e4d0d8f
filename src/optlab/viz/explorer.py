"""One update function, two renderings: a live widget in JupyterLab, slider frames in HTML.

A chapter describes an interactive figure once, as an :class:`Explorer`:

* a base figure, whose traces are styled once (colours, names, axes);
* an ``update(**values)`` function that re-runs the chapter's algorithm for the
  control values and returns what changes, as a :class:`Frame` (new data for some
  traces, optionally new layout properties such as a title that reports a rate);
* controls (:func:`slider`, :func:`log_slider`, :func:`dropdown`), each with the
  values the static book shows.

In a kernel (JupyterLab, nbval) the explorer is shown as ipywidgets controls driving a
plotly ``FigureWidget``: every change calls ``update`` again, so the reader runs the
real, jitted library.  In the book build (``OPTLAB_STATIC_FIGURES=1``, set by
``make book``) it is shown as an ordinary plotly figure whose slider steps are the
frames ``update`` returned for the controls' static values, so the HTML works
offline and cannot drift from the live figure: both come from the same function.

Example::

    fig = go.Figure([go.Scatter(name="GD", mode="lines")])

    def update(learning_rate):
        losses = run_gd(learning_rate)          # a jitted function of the step size
        return viz.Frame({0: {"x": np.arange(len(losses)), "y": losses}},
                         layout={"title.text": f"η = {learning_rate:.3g}"})

    viz.Explorer(fig, update, {
        "learning_rate": viz.log_slider("η", [0.01, 0.1, 1.0], value=0.1, bounds=(1e-3, 2.0)),
    })

Keep ``update`` fast (compile once per shape: pass hyper-parameters as traced
arguments of a module-level ``jax.jit``, never close over them), so that the live
figure answers within 100 ms after its first call.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .core import format_number, slider_menu

__all__ = [
    "Control",
    "Explorer",
    "Frame",
    "STATIC_ENV",
    "SKIP_ENV",
    "STRICT_ENV",
    "dropdown",
    "experiment",
    "log_slider",
    "slider",
    "static_figures",
]

STATIC_ENV = "OPTLAB_STATIC_FIGURES"
"""Environment variable: ``"1"`` shows explorers as static slider figures (the book build)."""

STRICT_ENV = "OPTLAB_STRICT_EXPERIMENTS"
SKIP_ENV = "OPTLAB_SKIP_EXPERIMENTS"
"""Environment variable: ``"1"`` makes :func:`experiment` build nothing (the lab tests' grading)."""
"""Environment variable: ``"1"`` makes :func:`experiment` raise (nbval over the labs' masters)."""

_SIGNIFICANT_DIGITS = 5


def static_figures() -> bool:
    """Whether explorers render as static slider figures (``OPTLAB_STATIC_FIGURES=1``).

    Returns:
      ``True`` in the book build (``make book`` sets the variable), ``False`` in a
      reader's or a student's kernel.
    """
    return os.environ.get(STATIC_ENV, "") == "1"


@dataclass(frozen=True)
class Frame:
    """What one call of an explorer's ``update`` changes in its figure.

    Attributes:
      traces: ``trace index ↦ {property: value}``, e.g. ``{0: {"x": xs, "y": ys}}``.
        Property names are plotly's (``"y"``, ``"marker.color"``, ``"z"``); arrays
        are stored to 5 significant digits in the static figure.
      layout: ``{property: value}`` for the layout, e.g. ``{"title.text": "..."}``.
    """

    traces: Mapping[int, Mapping[str, Any]]
    layout: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Control:
    """A control of an :class:`Explorer` (built by :func:`slider`, :func:`log_slider`, :func:`dropdown`).

    Attributes:
      label: the text shown beside the control (the chapter's notation, e.g. ``"η"``).
      values: the values the static HTML offers, one slider step each.
      value: the value shown first (one of ``values``).
      kind: ``"slider"``, ``"log_slider"`` or ``"dropdown"``.
      bounds: ``(low, high)`` of the live slider (sliders only).
      step: the live slider's increment (``slider``) or exponent increment (``log_slider``).
    """

    label: str
    values: tuple
    value: Any
    kind: str
    bounds: tuple[float, float] | None = None
    step: float | None = None

    def widget(self):
        """A new ipywidgets control for the live figure.

        Returns:
          A ``FloatSlider``, ``FloatLogSlider`` or ``Dropdown`` set to :attr:`value`.
        """
        import ipywidgets

        style = {"description_width": "initial"}
        layout = ipywidgets.Layout(width="420px")
        if self.kind == "dropdown":
            return ipywidgets.Dropdown(
                options=list(self.values), value=self.value, description=self.label, style=style
            )
        assert self.bounds is not None and self.step is not None
        low, high = self.bounds
        if self.kind == "log_slider":
            return ipywidgets.FloatLogSlider(
                value=float(self.value),
                base=10,
                min=math.log10(low),
                max=math.log10(high),
                step=self.step,
                description=self.label,
                readout_format=".3g",
                continuous_update=True,
                style=style,
                layout=layout,
            )
        return ipywidgets.FloatSlider(
            value=float(self.value),
            min=low,
            max=high,
            step=self.step,
            description=self.label,
            readout_format=".3g",
            continuous_update=True,
            style=style,
            layout=layout,
        )


def _check_values(label: str, values: Sequence[Any], value: Any) -> tuple[tuple, Any]:
    if not isinstance(label, str) or not label:
        raise ValueError(f"label must be a non-empty string, got {label!r}")
    values = tuple(values)
    if not values:
        raise ValueError(f"values of control {label!r} must not be empty")
    if value is None:
        value = values[len(values) // 2]
    if value not in values:
        raise ValueError(f"value {value!r} of control {label!r} must be one of its values {values}")
    return values, value


def _numbers(label: str, values: tuple, positive: bool) -> None:
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"values of slider {label!r} must be numbers, got {v!r}")
        if not math.isfinite(float(v)) or (positive and float(v) <= 0):
            kind = "positive finite" if positive else "finite"
            raise ValueError(f"values of slider {label!r} must be {kind} numbers, got {v!r}")


def slider(
    label: str,
    values: Sequence[float],
    *,
    value: float | None = None,
    bounds: tuple[float, float] | None = None,
    step: float | None = None,
) -> Control:
    """A linear slider.

    Args:
      label: the text beside the slider.
      values: the values of the static figure's slider steps.
      value: the first value shown (default: the middle of ``values``).
      bounds: the live slider's range (default: ``(min(values), max(values))``).
      step: the live slider's increment (default: range / 100).

    Returns:
      A :class:`Control`.

    Raises:
      ValueError: if ``values`` is empty or not finite, ``value`` is not among them,
        or ``bounds`` does not contain them.
    """
    values, value = _check_values(label, values, value)
    _numbers(label, values, positive=False)
    low, high = bounds if bounds is not None else (min(values), max(values))
    if not low < high:
        raise ValueError(f"bounds of slider {label!r} must satisfy low < high, got {(low, high)}")
    if min(values) < low or max(values) > high:
        raise ValueError(f"bounds {(low, high)} of slider {label!r} must contain its values {values}")
    step = (high - low) / 100 if step is None else step
    if not step > 0:
        raise ValueError(f"step of slider {label!r} must be positive, got {step!r}")
    return Control(label, values, value, "slider", (float(low), float(high)), float(step))


def log_slider(
    label: str,
    values: Sequence[float],
    *,
    value: float | None = None,
    bounds: tuple[float, float] | None = None,
    step: float = 0.02,
) -> Control:
    """A slider on a log scale (step sizes, regularisation strengths).

    Args:
      label: the text beside the slider.
      values: the (positive) values of the static figure's slider steps.
      value: the first value shown (default: the middle of ``values``).
      bounds: the live slider's range (default: ``(min(values), max(values))``).
      step: the live slider's increment of ``log10`` of the value.

    Returns:
      A :class:`Control`.

    Raises:
      ValueError: if a value is not positive, ``value`` is not among ``values``, or
        ``bounds`` does not contain them.
    """
    values, value = _check_values(label, values, value)
    _numbers(label, values, positive=True)
    low, high = bounds if bounds is not None else (min(values), max(values))
    if not 0 < low < high:
        raise ValueError(f"bounds of log slider {label!r} must satisfy 0 < low < high, got {(low, high)}")
    if min(values) < low or max(values) > high:
        raise ValueError(f"bounds {(low, high)} of log slider {label!r} must contain its values {values}")
    if not step > 0:
        raise ValueError(f"step of log slider {label!r} must be positive, got {step!r}")
    return Control(label, values, value, "log_slider", (float(low), float(high)), float(step))


def dropdown(label: str, options: Sequence[Any], *, value: Any = None) -> Control:
    """A choice among a few options (a method, a problem, a schedule).

    Args:
      label: the text beside the menu.
      options: the choices (strings or numbers); the static figure has one step each.
      value: the first choice shown (default: the first option).

    Returns:
      A :class:`Control`.

    Raises:
      ValueError: if ``options`` is empty or ``value`` is not among them.
    """
    options = tuple(options)
    value = options[0] if value is None and options else value
    options, value = _check_values(label, options, value)
    return Control(label, options, value, "dropdown")


def experiment(build: Callable[[], Any], *, needs: str) -> Any:
    """A lab's experiment, or one line saying which question to finish first.

    A lab's experiment cell runs the student's own functions.  In the student notebook,
    before they are written, building the explorer fails (the functions return ``None`` or
    ``...``); "Run All" must still reach the end, so the cell prints what is missing and
    returns ``None`` instead of raising.  With ``OPTLAB_STRICT_EXPERIMENTS=1`` (set by
    ``make test`` for nbval over the labs' masters, where the solutions are written) the
    error is raised, so a broken experiment cannot hide.  With ``OPTLAB_SKIP_EXPERIMENTS=1``
    (set by the lab tests' one-kernel grading of wrong solutions, where the experiment is
    not graded) nothing is built and ``None`` is returned.

    Args:
      build: ``build() -> Explorer`` (or any figure): builds the experiment.
      needs: what the experiment runs, for the message, e.g. ``"your sinkhorn (Question 1)"``.

    Returns:
      What ``build`` returned, or ``None`` when it raised or was skipped.

    Raises:
      TypeError: ``build`` not callable or ``needs`` not a string.
      Exception: whatever ``build`` raised, when ``OPTLAB_STRICT_EXPERIMENTS=1``.
    """
    if not callable(build):
        raise TypeError(f"build must be a callable returning the experiment, got {type(build).__name__}")
    if not isinstance(needs, str):
        raise TypeError(f"needs must be a string naming what the experiment runs, got {type(needs).__name__}")
    if os.environ.get(SKIP_ENV, "") == "1":
        print(f"The experiment (it runs {needs}) is skipped: {SKIP_ENV}=1.")
        return None
    try:
        return build()
    except Exception as err:
        if os.environ.get(STRICT_ENV, "") == "1":
            raise
        print(f"This experiment runs {needs}: finish it first, then run this cell again.")
        print(f"(building it raised {type(err).__name__}: {str(err)[:200]})")
        return None


def _round_significant(a: np.ndarray) -> list:
    """Floats rounded to 5 significant digits, non-finite values as ``None`` (JSON null)."""
    a = a.astype(float)
    finite = np.isfinite(a)
    safe = np.where(finite & (a != 0), np.abs(a), 1.0)
    # the rounding step 10**(e - 4) for a value of magnitude 10**e, never below 1e-307 (a
    # normal float): dividing by the step (not multiplying by its inverse, which overflows
    # for |a| < 1e-303) keeps subnormal values finite; they round to multiples of 1e-307
    step = 10.0 ** np.maximum(np.floor(np.log10(safe)) - (_SIGNIFICANT_DIGITS - 1), -307.0)
    with np.errstate(over="ignore"):  # 1.79769e308 rounds up past the largest float
        rounded = np.round(np.where(finite, a, 0.0) / step) * step
    rounded = np.where(np.isinf(rounded), np.sign(a) * np.finfo(float).max, rounded)
    rounded = np.where(finite, rounded, np.nan)
    out = rounded.astype(object)
    out[~finite] = None
    return out.tolist()


def _compact(v: Any) -> Any:
    """Arrays to nested lists of 5-significant-digit floats (smaller HTML); the rest unchanged."""
    if isinstance(v, (str, dict)) or v is None:
        return v
    if isinstance(v, (list, tuple)) and any(isinstance(x, str) for x in v):
        return list(v)
    a = np.asarray(v)
    if a.dtype.kind == "c":
        raise TypeError("complex values cannot be plotted")
    if a.dtype.kind == "f":
        return _round_significant(a) if a.ndim else _round_significant(a[None])[0]
    return a.tolist()


class Explorer:
    """An interactive figure defined once, shown live in a kernel and as slider frames in HTML.

    Args:
      figure: the base figure: every trace that ``update`` changes must already exist
        (styled, possibly empty).
      update: ``update(**values) -> Frame``, called with one value per control (by the
        controls' names).
      controls: ``name ↦ Control``; the names are ``update``'s keyword arguments.
      static: the names of the controls the static figure sweeps (default: all).  With
        several, the static slider steps through every combination (at most
        ``max_frames``); the other controls stay at their ``value``.
      max_frames: the largest number of static frames allowed (the HTML grows with it).

    Raises:
      ValueError: if there is no control, a name in ``static`` is not a control, or the
        static frames would exceed ``max_frames``.
      TypeError: if ``update`` is not callable or a control is not a :class:`Control`.
    """

    def __init__(
        self,
        figure: go.Figure,
        update: Callable[..., Frame],
        controls: Mapping[str, Control],
        *,
        static: Sequence[str] | None = None,
        max_frames: int = 64,
    ):
        if not isinstance(figure, go.Figure):
            raise TypeError(f"figure must be a plotly go.Figure, got {type(figure).__name__}")
        if not callable(update):
            raise TypeError(f"update must be callable, got {type(update).__name__}")
        if not controls:
            raise ValueError("controls must name at least one control")
        for name, c in controls.items():
            if not isinstance(c, Control):
                raise TypeError(
                    f"control {name!r} must be a Control (viz.slider, ...), got {type(c).__name__}"
                )
        static = list(controls) if static is None else list(static)
        unknown = [s for s in static if s not in controls]
        if unknown or not static:
            raise ValueError(f"static must name some of the controls {list(controls)}, got {static}")
        n_frames = math.prod(len(controls[s].values) for s in static)
        if n_frames > max_frames:
            raise ValueError(
                f"the static figure would have {n_frames} frames (> max_frames={max_frames}): "
                "offer fewer values or sweep fewer controls"
            )
        self.figure = figure
        self.update = update
        self.controls = dict(controls)
        self.static = static
        self.last_latency_s: float | None = None

    # -- the one place where update's result is checked -------------------------------
    def frame(self, **values: Any) -> Frame:
        """Call ``update`` with every control's value (defaults for the ones not given).

        Args:
          **values: control values by name.

        Returns:
          The :class:`Frame` ``update`` returned.

        Raises:
          ValueError: if a name is not a control, or ``update`` refers to a trace the
            base figure does not have.
          TypeError: if ``update`` does not return a :class:`Frame`.
        """
        unknown = [k for k in values if k not in self.controls]
        if unknown:
            raise ValueError(f"unknown controls {unknown}; the controls are {list(self.controls)}")
        args = {name: c.value for name, c in self.controls.items()} | values
        out = self.update(**args)
        if not isinstance(out, Frame):
            raise TypeError(f"update must return a viz.Frame, got {type(out).__name__}")
        n = len(self.figure.data)
        bad = [i for i in out.traces if not (isinstance(i, (int, np.integer)) and 0 <= i < n)]
        if bad:
            raise ValueError(f"update changed traces {bad}, but the figure has traces 0..{n - 1}")
        return out

    # -- static rendering ---------------------------------------------------------------
    def static_figure(self) -> go.Figure:
        """The figure with one slider step per combination of the static controls' values.

        Returns:
          A ``go.Figure`` that works without a kernel (the book's HTML); its first
          step shows the controls' default values.
        """
        names = self.static
        combos = list(itertools.product(*(self.controls[n].values for n in names)))
        frames = [self.frame(**dict(zip(names, combo, strict=True))) for combo in combos]
        default = tuple(self.controls[n].value for n in names)
        active = combos.index(default)
        fig = go.Figure(self.figure)
        _apply(fig, frames[active], compact=True)
        # Every step sets the same trace properties (the union over the frames), so
        # that a step never leaves another step's data behind.
        indices = sorted({i for fr in frames for i in fr.traces})
        keys = sorted({k for fr in frames for tr in fr.traces.values() for k in tr})
        layout_keys = sorted({k for fr in frames for k in fr.layout})
        base = {i: {k: _get(self.figure.data[i], k) for k in keys} for i in indices}
        base_layout = {k: _get(self.figure.layout, k) for k in layout_keys}
        steps = []
        for fr in frames:
            data = {
                k: [_compact(fr.traces.get(i, {}).get(k, base[i][k])) for i in indices]
                for k in keys
                if any(k in fr.traces.get(i, {}) or base[i][k] is not None for i in indices)
            }
            layout = {k: _compact(fr.layout.get(k, base_layout[k])) for k in layout_keys}
            steps.append(("update", [data, layout, indices]))
        labels = [
            " · ".join(
                f"{self.controls[n].label} = {format_number(v)}" if len(names) > 1 else format_number(v)
                for n, v in zip(names, combo, strict=True)
            )
            for combo in combos
        ]
        prefix = f"{self.controls[names[0]].label} = " if len(names) == 1 else ""
        sliders = list(fig.layout.sliders or []) + [slider_menu(labels, prefix, steps, active=active)]
        fig.update_layout(sliders=sliders)
        return fig

    # -- live rendering -----------------------------------------------------------------
    def widget(self):
        """The live figure: ipywidgets controls above a plotly ``FigureWidget``.

        Every change of a control calls ``update`` and applies its frame in one batch.
        The returned box has ``.figure`` (the ``FigureWidget``), ``.controls``
        (name ↦ ipywidgets control) and ``.refresh()``; the explorer's
        ``last_latency_s`` holds the time of the last update in Python.

        Returns:
          An ``ipywidgets.VBox`` with the CSS class ``optlab-explorer``.
        """
        import ipywidgets

        fig = go.FigureWidget(self.figure)
        widgets = {name: c.widget() for name, c in self.controls.items()}

        def refresh(_change=None):
            start = time.perf_counter()
            fr = self.frame(**{name: w.value for name, w in widgets.items()})
            with fig.batch_update():
                _apply(fig, fr)
            self.last_latency_s = time.perf_counter() - start

        for w in widgets.values():
            w.observe(refresh, names="value")
        refresh()
        box = ipywidgets.VBox([*widgets.values(), fig])
        box.add_class("optlab-explorer")
        box.figure = fig
        box.controls = widgets
        box.refresh = refresh
        return box

    def _repr_mimebundle_(self, include=None, exclude=None):
        if static_figures():
            from .core import pio

            return pio.renderers["optlab"].to_mimebundle(self.static_figure().to_dict())
        return self.widget()._repr_mimebundle_(include=include, exclude=exclude)


def _get(obj: Any, key: str) -> Any:
    try:
        v = obj[key]
    except (KeyError, ValueError):
        return None
    return v.to_plotly_json() if hasattr(v, "to_plotly_json") else v


def _apply(fig: go.Figure, frame: Frame, compact: bool = False) -> None:
    """Set a frame's properties on ``fig`` (rounded when ``compact``, for the static HTML)."""
    for i, props in frame.traces.items():
        for k, v in props.items():
            fig.data[i][k] = _compact(v) if compact else _plain(v)
    for k, v in frame.layout.items():
        fig.layout[k] = _compact(v) if compact else _plain(v)


def _plain(v: Any) -> Any:
    """JAX arrays to NumPy (plotly serialises NumPy arrays as binary buffers: fast)."""
    if hasattr(v, "__jax_array__") or type(v).__module__.startswith("jax"):
        return np.asarray(v)
    return v
