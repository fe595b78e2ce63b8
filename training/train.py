#!/usr/bin/env python3
"""Train any Stemdeck architecture/config on the generated data (training/data).

  nohup nice -n 5 /usr/bin/python3 training/train.py --arch bsrnn --config small --minutes 90 \
      > /work/logs/train-bsrnn.log 2>&1 &

- Data: the chunk cache written by `python -m training.data.render_cache` (default /work/cache/data),
  re-scanned while it grows; items are random crops with cross-song stem remixing and gains
  (training/data/dataset.py). MIR-1K karaoke chunks ("acc") train vocals and the sum of the
  other stems only.
- Loss: the architecture's own `model.loss` (P1's training/models).
- Resumable: <runs>/<run>/last.pt (model, optimiser, step, CPU seconds, best) written every
  --ckpt-minutes and on SIGTERM/SIGINT; best.pt = best validation average SDR. Re-running the same
  command continues. Checkpoints live outside the repo (/work/cache/runs).
- Log: training/runs/<run>/log.jsonl (small, committed): train lines every --log-every steps
  {step, loss, lr, cpu_h, wall_h, time} and valid lines {valid: {vocals, drums, bass, other, avg}}
  on the held-out generated set (held-out singers + held-out POP909 songs); with --valid-real also
  valid_real lines on the held-out real set (training/real_heldout_set.py) and best-real.pt.
- CPU hours = process CPU time (all threads) accumulated across resumes.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


def _limit_blas_threads() -> None:
    """Debian's PyTorch runs matrix products (the LSTMs) on OpenBLAS, whose thread pool ignores
    torch.set_num_threads and takes every core: with --threads 1 a run still used 200 % CPU and
    stalled beside any other job. The pool size is read when the library loads, so set it first."""
    n = "2"
    if "--threads" in sys.argv[:-1]:
        n = sys.argv[sys.argv.index("--threads") + 1]
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, n)


_limit_blas_threads()

import numpy as np  # noqa: E402
import torch  # noqa: E402

from data.dataset import ChunkCache, sample_item, sample_real_karaoke, to_model_order  # noqa: E402
from models import build_model, count_params  # noqa: E402
from validate import eval_generated, eval_track_folders, read_track_folders, valid_items  # noqa: E402


def log_line(path: str, obj: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(obj) + "\n")


def acc_loss(model, mix: torch.Tensor, voc: torch.Tensor, acc: torch.Tensor) -> torch.Tensor:
    """Karaoke items: L1 on vocals and on the sum of the non-vocal estimates."""
    est, _ = model.separate(mix)
    vi = model.stems.index("vocals") if "vocals" in model.stems else None
    if vi is None:
        return est.sum() * 0
    others = [i for i in range(len(model.stems)) if i != vi]
    return (est[:, vi] - voc).abs().mean() + (est[:, others].sum(1) - acc).abs().mean()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--config", default="small")
    ap.add_argument("--run", default=None, help="run name (default <arch>-<config>)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--lr-final", type=float, default=None,
                    help="cosine-decay the learning rate to this over the invocation's --minutes (default: constant)")
    ap.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget of this invocation")
    ap.add_argument("--max-steps", type=int, default=10 ** 9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", default="/work/cache/data")
    ap.add_argument("--runs", default="/work/cache/runs")
    ap.add_argument("--logs", default=os.path.join(HERE, "runs"))
    ap.add_argument("--ckpt-minutes", type=float, default=4.0)
    ap.add_argument("--valid-minutes", type=float, default=12.0)
    ap.add_argument("--valid-items", type=int, default=24)
    ap.add_argument("--valid-real", default=None,
                    help="held-out real set (training/real_heldout_set.py): also scored at each validation; "
                         "best-real.pt keeps the checkpoint with its best average SDR")
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--p-remix", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--segment-seconds", type=float, default=0.0,
                    help="train on shorter segments than the model's export segment (weights are shape-independent "
                         "for demucs/bsrnn); 0 = the model's own segment")
    ap.add_argument("--stems", default=None,
                    help="comma-separated output stems (default: the architecture's four); e.g. "
                         "drums,bass,other for the instrumental splitter trained on --no-vocals data")
    ap.add_argument("--procs", type=int, default=1,
                    help="data-parallel processes (gradients averaged each step); on 2 cores, --procs 2 --threads 1 "
                         "trains faster than one process with 2 threads. --batch is per process")
    ap.add_argument("--real-acc", default=None,
                    help="pool of real instrumental music (python -m training.data.soundtracks) mixed under generated "
                         "vocal stems as accompaniment-only items")
    ap.add_argument("--p-real-acc", type=float, default=0.3, help="share of a batch's items drawn from --real-acc")
    ap.add_argument("--pseudo-stems", action="store_true",
                    help="--real-acc items carry their teacher-made drums/bass/other (python -m training.data.pseudo_stems) "
                         "and train all four stems")
    ap.add_argument("--rank", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.procs > 1 and a.rank is None:
        launch(a.procs)
        return
    train(a, a.rank or 0)


def launch(procs: int) -> None:
    """Start one process per rank (each runs this script with --rank) and pass signals on to them."""
    port = str(29500 + os.getpid() % 1000)
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
    kids = [subprocess.Popen([sys.executable, *sys.argv, "--rank", str(r)], env=env) for r in range(procs)]

    def forward(sig, _frame):
        for k in kids:
            if k.poll() is None:
                k.send_signal(sig)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [k.wait() for k in kids]
    sys.exit(max(codes))


def train(a, rank: int) -> None:
    world = a.procs
    lead = rank == 0
    if world > 1:
        import torch.distributed as dist
        dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    run = a.run or f"{a.arch}-{a.config}"
    ck_dir = os.path.join(a.runs, run)
    log_dir = os.path.join(a.logs, run)
    os.makedirs(ck_dir, exist_ok=True)
    os.makedirs(log_dir, exist_ok=True)
    log = os.path.join(log_dir, "log.jsonl")

    torch.manual_seed(a.seed)
    kw = {"segment": int(a.segment_seconds * 44100)} if a.segment_seconds else {}
    if a.stems:
        kw["stems"] = a.stems.split(",")
    model = build_model(a.arch, a.config, **kw)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    state = {"step": 0, "cpu_seconds": 0.0, "wall_seconds": 0.0, "best": -1e9, "best_step": 0,
             "best_real": -1e9, "best_real_step": 0}
    last = os.path.join(ck_dir, "last.pt")
    # The committed seed (training/checkpoints/<run>.pt: weights + counters, no optimiser state,
    # kept small for the repo) lets a fresh machine continue where the last session stopped.
    seed = os.path.join(HERE, "checkpoints", f"{run}.pt")
    source = last if os.path.exists(last) else seed if os.path.exists(seed) else None
    if source:
        ck = torch.load(source, map_location="cpu")
        model.load_state_dict(ck["model"])
        if "opt" in ck:
            opt.load_state_dict(ck["opt"])
        state.update(ck["state"])
        print(f"rank {rank}: resumed {run} at step {state['step']}" + ("" if source == last else " (committed seed, fresh optimiser)"), flush=True)
        if lead:
            log_line(log, {"resume": run, "procs": world, "step": state["step"], "from": "last.pt" if source == last else "seed",
                           "threads": a.threads, "batch": a.batch * world, "lr": a.lr, "lr_final": a.lr_final,
                           "minutes": a.minutes, "segment": model.segment, "real_acc": a.real_acc,
                           "p_real_acc": a.p_real_acc, "pseudo_stems": a.pseudo_stems,
                           "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    elif lead:
        log_line(log, {"start": run, "arch": a.arch, "config": a.config, "params": count_params(model),
                       "segment": model.segment, "threads": a.threads, "stems": model.stems, "batch": a.batch, "lr": a.lr,
                       "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    rng = np.random.default_rng([a.seed, state["step"], rank])
    cache = ChunkCache(a.cache, "train")
    while len(cache.files) < 8:
        print("waiting for the chunk cache…", flush=True)
        time.sleep(20)
        cache.refresh()
    vitems = valid_items(a.cache, a.valid_items, model.segment)
    vreal = read_track_folders(a.valid_real) if a.valid_real and lead else []
    if a.valid_real and lead and not vreal:
        sys.exit(f"--valid-real: no track folders in {a.valid_real}; run training/real_heldout_set.py --out {a.valid_real}")
    pool = None
    if a.real_acc:
        from data.soundtracks import SoundtrackPool
        pool = SoundtrackPool(a.real_acc)
        if a.pseudo_stems and not pool.has_stems():
            sys.exit(f"--pseudo-stems: {a.real_acc} lacks pseudo-stems; run python -m training.data.pseudo_stems --pool {a.real_acc}")

    cpu0, wall0 = time.process_time(), time.time()
    base_cpu, base_wall = state["cpu_seconds"], state["wall_seconds"]
    cpu_ranks = {"others": 0.0}  # CPU seconds of the other ranks this invocation (summed each step)

    def cpu_seconds() -> float:
        return base_cpu + time.process_time() - cpu0 + cpu_ranks["others"]

    def save(path: str) -> None:
        state["cpu_seconds"] = cpu_seconds()
        state["wall_seconds"] = base_wall + time.time() - wall0
        tmp = path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state,
                    "arch": a.arch, "config": a.config}, tmp)
        os.replace(tmp, path)

    stop = {"now": False}

    def on_signal(*_):
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def validate() -> None:
        if not vitems or not lead:
            return
        res = eval_generated(model, vitems)
        model.train()
        log_line(log, {"step": state["step"], "valid": res, "cpu_h": round(cpu_seconds() / 3600, 4),
                       "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        print("valid", state["step"], res, flush=True)
        if res.get("avg") is not None and res["avg"] > state["best"]:
            state["best"], state["best_step"] = res["avg"], state["step"]
            save(os.path.join(ck_dir, "best.pt"))
        if vreal:
            real = eval_track_folders(model, vreal)
            model.train()
            log_line(log, {"step": state["step"], "valid_real": real, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            print("valid_real", state["step"], real, flush=True)
            if real.get("avg") is not None and real["avg"] > state.get("best_real", -1e9):
                state["best_real"], state["best_real_step"] = real["avg"], state["step"]
                save(os.path.join(ck_dir, "best-real.pt"))

    params = [p for p in model.parameters() if p.requires_grad]

    def sync_gradients() -> None:
        """Average gradients over the ranks; the last slot carries each rank's CPU seconds (summed)."""
        import torch.distributed as dist
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        own_cpu = time.process_time() - cpu0
        flat = torch.cat([p.grad.reshape(-1) for p in params] + [torch.tensor([own_cpu])])
        dist.all_reduce(flat)
        cpu_ranks["others"] = float(flat[-1]) - own_cpu
        flat = flat[:-1] / world
        o = 0
        for p in params:
            n = p.numel()
            p.grad.copy_(flat[o:o + n].view_as(p))
            o += n

    def control(lr_now: float) -> tuple[float, bool]:
        """Rank 0 decides the learning rate and when to stop; the others follow (same step count)."""
        done = stop["now"] or time.time() >= end or state["step"] >= a.max_steps
        if world == 1:
            return lr_now, done
        import torch.distributed as dist
        t = torch.tensor([lr_now, float(done)], dtype=torch.float64)
        dist.broadcast(t, 0)
        return float(t[0]), bool(t[1] > 0)

    model.train()
    t_ck = t_val = time.time()
    t_refresh = time.time()
    losses = []
    t_start = time.time()
    end = t_start + a.minutes * 60
    while True:
        lr_now = a.lr
        if a.lr_final is not None:  # cosine over this invocation's wall-clock budget
            frac = min(1.0, (time.time() - t_start) / (a.minutes * 60))
            lr_now = a.lr_final + 0.5 * (a.lr - a.lr_final) * (1 + np.cos(np.pi * frac))
        lr_now, done = control(lr_now)
        if done:
            break
        if time.time() - t_refresh > 120:
            cache.refresh()
            if pool:
                pool.refresh()
            t_refresh = time.time()
        items = [sample_real_karaoke(cache, pool, model.segment, rng, a.pseudo_stems) if pool and rng.random() < a.p_real_acc
                 else sample_item(cache, model.segment, rng, a.p_remix) for _ in range(a.batch)]
        norm = [to_model_order(x, model.stems) for x, acc in items if not acc]
        karaoke = [x for x, acc in items if acc]
        for g in opt.param_groups:
            g["lr"] = lr_now
        opt.zero_grad(set_to_none=True)
        loss_total = 0.0
        n_all = len(items)
        if norm:
            tg = torch.from_numpy(np.stack(norm))
            loss = model.loss(tg.sum(1), tg) * (len(norm) / n_all)
            loss.backward()
            loss_total += float(loss)
        if karaoke:
            from data.dataset import CACHE_STEMS
            x = np.stack(karaoke)
            voc = torch.from_numpy(x[:, CACHE_STEMS.index("vocals")])
            acc_t = torch.from_numpy(x[:, [i for i, s in enumerate(CACHE_STEMS) if s != "vocals"]].sum(1))
            own = getattr(model, "acc_loss", None)   # a model's own loss for stem-less accompaniments
            loss = (own(voc + acc_t, voc, acc_t) if own else acc_loss(model, voc + acc_t, voc, acc_t)) * (len(karaoke) / n_all)
            loss.backward()
            loss_total += float(loss)
        if world > 1:
            sync_gradients()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        state["step"] += 1
        losses.append(loss_total)
        if not lead:
            continue
        if state["step"] % a.log_every == 0:
            cpu_h = cpu_seconds() / 3600
            wall_h = (base_wall + time.time() - wall0) / 3600
            log_line(log, {"step": state["step"], "loss": round(float(np.mean(losses)), 5), "lr": round(lr_now, 7),
                           "cpu_h": round(cpu_h, 4), "wall_h": round(wall_h, 4), "chunks": len(cache.files),
                           "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            print(state["step"], np.mean(losses), f"cpu_h={cpu_h:.3f}", flush=True)
            losses = []
        if time.time() - t_ck > a.ckpt_minutes * 60:
            save(last)
            t_ck = time.time()
        if time.time() - t_val > a.valid_minutes * 60:
            validate()
            t_val = time.time()
    if lead:
        validate()
        save(last)
        print("saved", last, state, flush=True)


if __name__ == "__main__":
    main()
