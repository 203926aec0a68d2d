#!/usr/bin/python3
"""Plain-PyTorch CPU peer of the training engine benchmark (model/qwen3/bench_test.go).

The model is the benchmark's 103M Qwen3 (vocab 151936, hidden 512, 8 layers, 8 heads, 4 KV
heads, tied embeddings), written here directly in PyTorch, fp32, random weights (std 0.02,
norm weights 1). Each shape runs in a fresh subprocess so that peak RSS (VmHWM) is per shape.

  /usr/bin/python3 scripts/peer/torch_cpu_peer.py                 full measurement (about 20-25 minutes)
  /usr/bin/python3 scripts/peer/torch_cpu_peer.py --check         correctness checks (seconds)
  /usr/bin/python3 scripts/peer/torch_cpu_peer.py --estimate      peak-memory estimates only
  /usr/bin/python3 scripts/peer/torch_cpu_peer.py --jobs train:1x64,decode:1x4 --iters 1

Job names: train / train-ckpt (rows x tokens), prefill (prompts x prompt tokens),
decode (rows x new tokens after --prompt tokens).

Train step = one forward + one backward of loss = -mean(logp) where logp = log_softmax(
logits[:, :-1] / temperature).gather(next tokens); the entropy of the same distribution is
computed in the forward under no_grad (its cotangent is zero in the project's benchmark).
train-ckpt recomputes each decoder layer in the backward (torch.utils.checkpoint) and runs the
LM head + log-softmax in checkpointed chunks of --chunk tokens.
"""
import argparse
import ctypes
import json
import math
import os
import subprocess
import sys
import time

THREADS = 2
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(THREADS))

try:
    import torch
except ImportError:
    raise SystemExit("torch is not importable by %s: run this with Debian's /usr/bin/python3 "
                     "(apt-get install python3-torch libopenblas0-pthread)" % sys.executable)
import torch.nn.functional as F  # noqa: E402
from torch.utils.checkpoint import checkpoint  # noqa: E402

PEER = "torch-%s-cpu" % ".".join(torch.__version__.split(".")[:2])
HAS_SDPA = hasattr(F, "scaled_dot_product_attention")  # False on 1.13: explicit softmax below


class Cfg:
    def __init__(self, vocab, hidden, inter, layers, heads, kv_heads, head_dim, eps=1e-6, theta=1e6):
        self.V, self.H, self.I, self.L = vocab, hidden, inter, layers
        self.Hq, self.Hkv, self.D, self.eps, self.theta = heads, kv_heads, head_dim, eps, theta


BENCH = Cfg(151936, 512, 1536, 8, 8, 4, 64)


# ----------------------------------------------------------------------------- the model
def init_params(cfg, dtype=torch.float32, seed=0, std=0.02, norm_std=0.0):
    g = torch.Generator().manual_seed(seed)

    def mat(o, i):
        return torch.randn(o, i, generator=g, dtype=dtype).mul_(std).requires_grad_()

    def norm(n):
        return (1 + norm_std * torch.randn(n, generator=g, dtype=dtype)).requires_grad_()

    H, D = cfg.H, cfg.D
    layers = [dict(in_norm=norm(H), q=mat(cfg.Hq * D, H), k=mat(cfg.Hkv * D, H), v=mat(cfg.Hkv * D, H),
                   q_norm=norm(D), k_norm=norm(D), o=mat(H, cfg.Hq * D), post_norm=norm(H),
                   gate=mat(cfg.I, H), up=mat(cfg.I, H), down=mat(H, cfg.I)) for _ in range(cfg.L)]
    return dict(embed=mat(cfg.V, H), final_norm=norm(H), layers=layers)  # LM head = embed (tied)


def all_params(p):
    return [p["embed"], p["final_norm"]] + [t for lp in p["layers"] for t in lp.values()]


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(cfg, pos0, T, dtype):
    inv = (1.0 / cfg.theta ** (torch.arange(0, cfg.D, 2, dtype=torch.float64) / cfg.D)).to(dtype)
    freqs = torch.arange(pos0, pos0 + T, dtype=dtype)[:, None] * inv[None]
    emb = torch.cat((freqs, freqs), -1)  # [T, D]
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x.chunk(2, -1)
    return torch.cat((-x2, x1), -1)


