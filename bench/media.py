"""Benchmark 6(a): the media job's ladder against bare pyvips and Pillow making the same one,
and the job's peak memory for a 50 MP original.

One process, one generated 12 MP photo-like JPEG (smooth colour fields with grain, no ICC
profile). Each contender makes the same 27 files: 9 widths x AVIF (Q52, effort 2), WebP
(Q78) and progressive JPEG (Q80), metadata dropped. Contenders run in turns, `rounds` times;
a ratio is the contender's median wall seconds over the job's (above 1: the job is faster).
CPU seconds are printed too: the machine may be shared, and the job's threads lose most to
other load.
Pillow's AVIF runs at speed 7, which gives files within a few percent of libvips' effort 2:
the same encoder doing the same work. The peak resident size of a 50 MP original is that of
a fresh process running only the job, as a worker would.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyvips
from PIL import Image, ImageOps
from PIL import __version__ as pillow_version

from shopflow.media.ladder import Ladder, plan_widths
from shopflow.media.processing import process

ROW = "{:44} {:>8} {:>7} {:>8} {:>7}  {}"
RSS_TARGET_MIB = 512
_UNBOUNDED = 10_000_000
# VmHWM, not getrusage's ru_maxrss: that survives exec, so it counts the forking parent's pages.
_PEAK = """
import json, re, sys, time
from pathlib import Path
from shopflow.media.ladder import Ladder
from shopflow.media.processing import process
from shopflow.media.failures import MediaError
data = open(sys.argv[1], "rb").read()
started = time.perf_counter()
try:
    outcome = f"{len(process(data, Ladder()).variants)} variants"
except MediaError as e:
    outcome = f"refused: {e.code}"
seconds = time.perf_counter() - started
peak_kib = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1])
print(json.dumps({"seconds": seconds, "outcome": outcome, "peak_kib": peak_kib}))
"""


def photo(width: int, height: int) -> pyvips.Image:
    """Photo-like pixels: smooth fields of colour at a few scales, with sensor-like grain."""
    cells = max(width, height) // 12
    fields = [pyvips.Image.perlin(width, height, cell_size=cells // k, seed=k) for k in (1, 2, 3)]
    grain = pyvips.Image.gaussnoise(width, height, sigma=6, seed=4)
    image = fields[0].bandjoin(fields[1:]) * 110 + 128 + grain
    return image.cast("uchar").copy(interpretation="srgb")


def job(original: bytes, ladder: Ladder, threads: int | None = None) -> int:
    return sum(len(v.data) for v in process(original, ladder, threads=threads).variants)


def bare_pyvips(original: bytes, ladder: Ladder) -> int:
    """The ladder as pyvips' documentation would write it: a thumbnail per width, three saves."""
    header = pyvips.Image.new_from_buffer(original, "")
    total = 0
    for width in plan_widths(header.width, header.height, ladder):
        image = pyvips.Image.thumbnail_buffer(original, width, height=_UNBOUNDED, size="down").copy_memory()
        total += len(
            image.heifsave_buffer(
                compression="av1", Q=ladder.avif_quality, effort=ladder.avif_effort, bitdepth=8, keep="none"
            )
        )
        total += len(image.webpsave_buffer(Q=ladder.webp_quality, effort=4, keep="none"))
        jpeg = {"Q": ladder.jpeg_quality, "interlace": True, "optimize_coding": True}
        total += len(image.jpegsave_buffer(**jpeg, keep="none"))
    return total


def pillow(original: bytes, ladder: Ladder) -> int:
    """The same ladder in Pillow: decode once, upright, one Lanczos resize per width, three saves."""
    with Image.open(io.BytesIO(original)) as opened:
        upright = ImageOps.exif_transpose(opened).convert("RGB")
    total = 0
    for width in plan_widths(upright.width, upright.height, ladder):
        image = upright
        if width < upright.width:
            size = (width, round(upright.height * width / upright.width))
            image = upright.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        for fmt, options in (
            ("AVIF", {"quality": ladder.avif_quality, "speed": 9 - ladder.avif_effort}),
            ("WEBP", {"quality": ladder.webp_quality, "method": 4}),
            ("JPEG", {"quality": ladder.jpeg_quality, "progressive": True, "optimize": True}),
        ):
            out = io.BytesIO()
            image.save(out, fmt, **options)
            total += out.tell()
    return total


