"""The dashboard's chart as plain geometry, drawn by a template as inline SVG (no script).

One stacked bar per 5-minute bucket: succeeded attempts at the bottom, failed ones on top.
The margins leave room for the labels at twice their size, which is how a phone draws them
(admin.css) so that a chart shrunk to half its width stays readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from django_jobs.admin.stats import Bucket

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 16, 34
#: Between an axis and its labels.
GAP = 6


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # "succeeded" or "failed"
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    x_labels: list[Label]
    y_labels: list[Label]
    baseline: float
    top: float
    left: float
    right: float


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... at or above ``value`` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def short_number(value: int) -> str:
    """An axis label that stays narrow: ``950``, ``1k``, ``2.5k``, ``1.5M``."""
    for size, unit in ((1_000_000, "M"), (1000, "k")):
        if value >= size:
            return f"{value / size:g}{unit}"
    return str(value)


def build(buckets: Sequence[Bucket]) -> Chart:
    """Bars and axis labels for ``buckets`` on a ``WIDTH`` x ``HEIGHT`` canvas."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    scale = nice_ceiling(max((b.succeeded + b.failed for b in buckets), default=0))
    slot = plot_width / max(len(buckets), 1)
    bars, x_labels = [], []
    for i, bucket in enumerate(buckets):
        x = LEFT + i * slot + slot * 0.15
        ok_height = plot_height * bucket.succeeded / scale
        failed_height = plot_height * bucket.failed / scale
        start = timezone.localtime(bucket.start).strftime("%H:%M")
        title = f"{start}: {bucket.succeeded} succeeded, {bucket.failed} failed"
        bars.append(Bar(x, baseline - ok_height, slot * 0.7, ok_height, "succeeded", title))
        top = baseline - ok_height - failed_height
        bars.append(Bar(x, top, slot * 0.7, failed_height, "failed", title))
        if i % 2 == 0:
            x_labels.append(Label(LEFT + i * slot + slot / 2, baseline + GAP, start))
    fractions = (0, 0.5, 1) if scale % 2 == 0 else (0, 1)
    y_labels = [
        Label(LEFT - GAP, baseline - plot_height * f, short_number(int(scale * f)))
        for f in fractions
    ]
    return Chart(WIDTH, HEIGHT, bars, x_labels, y_labels, baseline, TOP, LEFT, WIDTH - RIGHT)