def attention(q, k, v):
    """Causal GQA. q [B,Hq,T,D] at the last T of S positions; k, v [B,Hkv,S,D]."""
    B, Hq, T, D = q.shape
    Hkv, S = k.shape[1], k.shape[2]
    G = Hq // Hkv  # query heads j*G .. j*G+G-1 share KV head j: stack them along rows
    q = (q * D ** -0.5).reshape(B, Hkv, G * T, D)
    scores = q @ k.transpose(-1, -2)  # [B, Hkv, G*T, S]
    if T > 1:
        mask = torch.ones(T, S, dtype=torch.bool).triu(S - T + 1).repeat(G, 1)
        scores.masked_fill_(mask, float("-inf"))
    return (scores.softmax(-1) @ v).reshape(B, Hq, T, D)


def layer(x, p, cfg, cos, sin, cache=None, pos0=0):
    B, T, _ = x.shape
    h = rms_norm(x, p["in_norm"], cfg.eps)
    q = rms_norm(F.linear(h, p["q"]).view(B, T, cfg.Hq, cfg.D), p["q_norm"], cfg.eps).transpose(1, 2)
    k = rms_norm(F.linear(h, p["k"]).view(B, T, cfg.Hkv, cfg.D), p["k_norm"], cfg.eps).transpose(1, 2)
    v = F.linear(h, p["v"]).view(B, T, cfg.Hkv, cfg.D).transpose(1, 2)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    if cache is not None:  # preallocated [B, Hkv, S_max, D]; write this step's keys and values
        kc, vc = cache
        kc[:, :, pos0:pos0 + T] = k
        vc[:, :, pos0:pos0 + T] = v
        k, v = kc[:, :, :pos0 + T], vc[:, :, :pos0 + T]
    a = attention(q, k, v).transpose(1, 2).reshape(B, T, cfg.Hq * cfg.D)
    x = x + F.linear(a, p["o"])
    h = rms_norm(x, p["post_norm"], cfg.eps)
    return x + F.linear(F.silu(F.linear(h, p["gate"])) * F.linear(h, p["up"]), p["down"])


def hidden(params, cfg, ids, ckpt=False, caches=None, pos0=0):
    """Final-norm hidden states [B, T, H] of ids [B, T] at positions pos0.."""
    x = F.embedding(ids, params["embed"])
    cos, sin = rope(cfg, pos0, ids.shape[1], x.dtype)
    for i, lp in enumerate(params["layers"]):
        cache = caches[i] if caches is not None else None
        if ckpt:
            x = checkpoint(layer, x, lp, cfg, cos, sin, use_reentrant=False)
        else:
            x = layer(x, lp, cfg, cos, sin, cache, pos0)
    return rms_norm(x, params["final_norm"], cfg.eps)


def token_scores(h, W, targets, temperature):
    """logp of targets and entropy under log_softmax(h W^T / temperature); h [..., H]."""
    logp_all = F.log_softmax(F.linear(h, W) / temperature, -1)
    logp = logp_all.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    with torch.no_grad():
        entropy = -(logp_all.exp() * logp_all).sum(-1)
    return logp, entropy


def score(params, cfg, ids, temperature=1.0, ckpt=False, chunk=1024):
    """(loss, logp [B,T-1], entropy [B,T-1]) of the next tokens of ids [B, T]."""
    h = hidden(params, cfg, ids, ckpt)[:, :-1]
    W, targets = params["embed"], ids[:, 1:]
    if not ckpt:
        logp, entropy = token_scores(h, W, targets, temperature)
    else:
        B, T1 = targets.shape
        h, targets = h.reshape(B * T1, -1), targets.reshape(-1)
        parts = [checkpoint(token_scores, h[s:s + chunk], W, targets[s:s + chunk], temperature, use_reentrant=False)
                 for s in range(0, B * T1, chunk)]
        logp = torch.cat([a for a, _ in parts]).view(B, T1)
        entropy = torch.cat([b for _, b in parts]).view(B, T1)
    return -logp.mean(), logp, entropy


