"""Broadcast loudness with ffmpeg's `loudnorm` (EBU R128), two passes.

The first pass measures the sound exactly as the render will feed it to loudnorm (same input, same
padding and trim); the second, inside the render's one ffmpeg run, applies the measured values
with linear=true: one gain for the whole track when that keeps the true peak under the ceiling,
else loudnorm's own dynamic mode (with its limiter). loudnorm works at 192 kHz internally, so its
output is resampled to the 48 kHz the AAC track carries.

The figures are loudnorm's JSON report (`print_format=json`, on stderr at log level info).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

TARGET_I = -14.0  # LUFS integrated: what the short-video platforms normalise to
TARGET_TP = -1.0  # dBTP: the ceiling the output must stay under
# loudnorm aims a little under the ceiling: the AAC encoder's inter-sample overshoot is a few
# tenths of a dB, and the measured output (not loudnorm's own output) must stay under TARGET_TP.
AIM_TP = -1.5
TARGET_LRA = 20.0  # wide: speech is not to be compressed to reach a loudness range
SAMPLE_RATE = 48000
SILENCE = -70.0  # LUFS: loudnorm's gate; a track below it is silence

_JSON_RE = re.compile(r"\{[^{}]*\"input_i\"[^{}]*\}", re.S)


@dataclass(frozen=True)
class Loudness:
    integrated: float  # LUFS; SILENCE when there is nothing above the gate
    true_peak: float  # dBTP; -inf clamped to -99
    lra: float
    threshold: float
    offset: float

    @property
    def silent(self) -> bool:
        return self.integrated <= SILENCE


def measure_filter() -> str:
    """The filter that measures (first pass, and the output's self-check)."""
    return f"loudnorm=I={TARGET_I:g}:TP={AIM_TP:g}:LRA={TARGET_LRA:g}:print_format=json"


def _number(value, floor: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return floor
    return number if math.isfinite(number) and number > floor else floor


def parse(stderr: str) -> Loudness | None:
    """loudnorm's last JSON report in ffmpeg's stderr; None when there is none."""
    found = _JSON_RE.findall(stderr)
    if not found:
        return None
    data = json.loads(found[-1])
    return Loudness(
        integrated=_number(data.get("input_i"), SILENCE),
        true_peak=_number(data.get("input_tp"), -99.0),
        lra=_number(data.get("input_lra"), 0.0),
        threshold=_number(data.get("input_thresh"), SILENCE),
        offset=_number(data.get("target_offset"), -99.0),
    )


def apply_filter(measured: Loudness) -> str:
    """The second pass's filters: loudnorm with the first pass's figures, then 48 kHz. Silence is
    left alone (there is no gain that makes it -14 LUFS)."""
    if measured.silent:
        return f"aresample={SAMPLE_RATE}"
    return (
        f"loudnorm=I={TARGET_I:g}:TP={AIM_TP:g}:LRA={TARGET_LRA:g}"
        f":measured_I={measured.integrated:.2f}:measured_TP={measured.true_peak:.2f}"
        f":measured_LRA={measured.lra:.2f}:measured_thresh={measured.threshold:.2f}"
        f":offset={measured.offset:.2f}:linear=true,aresample={SAMPLE_RATE}"
    )


def problems(measured: Loudness | None) -> list[str]:
    """Sentences about the output's measured loudness; empty when it is on target."""
    if measured is None:
        return ["The output's loudness could not be measured."]
    if measured.silent:
        return ["The output's audio is silent."]
    found = []
    if abs(measured.integrated - TARGET_I) > 1.0:
        found.append(f"The output's loudness is {measured.integrated:.1f} LUFS, not {TARGET_I:g} ± 1 LUFS.")
    if measured.true_peak > TARGET_TP:
        found.append(f"The output's true peak is {measured.true_peak:.1f} dBTP, above {TARGET_TP:g} dBTP.")
    return found
