#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Loads a Logitscope trace (logitscope-cli trace --out DIR) with numpy alone; see docs/traces.md.

In a notebook:
    import sys; sys.path.insert(0, "tools")
    from read_trace import load_trace
    trace = load_trace("DIR")
    trace.meta["layers"], trace.records[5]["top_k"], trace.arrays["routing_experts"].shape

From a shell:
    python3 tools/read_trace.py DIR           # a summary, after checking the files agree
    python3 tools/read_trace.py DIR --json    # every array as nested lists (NaN as null) plus meta
"""
import json
import math
import os
import sys
from dataclasses import dataclass

import numpy as np

FORMAT = "logitscope-trace"


@dataclass
class Trace:
    meta: dict      # meta.json: model, layers, moe_layers, what each array holds ("arrays")
    records: list   # trace.jsonl: one dict per token
    arrays: dict    # name -> numpy array, shapes and index meanings in meta["arrays"]


def load_trace(folder):
    """Reads meta.json, trace.jsonl and every array meta.json lists; checks shapes and dtypes."""
    with open(os.path.join(folder, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    if meta.get("format") != FORMAT or meta.get("version") != 1:
        raise ValueError(f"{folder}/meta.json: not a version 1 {FORMAT} (format {meta.get('format')!r}, "
                         f"version {meta.get('version')!r})")
    with open(os.path.join(folder, "trace.jsonl"), encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    arrays = {}
    for name, info in meta["arrays"].items():
        array = np.load(os.path.join(folder, info["file"]), allow_pickle=False)
        if list(array.shape) != list(info["shape"]) or array.dtype != np.dtype(info["dtype"]):
            raise ValueError(f"{folder}/{info['file']}: {array.dtype} {list(array.shape)}, meta.json says "
                             f"{info['dtype']} {info['shape']}")
        arrays[name] = array
    return Trace(meta, records, arrays)


def check(trace):
    """The JSONL and the arrays describe the same tokens; raises ValueError naming the first mismatch."""
    T = trace.meta["tokens"]
    if len(trace.records) != T:
        raise ValueError(f"trace.jsonl has {len(trace.records)} lines for {T} tokens")
    a = trace.arrays
    for t, r in enumerate(trace.records):
        if r["pos"] != t or r["id"] != int(a["ids"][t]):
            raise ValueError(f"token {t}: trace.jsonl says pos {r['pos']} id {r['id']}, ids.npy {a['ids'][t]}")
        lp = a["logprob"][t]
        if (r["logprob"] is None) != bool(np.isnan(lp)) or (r["logprob"] is not None and
                                                             not math.isclose(r["logprob"], float(lp), rel_tol=1e-6, abs_tol=1e-6)):
            raise ValueError(f"token {t}: logprob {r['logprob']} in trace.jsonl, {lp} in logprob.npy")
        ids = [e["id"] for e in r["top_k"]]
        if ids != [int(i) for i in a["topk_ids"][t][:len(ids)]]:
            raise ValueError(f"token {t}: top-k ids {ids} in trace.jsonl, {a['topk_ids'][t].tolist()} in topk_ids.npy")
        for s in r["routing"]:
            m = trace.meta["moe_layers"].index(s["layer"])
            if [int(e) for e in a["routing_experts"][t, m, :len(s["experts"])]] != s["experts"]:
                raise ValueError(f"token {t} layer {s['layer']}: experts differ between trace.jsonl and routing_experts.npy")


def as_json(trace):
    def plain(x):
        if isinstance(x, float) and math.isnan(x):
            return None
        return [plain(v) for v in x] if isinstance(x, list) else x
    return {"meta": trace.meta, "arrays": {k: plain(v.tolist()) for k, v in trace.arrays.items()}}


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    trace = load_trace(argv[1])
    check(trace)
    if "--json" in argv[2:]:
        json.dump(as_json(trace), sys.stdout)
        print()
        return 0
    m = trace.meta
    print(f"{argv[1]}: {m['model']} ({m['weight_format']}, {m['backend']}), {m['tokens']} tokens, layers {m['layers']}"
          + (f", interventions: {m['interventions']}" if m["interventions"] else ""))
    lp = trace.arrays["logprob"][1:]
    if lp.size:
        print(f"mean NLL {-float(np.mean(lp)):.4f} nats/token, perplexity {math.exp(-float(np.mean(lp))):.3f}")
    for name, array in trace.arrays.items():
        print(f"  {name:18s} {str(array.dtype):8s} {list(array.shape)}  {m['arrays'][name]['index']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