def generate(params, cfg, prompt, new_tokens):
    """Greedy decoding with a KV cache: prefill, then new_tokens single-token forwards (as the
    project's benchmark does: the prefill's argmax is the first token fed back). Returns the
    fed tokens [B, new_tokens] and the logits of every step [new_tokens+1, B, V]."""
    B, P = prompt.shape
    W = params["embed"]
    caches = [(W.new_empty(B, cfg.Hkv, P + new_tokens, cfg.D), W.new_empty(B, cfg.Hkv, P + new_tokens, cfg.D))
              for _ in range(cfg.L)]
    logits = [F.linear(hidden(params, cfg, prompt, caches=caches)[:, -1], W)]
    fed = []
    for s in range(new_tokens):
        tok = logits[-1].argmax(-1)
        fed.append(tok)
        logits.append(F.linear(hidden(params, cfg, tok[:, None], caches=caches, pos0=P + s)[:, -1], W))
    return torch.stack(fed, 1) if fed else prompt[:, :0], logits


def prefill(params, cfg, prompt):
    """Last-position logits [B, V] and the KV cache of every prompt position."""
    B, P = prompt.shape
    W = params["embed"]
    caches = [(W.new_empty(B, cfg.Hkv, P, cfg.D), W.new_empty(B, cfg.Hkv, P, cfg.D)) for _ in range(cfg.L)]
    return F.linear(hidden(params, cfg, prompt, caches=caches)[:, -1], W), caches


# ----------------------------------------------------------------------------- memory estimate
MiB = 2 ** 20
BASE_MIB = 230  # python + torch + BLAS, measured RSS before the model exists


def n_params(cfg):
    H, D = cfg.H, cfg.D
    per_layer = 2 * H + 2 * D + H * cfg.Hq * D * 2 + H * cfg.Hkv * D * 2 + 3 * H * cfg.I
    return cfg.V * H + H + cfg.L * per_layer


def estimate_train_mib(cfg, rows, T, ckpt, chunk=1024, slack=1.15):
    """Peak RSS estimate of one train step (fp32), in MiB: base + weights + the larger of two
    phases, times a slack for allocator overhead (fitted on measured 1x64 and 1x512 steps).
    Phase A, the loss backward: every saved activation (all layers' attention probabilities
    included) plus three [tokens, V] buffers (saved log_softmax output, gather's gradient,
    log_softmax's gradient), or two of them and the LM-head weight gradient.
    Phase B, the tied-matrix gradients: embedding and LM-head gradients and their sum, plus the
    other gradients (3.6 [V, H] matrices measured)."""
    f = 4
    N = rows * (T - 1)
    VH = f * cfg.V * cfg.H
    weights = f * n_params(cfg)
    phase_b = 3.6 * VH + (weights - VH)
    probs = f * rows * cfg.Hq * T * T  # one layer's attention probabilities
    # Saved per token per layer besides attention: norms, q/k/v and their normed/rotated
    # copies, attention output, residuals, MLP gate/up/silu/product (about 16H + 4I floats).
    act_layer = f * rows * T * (16 * cfg.H + 4 * cfg.I)
    if not ckpt:
        NV = f * N * cfg.V
        phase_a = cfg.L * (act_layer + probs) + max(3 * NV, 2 * NV + VH)
    else:
        CV = f * min(chunk, N) * cfg.V
        saved = cfg.L * f * rows * T * cfg.H + 2 * f * N * cfg.H  # layer inputs, sliced h, its grad
        # One layer recomputed in the backward: its activations and up to 4 [B, Hq, T, T]
        # buffers, or one loss chunk's buffers while the LM-head gradient accumulates.
        phase_a = saved + max(3 * CV + 2 * VH, act_layer + 4 * probs)
    return slack * (BASE_MIB + (weights + max(phase_a, phase_b)) / MiB)


def mem_available_mib():
    with open("/proc/meminfo") as fh:
        info = {l.split(":")[0]: int(l.split()[1]) for l in fh}
    return info["MemAvailable"] / 1024, info["MemTotal"] / 1024


