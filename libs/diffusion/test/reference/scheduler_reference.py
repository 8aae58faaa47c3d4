"""Reference trajectories for test/schedulers-reference.spec.ts, written with numpy from the
diffusers scheduler code paths (DDIMScheduler, EulerAncestralDiscreteScheduler,
DPMSolverMultistepScheduler with dpmsolver++ / order 2 / midpoint / lower_order_final), independently
of the TypeScript implementation. Run: python3 scheduler_reference.py  (prints the constants).

Model stand-in: model_output(x, t) = 0.3·x + 0.01·t/1000, initial x = [1, −0.5, 0.25]·init_noise_sigma,
ancestral noise at step k = [sin(k+1), cos(k+1), 0.5]. SD 1.x config (scaled_linear 0.00085…0.012,
steps_offset 1, leading spacing), 7 steps.
"""
import json
import numpy as np

T, N = 1000, 7
betas = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, T, dtype=np.float64) ** 2
ac = np.cumprod(1.0 - betas)
x_init = np.array([1.0, -0.5, 0.25])
model = lambda x, t: 0.3 * x + 0.01 * t / 1000.0
noise = lambda k: np.array([np.sin(k + 1), np.cos(k + 1), 0.5])


def ddim(prediction_type):
    step_ratio = T // N
    ts = (np.arange(0, N) * step_ratio).round()[::-1].astype(np.int64) + 1
    x = x_init.copy()
    for t in ts:
        prev = t - T // N
        a_t = ac[t]
        a_prev = ac[prev] if prev >= 0 else ac[0]  # set_alpha_to_one = False
        m = model(x, t)
        if prediction_type == "epsilon":
            x0 = (x - np.sqrt(1 - a_t) * m) / np.sqrt(a_t)
            eps = m
        else:
            x0 = np.sqrt(a_t) * x - np.sqrt(1 - a_t) * m
            eps = np.sqrt(a_t) * m + np.sqrt(1 - a_t) * x
        x = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps
    return x


def euler_a():
    step_ratio = T // N
    ts = (np.arange(0, N) * step_ratio).round()[::-1].astype(np.float64) + 1
    all_sigmas = np.sqrt((1 - ac) / ac)
    sigmas = np.interp(ts, np.arange(0, len(all_sigmas)), all_sigmas)
    sigmas = np.concatenate([sigmas, [0.0]])
    init = np.sqrt(sigmas.max() ** 2 + 1)  # leading spacing
    x = x_init * init
    for i, t in enumerate(ts):
        s = sigmas[i]
        m = model(x / np.sqrt(s ** 2 + 1), t)
        x0 = x - s * m
        s_from, s_to = s, sigmas[i + 1]
        up = np.sqrt(s_to ** 2 * (s_from ** 2 - s_to ** 2) / s_from ** 2)
        down = np.sqrt(s_to ** 2 - up ** 2)
        x = x + (x - x0) / s * (down - s) + noise(i) * up
    return x


def dpmpp_2m():
    step_ratio = T // (N + 1)
    ts = (np.arange(0, N + 1) * step_ratio).round()[::-1][:-1].astype(np.int64) + 1
    all_sigmas = np.sqrt((1 - ac) / ac)
    sigmas = np.concatenate([np.interp(ts, np.arange(0, len(all_sigmas)), all_sigmas), [0.0]])
    alpha = lambda s: 1 / np.sqrt(s ** 2 + 1)
    lam = lambda s: np.log(alpha(s)) - np.log(s * alpha(s)) if s > 0 else np.inf
    x = x_init.copy()
    outs = []
    lower = 0
    for i, t in enumerate(ts):
        s0 = sigmas[i]
        m = model(x, t)
        x0 = (x - s0 * alpha(s0) * m) / alpha(s0)
        outs.append(x0)
        st = sigmas[i + 1]
        a_t, sig_t = alpha(st), st * alpha(st)
        h = lam(st) - lam(s0)
        if lower < 1 or i == N - 1:
            x = (sig_t / (s0 * alpha(s0))) * x - a_t * (np.exp(-h) - 1.0) * x0
        else:
            s1 = sigmas[i - 1]
            h0 = lam(s0) - lam(s1)
            r0 = h0 / h
            D0, D1 = outs[-1], (1.0 / r0) * (outs[-1] - outs[-2])
            x = (sig_t / (s0 * alpha(s0))) * x - a_t * (np.exp(-h) - 1.0) * D0 - 0.5 * a_t * (np.exp(-h) - 1.0) * D1
        lower = min(lower + 1, 2)
    return x


print(json.dumps({
    "ddim_epsilon": ddim("epsilon").tolist(),
    "ddim_v": ddim("v").tolist(),
    "euler_a": euler_a().tolist(),
    "dpmpp_2m": dpmpp_2m().tolist(),
}, indent=2))
