#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Regenerates tests/fuzz/corpus/ from the repository's fixtures: real headers, configs, tokenizers,
# templates, tegrastats lines, intervention lines and server requests, plus truncated variants. Small on purpose.
#   python3 tests/fuzz/make_seeds.py
import hashlib, json, os, struct, pathlib

root = pathlib.Path(__file__).resolve().parents[2]
fx = root / "tests" / "fixtures"
out = root / "tests" / "fuzz" / "corpus"


def put(target, data, limit=16384):
    if isinstance(data, str):
        data = data.encode()
    data = data[:limit]
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def with_truncations(target, data, limit=16384):
    put(target, data, limit)
    for frac in (0.5, 0.9):
        put(target, data[: int(len(data) * frac)], limit)


# safetensors: two whole small shards, plus header-only and cut-off files of the others.
for shard in ("model-00011-of-00018.safetensors", "model-00018-of-00018.safetensors"):
    put("fuzz_safetensors_header", (fx / "models/tiny-groups-bf16-sharded" / shard).read_bytes())
for model in ("tiny-fused-experts", "tiny-every-kind", "tiny-latent-biases-bf16"):
    raw = (fx / "models" / model / "model.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    if 8 + n <= 16384:
        put("fuzz_safetensors_header", raw[: 8 + n])
        put("fuzz_safetensors_header", raw[: 8 + n + 64])
    put("fuzz_safetensors_header", raw[:200])
    # The header alone with the data size it claims, small tensors only.
    header = json.loads(raw[8 : 8 + n])
    small = {k: v for k, v in header.items() if k == "__metadata__" or v["data_offsets"][1] - v["data_offsets"][0] <= 64}
    base = min((v["data_offsets"][0] for k, v in small.items() if k != "__metadata__"), default=0)
    for k, v in small.items():
        if k != "__metadata__":
            v["data_offsets"] = [v["data_offsets"][0] - base, v["data_offsets"][1] - base]
    body = json.dumps(small, separators=(",", ":")).encode()
    size = max((v["data_offsets"][1] for k, v in small.items() if k != "__metadata__"), default=0)
    put("fuzz_safetensors_header", struct.pack("<Q", len(body)) + body + bytes(size))

# config.json
for path in sorted((fx / "models").glob("*/config.json")) + sorted((fx / "configs").glob("*.json")):
    with_truncations("fuzz_config", path.read_bytes())

# tokenizer.json (whole) and encode inputs
for path in sorted((fx / "tokenizer/synthetic").glob("*/tokenizer.json")):
    with_truncations("fuzz_tokenizer_json", path.read_bytes())
texts = (fx / "tokenizer/llama.cpp/ggml-vocab-qwen2.gguf.inp").read_bytes().split(b"\n__ggml_vocab_test__\n")
for i, text in enumerate(t for t in texts if t.strip()):
    if i < 24:
        put("fuzz_tokenizer_encode", bytes([i % 8]) + text, 4096)
put("fuzz_tokenizer_encode", b"\x00Hello <think>world</think> caf\xc3\xa9 \xf0\x9f\x98\x80\xff\xfe")
put("fuzz_tokenizer_json", (fx / "tokenizer/synthetic/splits/tokenizer.json").read_bytes() + b"\x00  Hello\n\n\tworld 123 \xe2\x80")

# chat templates
for path in sorted((fx / "chat/templates").glob("*.jinja")):
    if "crlf" in path.name:
        continue
    with_truncations("fuzz_chat_template", path.read_bytes())
for snippet in ("{{ messages[0]['content'] | upper }}", "{% for m in messages %}{{ loop.index }}{{ m.role }}{% endfor %}",
                "{% macro f(x) %}{{ x }}{% endmacro %}{{ f(1) ~ f('a') }}", "{{ (tools | tojson(indent=2))[:40] }}",
                "{% set ns = namespace(a=1) %}{% set ns.a = ns.a + 1 %}{{ ns.a }}{{ raise_exception('x') if false }}",
                "{{ strftime_now('%d %b %Y') }}{{ '%s' | format(1) }}{{ [1,2,3] | join(',') }}{{ {'a':1}.items() | list }}"):
    put("fuzz_chat_template", snippet)

# tegrastats: the first lines of each device's capture and a cut-off line
for path in sorted((fx / "tegrastats").glob("*.txt")):
    lines = path.read_bytes().splitlines()
    put("fuzz_tegrastats", b"\n".join(lines[:2]))
    if lines:
        put("fuzz_tegrastats", lines[0][: len(lines[0]) // 2])

# interventions: describe()'s lines and what a person types (tests/unit/session/test_interventions.cpp)
for text in ("from 12: mask 4:17, force 6:1,2, scale 9:shared:0.5, skip 3", "mask *:17; skip 3",
             "mask 1:2 mask *:0 force 2:0,1,5 scale 2:routed:0.1 scale 5:shared:2.5e-3 skip 0 skip 7",
             "from 0: scale 3:routed:-1", "force 2:", "mask 4", "from x: skip 1"):
    put("fuzz_interventions", text)

# server requests
requests = [
    {"model": "tiny", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8},
    {"model": "tiny", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
     "temperature": 0.7, "top_p": 0.9, "stop": ["\n"], "stream": True, "seed": 3, "logprobs": True, "top_logprobs": 2},
    {"model": "tiny", "messages": [{"role": "user", "content": "weather?"}], "tools": [{"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}],
     "chat_template_kwargs": {"enable_thinking": False}, "max_completion_tokens": 4},
    {"model": "tiny", "prompt": "Once upon", "max_tokens": 4, "stop": "x"},
    {"model": "tiny", "prompt": [1, 2, 3], "n": 1, "stream_options": {"include_usage": True}},
    {"model": "tiny", "messages": "nope", "max_tokens": -1},
]
for r in requests:
    with_truncations("fuzz_server_request", json.dumps(r))