def vm(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ----------------------------------------------------------------------------- one measurement
def run_one(job, iters, temperature, chunk, prompt_len, seed):
    torch.set_num_threads(THREADS)
    what, shape = job.split(":")
    rows, n = (int(x) for x in shape.split("x"))
    cfg = BENCH
    base_rss = vm("VmRSS")
    params = init_params(cfg, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    out = {"peer": PEER, "what": what, "rows": rows, "len": n}

    if what in ("train", "train-ckpt"):
        ckpt = what == "train-ckpt"
        ids = torch.randint(0, cfg.V, (rows, n), generator=g)
        plist = all_params(params)

        def step():
            for p in plist:
                p.grad = None
            loss, logp, entropy = score(params, cfg, ids, temperature, ckpt, chunk)
            loss.backward()
            return loss.item()
        tokens = rows * n  # the project counts B*T per train step
        out["est_peak_mib"] = round(estimate_train_mib(cfg, rows, n, ckpt, chunk))
        if ckpt:
            out["chunk"] = chunk
    elif what == "prefill":
        ids = torch.randint(0, cfg.V, (rows, n), generator=g)

        def step():
            with torch.inference_mode():
                prefill(params, cfg, ids)
        tokens = rows * n
    elif what == "decode":
        ids = torch.randint(0, cfg.V, (rows, prompt_len), generator=g)
        out["prompt"] = prompt_len

        def step():
            with torch.inference_mode():
                generate(params, cfg, ids, n)
        tokens = rows * n  # new tokens; the time includes the prefill
    else:
        raise SystemExit("unknown job %r: use train, train-ckpt, prefill or decode" % what)

    t0 = time.perf_counter()
    step()  # warm-up
    out["warmup_s"] = round(time.perf_counter() - t0, 3)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    out["iters"] = iters
    out["s_per_iter"] = round(sum(times) / len(times), 4) if times else None
    out["tok_s"] = round(tokens / out["s_per_iter"], 2) if times else None
    out["peak_rss_mib"] = round(vm("VmHWM"))
    out["base_rss_mib"] = round(base_rss)
    out["threads"] = torch.get_num_threads()
    print(json.dumps(out), flush=True)


def env_line():
    blas = None
    try:
        with open("/proc/self/maps") as fh:
            libs = sorted({l.split()[-1] for l in fh if "openblas" in l and ".so" in l})
        if libs:
            lib = ctypes.CDLL(libs[0])
            lib.openblas_get_config.restype = ctypes.c_char_p
            blas = "%s threads=%d" % (lib.openblas_get_config().decode(), lib.openblas_get_num_threads())
    except OSError:
        pass
    torch.set_num_threads(THREADS)
    return {"peer": PEER, "what": "env", "torch": torch.__version__, "blas": blas,
            "threads": torch.get_num_threads(), "sdpa": HAS_SDPA, "cpu_count": os.cpu_count(),
            "loadavg": os.getloadavg()[0],
            "env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT",
                                               "OMP_WAIT_POLICY", "LD_PRELOAD") if k in os.environ}}


