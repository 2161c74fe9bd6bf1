#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hugging Face transformers on the same shape, card and settings as `logitscope-cli bench`.

The side-by-side baseline of issue 4: builds NemotronHForCausalLM from a config.json with random
(never zero) bf16 weights directly on the GPU, then measures what `bench` measures: prefill tokens/s
for the given prompt lengths, time to first token for a 28-token prompt, and greedy decode tokens/s
with `--context` tokens already in the cache (median step). Prints the card's name. Runs where
torch + transformers >= 5 with NemotronH are installed (the GPU machine); it needs the whole model
in GPU memory (63 GB at the 30B-A3B shape).

  python3 tools/bench/hf_baseline.py tools/bench/configs/nemotron-3-nano-30b-a3b.json \
      [--context 1024] [--decode-tokens 16] [--prefill 128,2048]
"""
import argparse
import statistics
import time

import torch
from transformers import NemotronHConfig, NemotronHForCausalLM


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--context", type=int, default=1024)
    ap.add_argument("--decode-tokens", type=int, default=16)
    ap.add_argument("--prefill", default="128,2048")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("hf_baseline: no CUDA device")

    torch.manual_seed(args.seed)
    config = NemotronHConfig.from_json_file(args.config)
    dev = torch.device("cuda")
    t0 = time.perf_counter()
    torch.set_default_dtype(torch.bfloat16)  # built in bf16: fp32 first would need 126 GB
    with torch.device(dev):
        model = NemotronHForCausalLM(config).eval()
    model.to(torch.bfloat16)
    # Random, never zero: |v| in [0.1, 1] * 0.02 with a random sign (as bench --synthetic does).
    with torch.no_grad():
        for p in model.parameters():
            if p.dtype.is_floating_point:
                mag = torch.empty_like(p, dtype=torch.float32).uniform_(0.1, 1.0) * 0.02
                sign = torch.randint(0, 2, p.shape, device=dev, dtype=torch.int8) * 2 - 1
                p.copy_((mag * sign).to(p.dtype))
    torch.cuda.synchronize()
    params = sum(p.numel() for p in model.parameters())
    print(f"device                 {torch.cuda.get_device_name(0)}")
    print(f"transformers model     NemotronHForCausalLM, {params / 1e9:.2f} B parameters, bf16 "
          f"(built in {time.perf_counter() - t0:.1f} s)")
    vocab = config.vocab_size

    def tokens(n, salt):
        g = torch.Generator(device="cpu").manual_seed(salt)
        return torch.randint(3, vocab, (1, n), generator=g).to(dev)

    def timed(fn):
        torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        return out, time.perf_counter() - start

    with torch.inference_mode():
        for n in [int(x) for x in args.prefill.split(",") if x]:
            ids = tokens(n, 7)
            model(ids, use_cache=True)  # warm-up
            _, s = timed(lambda: model(ids, use_cache=True))
            print(f"prefill {n:<6} tokens   {n / s:.0f} tok/s")
        ids = tokens(28, 3)
        _, s = timed(lambda: model(ids, use_cache=True).logits[:, -1].argmax(-1))
        print(f"time to first token    {s * 1e3:.2f} ms (28-token prompt)")

        out, s = timed(lambda: model(tokens(args.context, 11), use_cache=True))
        cache = out.past_key_values
        nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        steps = []
        for i in range(args.decode_tokens + 2):
            out, s = timed(lambda: model(nxt, past_key_values=cache, use_cache=True))
            cache = out.past_key_values
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            if i >= 2:  # the first steps warm caches and clocks
                steps.append(s)
        ms = statistics.median(steps) * 1e3
        print(f"context                {args.context} tokens")
        print(f"decode                 {ms:.3f} ms/token = {1e3 / ms:.1f} tok/s (median of {len(steps)})")
        print(f"peak device memory     {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
