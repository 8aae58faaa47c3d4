"""PyTorch reference for `npm run bench:train` (issue 2): the same ~2.31M-parameter UNet,
batch 32, 2 threads; full training step (forward + backward + Adam) and LoRA-only step
(rank 4 on every attention q/k/v/out, base frozen). Prints one JSON line.
Debian's python3-torch with libopenblas0-openmp; run with OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2 only)."""
import json, math, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH = int(sys.argv[1]) if len(sys.argv) > 1 else 32
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
REPS = int(sys.argv[3]) if len(sys.argv) > 3 else 10
torch.set_num_threads(THREADS)
torch.manual_seed(0)


class LoRALinear(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.base = nn.Linear(cin, cout, bias=False)
        self.lora_a = None

    def add_lora(self, r=4, alpha=4.0):
        self.lora_a = nn.Parameter(torch.randn(r, self.base.in_features) / math.sqrt(self.base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(self.base.out_features, r))
        self.scale = alpha / r

    def forward(self, x):
        y = self.base(x)
        if self.lora_a is not None:
            y = y + (x @ self.lora_a.t() @ self.lora_b.t()) * self.scale
        return y


class Attention(nn.Module):
    def __init__(self, c, heads, kv_dim=None):
        super().__init__()
        kv_dim = kv_dim or c
        self.h = heads
        self.q, self.k, self.v, self.out = LoRALinear(c, c), LoRALinear(kv_dim, c), LoRALinear(kv_dim, c), LoRALinear(c, c)

    def forward(self, x, ctx=None):
        n, l, c = x.shape
        kv = x if ctx is None else ctx
        d = c // self.h
        q = self.q(x).view(n, l, self.h, d).transpose(1, 2) / math.sqrt(d)
        k = self.k(kv).view(n, kv.shape[1], self.h, d).transpose(1, 2)
        v = self.v(kv).view(n, kv.shape[1], self.h, d).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        return self.out((a @ v).transpose(1, 2).reshape(n, l, c))


class AttnBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = nn.GroupNorm(32, c)
        self.self_attn = Attention(c, 4)
        self.cross = Attention(c, 4, 64)

    def forward(self, x, ctx):
        n, c, h, w = x.shape
        t = self.norm(x).view(n, c, h * w).transpose(1, 2)
        t = t + self.self_attn(t)
        t = t + self.cross(t, ctx)
        return x + t.transpose(1, 2).reshape(n, c, h, w)


class Res(nn.Module):
    def __init__(self, cin, cout, temb=256):
        super().__init__()
        self.n1, self.c1 = nn.GroupNorm(32, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(temb, cout)
        self.n2, self.c2 = nn.GroupNorm(32, cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, temb):
        h = self.c1(F.silu(self.n1(x))) + self.t(F.silu(temb))[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return self.skip(x) + h


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.t1, self.t2 = nn.Linear(64, 256), nn.Linear(256, 256)
        self.conv_in = nn.Conv2d(4, 64, 3, padding=1)
        self.r0 = Res(64, 64)
        self.d0 = nn.Conv2d(64, 64, 3, stride=2, padding=1)
        self.r1, self.a1 = Res(64, 128), AttnBlock(128)
        self.d1 = nn.Conv2d(128, 128, 3, stride=2, padding=1)
        self.m1, self.ma, self.m2 = Res(128, 128), AttnBlock(128), Res(128, 128)
        self.u1, self.ua = Res(256, 128), AttnBlock(128)
        self.u0 = Res(192, 64)
        self.norm_out, self.conv_out = nn.GroupNorm(32, 64), nn.Conv2d(64, 4, 3, padding=1)

    def forward(self, x, t, ctx):
        half = 32
        freqs = torch.exp(-math.log(10000) * torch.arange(half) / half)
        ph = t[:, None] * freqs[None]
        temb = self.t2(F.silu(self.t1(torch.cat([ph.sin(), ph.cos()], 1))))
        h = s0 = self.r0(self.conv_in(x), temb)
        h = self.d0(h)
        h = s1 = self.a1(self.r1(h, temb), ctx)
        h = self.d1(h)
        h = self.m2(self.ma(self.m1(h, temb), ctx), temb)
        h = torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), s1], 1)
        h = self.ua(self.u1(h, temb), ctx)
        h = torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), s0], 1)
        h = self.u0(h, temb)
        return self.conv_out(F.silu(self.norm_out(h)))


def timed_steps(model, params):
    opt = torch.optim.Adam(params, lr=1e-4)
    x, t, ctx, target = torch.randn(BATCH, 4, 16, 16), torch.full((BATCH,), 300.0), torch.randn(BATCH, 8, 64), torch.randn(BATCH, 4, 16, 16)
    times = []
    for i in range(REPS + 3):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x, t, ctx), target)
        loss.backward()
        opt.step()
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


model = UNet()
n_params = sum(p.numel() for p in model.parameters())
step_ms = timed_steps(model, list(model.parameters()))
for p in model.parameters():
    p.requires_grad_(False)
for m in model.modules():
    if isinstance(m, LoRALinear):
        m.add_lora()
lora_params = [p for n, p in model.named_parameters() if "lora_" in n]
lora_ms = timed_steps(model, lora_params)
print(json.dumps({"torch_version": torch.__version__, "params": n_params, "torch_step_ms": round(step_ms, 1), "torch_lora_step_ms": round(lora_ms, 1)}))