# ----------------------------------------------------------------------------- checks
def ref_logits(cfg, P, ids):
    """Plain-Python float64 Qwen3 forward of one sequence (lists and math only)."""
    H, D, Hq, Hkv = cfg.H, cfg.D, cfg.Hq, cfg.Hkv
    mv = lambda W, x: [sum(w * a for w, a in zip(row, x)) for row in W]  # noqa: E731

    def norm(x, w):
        r = 1 / math.sqrt(sum(a * a for a in x) / len(x) + cfg.eps)
        return [a * r * b for a, b in zip(x, w)]

    def rot(x, t):
        out = list(x)
        for i in range(D // 2):
            ang = t / cfg.theta ** (2 * i / D)
            c, s = math.cos(ang), math.sin(ang)
            out[i] = x[i] * c - x[i + D // 2] * s
            out[i + D // 2] = x[i + D // 2] * c + x[i] * s
        return out

    xs = [list(P["embed"][i]) for i in ids]
    for lp in P["layers"]:
        qs, ks, vs = [], [], []
        for t, x in enumerate(xs):
            h = norm(x, lp["in_norm"])
            q, k, v = mv(lp["q"], h), mv(lp["k"], h), mv(lp["v"], h)
            qs.append([rot(norm(q[j * D:(j + 1) * D], lp["q_norm"]), t) for j in range(Hq)])
            ks.append([rot(norm(k[j * D:(j + 1) * D], lp["k_norm"]), t) for j in range(Hkv)])
            vs.append([v[j * D:(j + 1) * D] for j in range(Hkv)])
        new = []
        for t, x in enumerate(xs):
            a = []
            for j in range(Hq):
                kv = j // (Hq // Hkv)
                sc = [sum(p * r for p, r in zip(qs[t][j], ks[u][kv])) / math.sqrt(D) for u in range(t + 1)]
                m = max(sc)
                e = [math.exp(s - m) for s in sc]
                z = sum(e)
                a += [sum(e[u] / z * vs[u][kv][d] for u in range(t + 1)) for d in range(D)]
            x = [p + r for p, r in zip(x, mv(lp["o"], a))]
            h = norm(x, lp["post_norm"])
            gate, up = mv(lp["gate"], h), mv(lp["up"], h)
            act = [g / (1 + math.exp(-g)) * u for g, u in zip(gate, up)]
            new.append([p + r for p, r in zip(x, mv(lp["down"], act))])
        xs = new
    return [mv(P["embed"], norm(x, P["final_norm"])) for x in xs]


def check():
    torch.set_num_threads(THREADS)
    ok = True

    def report(name, err, tol):
        nonlocal ok
        good = err <= tol
        ok &= good
        print(json.dumps({"check": name, "err": float(err), "tol": tol, "ok": bool(good)}), flush=True)

    # 1. Tiny fp64 model (head_dim*heads != hidden, random norm weights) against plain Python.
    cfg = Cfg(97, 48, 80, 2, 4, 2, 16, eps=1e-6, theta=1e4)
    params = init_params(cfg, torch.float64, seed=3, std=0.2, norm_std=0.3)
    ids = torch.randint(0, cfg.V, (2, 7), generator=torch.Generator().manual_seed(4))
    plain = lambda t: t.tolist()  # noqa: E731
    P = {"embed": plain(params["embed"]), "final_norm": plain(params["final_norm"]),
         "layers": [{k: plain(v) for k, v in lp.items()} for lp in params["layers"]]}
    W = params["embed"]
    with torch.no_grad():
        logits = F.linear(hidden(params, cfg, ids), W)
    want = torch.tensor([ref_logits(cfg, P, row) for row in ids.tolist()], dtype=torch.float64)
    report("logits vs plain-python fp64 reference", (logits - want).abs().max() / want.abs().max(), 1e-12)

    # logp and entropy of the score against the reference logits.
    loss, logp, ent = score(params, cfg, ids, temperature=0.7)
    ref_lp = torch.log_softmax(want[:, :-1] / 0.7, -1)
    report("logp vs reference", (logp - ref_lp.gather(-1, ids[:, 1:, None])[..., 0]).abs().max(), 1e-12)
    report("entropy vs reference", (ent - (-(ref_lp.exp() * ref_lp).sum(-1))).abs().max(), 1e-12)

    # 2. Gradients: every parameter, against central finite differences of the loss.
    loss.backward()
    grads = [p.grad.clone() for p in all_params(params)]
    report("every parameter has a gradient", sum(g is None for g in grads), 0)
    gen = torch.Generator().manual_seed(5)
    worst = 0.0
    for p, gr in zip(all_params(params), grads):
        for _ in range(2):
            i = int(torch.randint(0, p.numel(), (1,), generator=gen))
            flat = p.detach().view(-1)
            old, eps = float(flat[i]), 1e-6
            with torch.no_grad():
                flat[i] = old + eps
                up = float(score(params, cfg, ids, 0.7)[0])
                flat[i] = old - eps
                dn = float(score(params, cfg, ids, 0.7)[0])
                flat[i] = old
            fd = (up - dn) / (2 * eps)
            worst = max(worst, abs(fd - float(gr.view(-1)[i])) / (1e-6 + abs(fd)))
    report("gradients vs finite differences (2 entries of each tensor)", worst, 1e-5)

    # 3. Checkpointed layers + chunked loss give the same loss and gradients.
    for p in all_params(params):
        p.grad = None
    loss2, logp2, ent2 = score(params, cfg, ids, temperature=0.7, ckpt=True, chunk=5)
    loss2.backward()
    err = max((a - b.grad).abs().max().item() for a, b in zip(grads, all_params(params)))
    report("checkpointed+chunked loss, logp, entropy, gradients vs plain",
           max(err, abs(loss2.item() - loss.item()), (logp2 - logp).abs().max().item(),
               (ent2 - ent).abs().max().item()), 1e-13)

    # 4. KV-cache greedy decoding: step logits equal a full forward over prompt + fed tokens.
    with torch.no_grad():
        fed, step_logits = generate(params, cfg, ids[:, :4], 5)
        full = F.linear(hidden(params, cfg, torch.cat([ids[:, :4], fed], 1)), W)[:, 3:]
    report("kv-cache decode logits vs full forward", (torch.stack(step_logits, 1) - full).abs().max(), 1e-12)
    report("greedy tokens are the argmax of the previous step",
           (fed != full[:, :-1].argmax(-1)).sum().item(), 0)

    # 5. The benchmark model itself (fp32): shapes, normalisation, gradient shapes.
    params = init_params(BENCH)
    ids = torch.randint(0, BENCH.V, (2, 16), generator=torch.Generator().manual_seed(6))
    loss, logp, ent = score(params, BENCH, ids)
    report("param count of the benchmark model (103M)", abs(sum(p.numel() for p in all_params(params)) - n_params(BENCH)), 0)
    report("logp/entropy shapes [2,15]", int(tuple(logp.shape) != (2, 15)) + int(tuple(ent.shape) != (2, 15)), 0)
    with torch.no_grad():
        lse = torch.logsumexp(F.log_softmax(F.linear(hidden(params, BENCH, ids), params["embed"]), -1), -1)
    report("sum of probabilities over the vocabulary - 1", (lse.exp() - 1).abs().max(), 1e-5)
    report("entropy in [0, log V]", float(((ent < 0) | (ent > math.log(BENCH.V) + 1e-4)).sum()), 0)
    loss.backward()
    bad = sum(p.grad is None or p.grad.shape != p.shape or not torch.isfinite(p.grad).all() for p in all_params(params))
    report("benchmark model: finite gradient of right shape for every parameter", bad, 0)
    print(json.dumps({"check": "all", "ok": bool(ok)}))
    return ok


# ----------------------------------------------------------------------------- driver
FULL = ["train:4x256", "train:1x2048", "train:1x8192", "train-ckpt:4x256", "train-ckpt:1x2048",
        "train-ckpt:1x8192", "prefill:16x64", "decode:16x32", "decode:1x32"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", default=",".join(FULL), help="comma-separated what:ROWSxLEN")
    ap.add_argument("--iters", type=int, default=2, help="timed iterations after one warm-up")
    ap.add_argument("--iters-long", type=int, default=1, help="timed iterations for train jobs of 8192+ tokens")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--chunk", type=int, default=1024, help="tokens per loss chunk in train-ckpt")
    ap.add_argument("--prompt", type=int, default=64, help="prompt tokens before decoding")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true", help="run train jobs even if the estimate does not fit")
    ap.add_argument("--check", action="store_true", help="correctness checks only")
    ap.add_argument("--estimate", action="store_true", help="print memory estimates only")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.check:
        sys.exit(0 if check() else 1)
    if a.one:
        run_one(a.one, a.iters, a.temperature, a.chunk, a.prompt, a.seed)
        return
    print(json.dumps(env_line()), flush=True)
    avail, total = mem_available_mib()
    for job in a.jobs.split(","):
        what, shape = job.split(":")
        rows, n = (int(x) for x in shape.split("x"))
        iters = a.iters_long if what.startswith("train") and rows * n >= 8192 else a.iters
        if what.startswith("train"):
            est = estimate_train_mib(BENCH, rows, n, what == "train-ckpt", a.chunk)
            avail, total = mem_available_mib()
            fits = est < 0.9 * avail
            if a.estimate or (not fits and not a.force):
                print(json.dumps({"peer": PEER, "what": what, "rows": rows, "len": n, "tok_s": None,
                                  "peak_rss_mib": None, "est_peak_mib": round(est), "mem_available_mib": round(avail),
                                  "mem_total_mib": round(total), "skipped": "estimate only" if a.estimate
                                  else "does not fit: estimate exceeds 90% of MemAvailable"}), flush=True)
                continue
        elif a.estimate:
            continue
        cmd = [sys.executable, os.path.abspath(__file__), "--one", job, "--iters", str(iters),
               "--temperature", str(a.temperature), "--chunk", str(a.chunk), "--prompt", str(a.prompt),
               "--seed", str(a.seed)]
        r = subprocess.run(cmd)
        if r.returncode != 0:
            print(json.dumps({"peer": PEER, "what": what, "rows": rows, "len": n, "tok_s": None,
                              "error": "subprocess exit %d" % r.returncode}), flush=True)


if __name__ == "__main__":
    main()