def peak_rss(path: Path, env: dict[str, str] | None = None) -> tuple[float, str, float]:
    """Seconds, outcome and peak resident MiB of a fresh process running the job on `path`."""
    argv = [sys.executable, "-c", _PEAK, str(path)]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env, check=True)
    result = json.loads(run.stdout)
    return float(result["seconds"]), str(result["outcome"]), result["peak_kib"] / 1024


def _timed(work: Callable[[], int]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (all this process's threads) and bytes made."""
    started, cpu = time.perf_counter(), time.process_time()
    size = work()
    return time.perf_counter() - started, time.process_time() - cpu, size


def run_speed(rounds: int) -> None:
    ladder = Ladder()
    original = photo(4000, 3000).jpegsave_buffer(Q=90)
    cpus = os.cpu_count() or 1
    contenders: dict[str, Callable[[], int]] = {
        f"the job (process, {min(4, cpus)} encode threads)": lambda: job(original, ladder),
        "the job, one encode thread": lambda: job(original, ladder, threads=1),
        "bare pyvips, same ladder": lambda: bare_pyvips(original, ladder),
        f"Pillow {pillow_version}, same ladder": lambda: pillow(original, ladder),
    }
    print(
        f"12 MP photo-like JPEG ({len(original) / 1e6:.1f} MB), {len(plan_widths(4000, 3000, ladder)) * 3}"
        f" variants; {cpus} CPUs; pyvips {pyvips.__version__} on libvips {pyvips.version(0)}."
        f"{pyvips.version(1)}; median of {rounds} rounds\n"
    )
    walls: dict[str, list[float]] = {name: [] for name in contenders}
    cpus_used: dict[str, list[float]] = {name: [] for name in contenders}
    sizes: dict[str, int] = {}
    names = list(contenders)
    for round_ in range(rounds):
        # A different contender goes first each round: on a shared machine, load comes and goes.
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            wall, cpu, sizes[name] = _timed(contenders[name])
            walls[name].append(wall)
            cpus_used[name].append(cpu)
    print(ROW.format("contender", "seconds", "CPU s", "MB out", "ratio", "target"))
    the_job = statistics.median(walls[names[0]])
    targets = {"bare pyvips": 0.9, "Pillow": 2.0}
    for name in names:
        wall = statistics.median(walls[name])
        ratio = wall / the_job
        target = next((t for key, t in targets.items() if name.startswith(key)), None)
        verdict = ""
        if target is not None:
            verdict = f"job >= {target}x as fast  {'ok' if ratio >= target else 'MISSED'}"
        cpu = f"{statistics.median(cpus_used[name]):.2f}"
        figures = (f"{wall:.2f}", cpu, f"{sizes[name] / 1e6:.2f}", f"{ratio:.2f}x")
        print(ROW.format(name, *figures, verdict), flush=True)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {cpus} CPUs")


def run_memory() -> None:
    big = photo(8660, 5773)  # 49.99 MP, just under the default max_pixels
    originals: dict[str, Callable[[], bytes]] = {
        "50 MP JPEG Q90": lambda: big.jpegsave_buffer(Q=90),
        "50 MP PNG": lambda: big.pngsave_buffer(compression=1),
        "50 MP AVIF": lambda: big.heifsave_buffer(compression="av1", Q=60, effort=0),
        # AVIF is decoded whole: the largest the default ladder takes (max_heif_pixels)
        "28 MP AVIF": lambda: big.crop(0, 0, 6480, 4320).heifsave_buffer(compression="av1", Q=60, effort=0),
    }
    arenas = {**os.environ, "MALLOC_ARENA_MAX": "2"}
    print("\n" + ROW.format("peak RSS, a fresh process running the job", "seconds", "", "MiB", "", "target"))
    with tempfile.TemporaryDirectory(prefix="shopflow-bench-media-") as tmp:
        for name, encode in originals.items():
            path = Path(tmp) / "original"
            path.write_bytes(encode())
            for label, env in (("", None), (", MALLOC_ARENA_MAX=2", arenas)):
                seconds, outcome, mib = peak_rss(path, env)
                verdict = (
                    f"<= {RSS_TARGET_MIB} MiB  {'ok' if mib <= RSS_TARGET_MIB else 'MISSED'}  ({outcome})"
                )
                what = f"{name} ({path.stat().st_size / 1e6:.0f} MB){label}"
                print(ROW.format(what, f"{seconds:.1f}", "", f"{mib:.0f}", "", verdict), flush=True)


def run_media(args: argparse.Namespace) -> None:
    """Benchmark 6(a), printed as ratios and figures; no assertions."""
    run_speed(args.rounds)
    run_memory()
