#!/usr/bin/env python3
"""Held-out leak scenarios: the same generator (gen.py) with other seeds and
parameters, and one kind gen.py lacks (a leak that stops). The detector is
not tuned on these; they check that it did not learn the public set by heart.

    python3 heldout.py                 # writes ./data-heldout
"""
import os

import numpy as np

import gen
from gen import GiB, H, MB, MIN, MiB, PEAK, spec


def k_leak_stop(s, base, rate, amp, period, noise, leak_start, leak_end):
    """A leak that is fixed (or whose cause goes away) without a restart."""
    s.x += base + rate * np.clip(s.t - leak_start, 0, leak_end - leak_start)
    s.x += gen.sawtooth(s.t, s.rng, amp, period)
    s.noise(noise)
    peak = base + PEAK * amp
    s.leak_segment(leak_start, leak_end, rate, peak)
    s.finish_leak_truth(rate, peak)


KINDS = dict(gen.KINDS, leak_stop=k_leak_stop)

HELDOUT = [
    # ---- no leak
    spec("h_flat_big_saw_10min", "gc_sawtooth", 12, 2101, 4 * GiB,
         "1.2 GB + 400 MB sawtooth every ~10 min.",
         base=1200 * MB, amp=400 * MB, period=600, noise=3 * MB, burst_per_h=1),
    spec("h_gc_tiny_fast", "gc_sawtooth", 8, 2102, 512 * MiB,
         "150 MB + 20 MB sawtooth every ~30 s.",
         base=150 * MB, amp=20 * MB, period=30, noise=0.5 * MB),
    spec("h_flat_big_bursts", "flat", 12, 2103, 2 * GiB,
         "800 MB with ~3 bursts/h of 100-200 MB.",
         base=800 * MB, noise=2 * MB, burst_per_h=3, burst=(100 * MB, 200 * MB)),
    spec("h_warmup_exp_60m_saw200", "warmup", 8, 2104, 2 * GiB,
         "100 -> 900 MB, 95 % at 60 min, 200 MB / 3 min sawtooth.",
         start=100 * MB, plateau=900 * MB, w95=60 * MIN, shape="exp", amp=200 * MB, period=180,
         noise=2 * MB),
    spec("h_warmup_log_90m", "warmup", 8, 2105, 1 * GiB,
         "50 -> 400 MB, log warm-up over 90 min, 60 MB / 60 s sawtooth.",
         start=50 * MB, plateau=400 * MB, w95=90 * MIN, shape="log", amp=60 * MB, period=60,
         noise=1 * MB),
    spec("h_deploy_step_300", "deploy_step", 10, 2106, 2 * GiB,
         "+300 MB in place at 3 h, 150 MB / 2 min sawtooth.",
         base=600 * MB, step=300 * MB, at=3 * H, amp=150 * MB, period=120, noise=2 * MB),
    spec("h_crash_loop", "restart", 6, 2107, 1 * GiB,
         "Crash loop: restarts every ~12 min for 2 h, then stable.",
         start=50 * MB, plateau=400 * MB, w95=20 * MIN,
         restarts=[1 * H + k * 12 * MIN for k in range(10)], amp=50 * MB, period=60, noise=1 * MB),
    spec("h_daily_wave_strong_b", "daily_wave", 24, 2108, 4 * GiB,
         "+-300 MB daily wave around 1.6 GB, other phase.",
         base=1600 * MB, wave=300 * MB, amp=250 * MB, period=240, noise=3 * MB, phase_h=4.0),
    # ---- leak
    spec("h_leak_1mb_min_saw400_10min", "linear_leak", 12, 2201, 2 * GiB,
         "1 MB/min under a 400 MB / 10 min sawtooth, 700 MB base.",
         base=700 * MB, rate=MB / MIN, amp=400 * MB, period=600, noise=3 * MB),
    spec("h_leak_2mb_min_saw100_45s", "linear_leak", 6, 2202, 2 * GiB,
         "2 MB/min under a 100 MB / 45 s sawtooth, 300 MB base.",
         base=300 * MB, rate=2 * MB / MIN, amp=100 * MB, period=45, noise=1 * MB),
    spec("h_slow_leak_15mb_h", "slow_leak", 24, 2203, 1 * GiB,
         "15 MB/h at 500 MB with 20 MB ripple.",
         base=500 * MB, rate=15 * MB / H, amp=20 * MB, period=90, noise=1 * MB),
    spec("h_delayed_leak_4h", "delayed_leak", 12, 2204, 2 * GiB,
         "Healthy 4 h after a 60 min warm-up, then 1 MB/min under 150 MB sawtooth.",
         base=700 * MB, rate=MB / MIN, amp=150 * MB, period=150, noise=2 * MB,
         leak_start=4 * H, warmup=(100 * MB, 60 * MIN)),
    spec("h_leak_restarts_oom_fast", "leak_restarts", 12, 2205, 1 * GiB,
         "5 MB/min leak, OOM-killed at the limit (~every 2.5 h).",
         start=60 * MB, plateau=200 * MB, w95=10 * MIN, rate=5 * MB / MIN, amp=40 * MB,
         period=60, noise=1 * MB, oom=True),
    spec("h_leak_stops", "leak_stop", 12, 2206, 1 * GiB,
         "1.5 MB/min from 1 h to 5 h under a 80 MB sawtooth, then fixed.",
         base=400 * MB, rate=1.5 * MB / MIN, amp=80 * MB, period=120, noise=1 * MB,
         leak_start=1 * H, leak_end=5 * H),
]

if __name__ == "__main__":
    gen.main(HELDOUT, KINDS, default_out=os.path.join(os.path.dirname(__file__) or ".", "data-heldout"))
