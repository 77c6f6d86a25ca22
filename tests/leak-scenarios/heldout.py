#!/usr/bin/env python3
"""Held-out leak scenarios: the same generator (gen.py) with other seeds and
parameters, and one kind gen.py lacks (a leak that stops). The detector is
not tuned on these; they check that it did not learn the public set by heart.

    python3 heldout.py                 # writes ./data-heldout   (set 1)
    python3 heldout.py --set2          # writes ./data-heldout2  (set 2)

Set 1 was scored once the detector passed the public set; set 2 was made
(new seeds, new parameters) only after the detector's tuning was frozen.
"""
import os
import sys

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

HELDOUT2 = [
    # ---- no leak
    spec("h2_saw_300mb_7min", "gc_sawtooth", 12, 3101, 4 * GiB,
         "1 GB + 300 MB sawtooth every ~7 min, bursts.",
         base=1000 * MB, amp=300 * MB, period=420, noise=3 * MB, burst_per_h=2),
    spec("h2_gc_30mb_40s", "gc_sawtooth", 8, 3102, 512 * MiB,
         "200 MB + 30 MB sawtooth every ~40 s.",
         base=200 * MB, amp=30 * MB, period=40, noise=0.5 * MB),
    spec("h2_flat_bursts", "flat", 12, 3103, 2 * GiB,
         "500 MB with ~5 bursts/h of 50-150 MB.",
         base=500 * MB, noise=2 * MB, burst_per_h=5, burst=(50 * MB, 150 * MB)),
    spec("h2_warmup_exp_75m", "warmup", 8, 3104, 2 * GiB,
         "120 -> 700 MB, 95 % at 75 min, 120 MB / 4 min sawtooth.",
         start=120 * MB, plateau=700 * MB, w95=75 * MIN, shape="exp", amp=120 * MB, period=240,
         noise=2 * MB),
    spec("h2_warmup_log_60m", "warmup", 8, 3105, 1 * GiB,
         "40 -> 350 MB, log warm-up over 60 min, 50 MB / 45 s sawtooth.",
         start=40 * MB, plateau=350 * MB, w95=60 * MIN, shape="log", amp=50 * MB, period=45,
         noise=1 * MB),
    spec("h2_deploy_restart", "deploy_step", 10, 3106, 2 * GiB,
         "Restart at 2 h into a version 250 MB higher after a 45 min warm-up.",
         base=500 * MB, step=250 * MB, at=2 * H, amp=100 * MB, period=150, noise=2 * MB,
         restart=True, w95=45 * MIN, start=80 * MB, gap=30),
    spec("h2_crash_loop", "restart", 6, 3107, 1 * GiB,
         "Crash loop: restarts every ~8 min for 90 min, then stable.",
         start=60 * MB, plateau=300 * MB, w95=15 * MIN,
         restarts=[2 * H + k * 8 * MIN for k in range(11)], amp=40 * MB, period=50, noise=1 * MB),
    spec("h2_daily_wave", "daily_wave", 24, 3108, 4 * GiB,
         "+-250 MB daily wave around 1.4 GB.",
         base=1400 * MB, wave=250 * MB, amp=180 * MB, period=200, noise=3 * MB, phase_h=8.0),
    # ---- leak
    spec("h2_leak_1_2mb_min_saw300", "linear_leak", 12, 3201, 2 * GiB,
         "1.2 MB/min under a 300 MB / 7 min sawtooth, 500 MB base.",
         base=500 * MB, rate=1.2 * MB / MIN, amp=300 * MB, period=420, noise=2 * MB),
    spec("h2_leak_1_5mb_min_saw150_60s", "linear_leak", 8, 3202, int(1.5 * GiB),
         "1.5 MB/min under a 150 MB / 60 s sawtooth, 350 MB base, bursts.",
         base=350 * MB, rate=1.5 * MB / MIN, amp=150 * MB, period=60, noise=1 * MB,
         burst_per_h=1),
    spec("h2_slow_leak_12mb_h", "slow_leak", 24, 3203, 768 * MiB,
         "12 MB/h at 400 MB with 15 MB ripple.",
         base=400 * MB, rate=12 * MB / H, amp=15 * MB, period=75, noise=1 * MB),
    spec("h2_delayed_leak_3h", "delayed_leak", 12, 3204, int(1.5 * GiB),
         "Healthy 3 h after a 40 min warm-up, then 0.8 MB/min under 80 MB sawtooth.",
         base=500 * MB, rate=0.8 * MB / MIN, amp=80 * MB, period=100, noise=1 * MB,
         leak_start=3 * H, warmup=(80 * MB, 40 * MIN)),
    spec("h2_leak_restarts_oom", "leak_restarts", 12, 3205, 1 * GiB,
         "4 MB/min leak, OOM-killed at the limit.",
         start=50 * MB, plateau=300 * MB, w95=12 * MIN, rate=4 * MB / MIN, amp=50 * MB,
         period=80, noise=1 * MB, oom=True),
    spec("h2_leak_stops", "leak_stop", 10, 3206, 1 * GiB,
         "2 MB/min from 2 h to 4 h under a 60 MB sawtooth, then fixed.",
         base=350 * MB, rate=2 * MB / MIN, amp=60 * MB, period=90, noise=1 * MB,
         leak_start=2 * H, leak_end=4 * H),
]

if __name__ == "__main__":
    here = os.path.dirname(__file__) or "."
    if "--set2" in sys.argv:
        sys.argv.remove("--set2")
        gen.main(HELDOUT2, KINDS, default_out=os.path.join(here, "data-heldout2"))
    else:
        gen.main(HELDOUT, KINDS, default_out=os.path.join(here, "data-heldout"))
