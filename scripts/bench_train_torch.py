#!/usr/bin/python3
"""scripts/bench_train_torch.py — the PyTorch side of `odlm bench-train` (not part of the tests).

Runs the same two training cases as `odlm bench-train` in PyTorch eager on CPU, so the figures in
docs/PERFORMANCE.md compare like with like on one machine:
  full  full fine-tuning (AdamW) of a llama: dim 384, 6 layers, 6 heads, 2 KV heads, FFN 1024,
        vocab 4096 (12.6M parameters), batch 4 x 256 random tokens
  lora  LoRA rank 16 (alpha 32) on all seven projections of a frozen F32 TinyLlama-1.1B-shaped model
        (dim 2048, 22 layers, 32 heads, 4 KV heads, FFN 5632, vocab 32000), batch 1 x 256
The model is the llama math odlm runs (RMSNorm, RoPE, grouped-query causal attention, SwiGLU, untied
output), random weights. Prints tokens/s (median of --steps timed steps after --warmup) and peak RSS.

Needs Debian's python3-torch and OpenBLAS as the system BLAS (otherwise torch runs on the reference
BLAS, ~11x slower):  sudo apt-get install python3-torch libopenblas0-pthread
Usage: /usr/bin/python3 scripts/bench_train_torch.py [--case full|lora|all] [--threads 2] [--steps 3]
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class LoRALinear(nn.Module):
    """y = x W^T + (alpha/r) (x A^T) B^T with W frozen."""

    def __init__(self, n_in, n_out, rank=0, alpha=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) / math.sqrt(n_in))
        self.rank = rank
        if rank:
            self.weight.requires_grad_(False)
            self.a = nn.Parameter(torch.empty(rank, n_in).uniform_(-1 / math.sqrt(n_in), 1 / math.sqrt(n_in)))
            self.b = nn.Parameter(torch.zeros(n_out, rank))
            self.scaling = alpha / rank

    def forward(self, x):
        y = F.linear(x, self.weight)
        if self.rank:
            y = y + F.linear(F.linear(x, self.a), self.b) * self.scaling
        return y


def rope(x, pos_cos, pos_sin):
    # x: [B, H, T, hd]; adjacent pairs (2i, 2i+1) as GGUF llama stores them
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x0 * pos_cos - x1 * pos_sin, x0 * pos_sin + x1 * pos_cos), dim=-1)
    return out.flatten(-2)


class Block(nn.Module):
    def __init__(self, d, heads, kv_heads, ff, rank, alpha):
        super().__init__()
        self.h, self.kvh, self.hd = heads, kv_heads, d // heads
        lin = lambda i, o: LoRALinear(i, o, rank, alpha)
        self.q, self.k, self.v = lin(d, d), lin(d, kv_heads * self.hd), lin(d, kv_heads * self.hd)
        self.o = lin(d, d)
        self.gate, self.up, self.down = lin(d, ff), lin(d, ff), lin(ff, d)
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
        if rank:
            for n in (self.n1, self.n2):
                n.weight.requires_grad_(False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.k(h).view(B, T, self.kvh, self.hd).transpose(1, 2)
        v = self.v(h).view(B, T, self.kvh, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rep = self.h // self.kvh
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        o = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, -1)
        x = x + self.o(o)
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, d, layers, heads, kv_heads, ff, vocab, rank=0, alpha=1.0):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d, heads, kv_heads, ff, rank, alpha) for _ in range(layers))
        self.norm = RMSNorm(d)
        self.out = nn.Linear(d, vocab, bias=False)
        self.hd = d // heads
        if rank:
            for p in (self.emb.weight, self.norm.weight, self.out.weight):
                p.requires_grad_(False)

    def forward(self, tokens):
        B, T = tokens.shape
        inv = 10000.0 ** (-torch.arange(0, self.hd, 2).float() / self.hd)
        ang = torch.arange(T).float()[:, None] * inv[None, :]
        cos, sin = ang.cos(), ang.sin()
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = self.emb(tokens)
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        return self.out(self.norm(x))


def run_case(name, model, batch, ctx, vocab, steps, warmup):
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    tokens = torch.randint(0, vocab, (batch, ctx + 1))  # ctx tokens in, ctx predicted
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, vocab), tokens[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if i >= warmup:
            times.append(dt)
        print(f"  {name} step {i + 1}: {dt:.2f} s, loss {loss.item():.3f}", flush=True)
    step = statistics.median(times)
    return {"case": name, "tokens_per_step": batch * ctx, "step_s": step,
            "tokens_per_s": batch * ctx / step,
            "trainable_params": sum(p.numel() for p in params),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", default="all", choices=["full", "lora", "all"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--ctx", type=int, default=256)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "threads": a.threads,
           "blas": torch.__config__.show().split("BLAS_INFO=")[-1].split(",")[0] if "BLAS_INFO=" in torch.__config__.show() else "?",
           "cases": []}
    if a.case in ("full", "all"):
        m = Llama(384, 6, 6, 2, 1024, 4096)
        out["cases"].append(run_case("full", m, 4, a.ctx, 4096, a.steps, a.warmup))
    if a.case in ("lora", "all"):
        m = Llama(2048, 22, 32, 4, 5632, 32000, rank=16, alpha=32)
        out["cases"].append(run_case("lora", m, 1, a.ctx, 32000, a.steps, a.warmup))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
