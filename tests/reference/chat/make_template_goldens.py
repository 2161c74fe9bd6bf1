#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Regenerates tests/fixtures/chat/goldens/ with Python Jinja2, rendered exactly the way
transformers' apply_chat_template renders (transformers/utils/chat_template_utils.py):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols,
generation tag]), tojson = json.dumps(ensure_ascii=False, ...), raise_exception, strftime_now, and
render(messages=..., tools=..., documents=..., add_generation_prompt=..., **special_tokens, **kwargs).

Usage (from the repository root; needs python3-jinja2 >= 3.1):
    python3 tests/reference/chat/make_template_goldens.py [--copy-templates-from DIR]

Every template in tests/fixtures/chat/templates/ is rendered with every conversation in
tests/fixtures/chat/conversations/ under add_generation_prompt on/off and enable_thinking
unset/true/false. One goldens/<template>.json per template holds each case's full context and the
output, or the exception the template raised. goldens/snippets.json holds small feature probes.
strftime_now is pinned to FIXED_NOW so the goldens are reproducible (the C++ test pins the same).
"""
import argparse
import datetime
import json
import pathlib
import shutil
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "chat"
FIXED_NOW = datetime.datetime(2025, 3, 14, 9, 26, 53)

# special_tokens_map entries transformers adds to the render kwargs (from each model's
# tokenizer_config.json; a missing token is not passed at all).
SPECIAL_TOKENS = {
    "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16": {"bos_token": "<s>", "eos_token": "<|im_end|>"},
    "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.crlf-orig": {"bos_token": "<s>", "eos_token": "<|im_end|>"},
    "Qwen-Qwen3-0.6B": {"eos_token": "<|im_end|>"},
    "HuggingFaceTB-SmolLM3-3B": {"eos_token": "<|im_end|>"},
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "ibm-granite-granite-3.3-2B-Instruct": {"bos_token": "<|end_of_text|>", "eos_token": "<|end_of_text|>"},
    "meta-llama-Llama-3.1-8B-Instruct": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
}


class GenerationTag(jinja2.ext.Extension):
    """transformers' AssistantTracker: {% generation %}...{% endgeneration %} renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return FIXED_NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(template, context):
    kwargs = {"tools": None, "documents": None, "add_generation_prompt": False}
    kwargs.update(context)
    try:
        return {"output": template.render(**kwargs)}
    except Exception as e:  # the C++ side must fail too; TemplateError messages must match
        return {"error": {"type": type(e).__name__, "message": str(e)}}


def template_cases(env, path, conversations):
    special = SPECIAL_TOKENS.get(path.stem, {})
    source = path.read_bytes().decode("utf-8")
    template = env.from_string(source)
    cases = []
    for conv_name, conv in conversations:
        for agp in (False, True):
            for thinking in (None, True, False):
                context = dict(conv)
                context.update(special)
                context["add_generation_prompt"] = agp
                if thinking is not None:
                    context["enable_thinking"] = thinking
                name = f"{conv_name}/agp={int(agp)}/think={'unset' if thinking is None else int(thinking)}"
                case = {"name": name, "context": context}
                case.update(render(template, context))
                cases.append(case)
    return cases


# Small probes of single features, each checked against Jinja2 byte for byte.
SNIPPETS = [
    ("ws_lstrip_trim", "  {% if true %}\n    x\n  {% endif %}\n  y\n{{ 'z' }}  \n{# c #}\n  {#- c -#}  w"),
    ("ws_minus", "a  \n {%- if true -%}  \n b \n {%- endif %}\nc {{- ' d ' -}} e\n{{ 'f' }}\n"),
    ("ws_plus", "  {%+ if true %}x{% endif +%}\n  {{ 'y' }}"),
    ("ws_var_no_lstrip", "line\n    {{ 'v' }}\n    {% set a = 1 %}\n"),
    ("raw", "{% raw %}{{ not rendered }} {% if %}{% endraw %}\n{%- raw -%}  x  {%- endraw %}"),
    ("comments", "{# a\nmulti-line comment #}a{#- trimmed -#}  b\n{# x #}\nc"),
    ("crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc\r\n"),
    ("trailing_newline_dropped", "x\n"),
    ("trailing_newlines_two", "x\n\n"),
    ("literals", "{{ 1 }} {{ -2 }} {{ 1.5 }} {{ 1e3 }} {{ 2.50 }} {{ 1_000 }} {{ 'a' 'b' }} {{ \"q\\\"q\" }} {{ 'tab\\tnl\\n\\u00e9\\x41' }} {{ none }} {{ None }} {{ true }} {{ False }}"),
    ("arith", "{{ 7 + 3 }} {{ 7 - 10 }} {{ 2 * 3.5 }} {{ 7 / 2 }} {{ 6 / 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 8 }} {{ 2 ** -1 }} {{ 'ab' * 3 }} {{ [1] * 2 }} {{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1.5e-5 }} {{ 123456789.0 * 1000 }} {{ -0.0 }}"),
    ("concat", "{{ 'a' ~ 1 ~ none ~ true ~ [1, 'x'] ~ undefined_var ~ 2.0 }}"),
    ("compare", "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ true == 1 }} {{ [1,2] == [1,2] }} {{ 'x' != 'y' }} {{ 2 >= 2 }} {{ none == none }}"),
    ("in_notin", "{{ 'a' in 'cat' }} {{ 'z' not in 'cat' }} {{ 2 in [1,2] }} {{ 'k' in {'k': 1} }} {{ 'x' in undefined_var }} {{ not 'a' in 'b' }}"),
    ("logic", "{{ 0 or 'x' }} {{ 1 and 'y' }} {{ '' and 'z' }} {{ none or [] }} {{ not none }} {{ 'x' if false }}|{{ 'a' if 0 else 'b' if 1 else 'c' }}"),
    ("python_str", "{{ [1, 'a', none, true, 2.5, {'k': [1]}, ('t',), (1, 2)] }} {{ {'a': \"it's\", 'b': 'say \"hi\"', 'c': 'both \\' \"'} }} {{ ['nl\\nx', 'é', '\\x00'] }}"),
    ("slices", "{% set s = 'héllo wörld' %}{{ s[1:4] }}|{{ s[-3:] }}|{{ s[::-1] }}|{{ s[::2] }}|{{ s[-1] }}|{{ s[0] }}|{% set l = [1,2,3,4,5] %}{{ l[1:] }}{{ l[:-2] }}{{ l[::-2] }}{{ l[-1] }}{{ l[10:] }}{{ l[-10:2] }}"),
    ("getattr_getitem", "{% set d = {'a': {'b': [10, 20]}, 'items': 'shadowed'} %}{{ d.a.b[1] }} {{ d['a']['b'][-1] }} {{ d.a.b.0 }} {{ d['items'] }} {{ d.missing }}|{{ d.get('a').b }} {{ d.get('zz', 'dflt') }} {{ d.get('zz') }}"),
    ("string_methods", "{% set s = '  Hello, World  ' %}[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ 'xxaxx'.strip('x') }}][{{ 'abc'.lstrip('ab') }}][{{ s.upper() }}][{{ s.lower() }}][{{ 'hello world'.title() }}][{{ 'hELLO'.capitalize() }}][{{ s.find('World') }}][{{ s.find('zz') }}][{{ 'banana'.count('an') }}][{{ 'a-b-c'.replace('-', '+') }}][{{ 'a-b-c'.replace('-', '', 1) }}][{{ s.startswith('  He') }}][{{ s.endswith(('x', '  ')) }}]"),
    ("split", "{{ 'a,b,,c'.split(',') }} {{ '  a  b c '.split() }} {{ 'a b c'.split(None, 1) }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ '  a  b c '.rsplit(None, 1) }} {{ 'x</think>y</think>z'.split('</think>')[-1] }} {{ 'l1\\nl2\\r\\nl3'.splitlines() }}"),
    ("format_methods", "{{ '{} and {}'.format('a', 1) }} {{ '{0}{1}{0}'.format('x', 'y') }} {{ '{name}!'.format(name='hi') }} {{ '%s=%d' % ('n', 5) }} {{ '%s' % 'solo' }} {{ '%05.1f|%r' % (3.14159, 'q') }}"),
    ("dict_methods", "{% set d = {'b': 2, 'a': 1} %}{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ d.keys() | list }} {{ d.values() | list }} {% for k in d %}{{ k }}{% endfor %}"),
    ("loop_vars", "{% for x in ['a', 'b', 'c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}[{{ loop.previtem }}|{{ loop.nextitem }}]{{ loop.cycle('o', 'e') }};{% endfor %}"),
    ("loop_filter_else", "{% for x in range(10) if x is odd %}{{ x }}{{ loop.length }},{% else %}none{% endfor %}|{% for x in [] %}{{ x }}{% else %}empty{% endfor %}|{% for x in undefined_var %}{{ x }}{% else %}undef-empty{% endfor %}"),
    ("loop_controls", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
    ("loop_unpack", "{% for a, b in [[1, 2], (3, 4)] %}{{ a }}-{{ b }} {% endfor %}{% for k, v in {'x': 1} | items %}{{ k }}{{ v }}{% endfor %}{% for c in 'hé' %}[{{ c }}]{% endfor %}"),
    ("scoping", "{% set x = 0 %}{% for i in range(3) %}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}|{% set ns = namespace(n=0, items=[]) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}|{% if true %}{% set y = 'in-if' %}{% endif %}{{ y }}"),
    ("namespace", "{% set ns = namespace(a=1, b='x') %}{% set ns.a = ns.a + 1 %}{{ ns.a }}{{ ns.b }}{{ ns.c }}|{% set ns2 = namespace({'k': 'v'}, z=3) %}{{ ns2.k }}{{ ns2.z }}"),
    ("set_block", "{% set block %}\n  inner {{ 1 + 1 }}\n{% endset %}[{{ block }}]{% set up | upper %}shout{% endset %}{{ up }}"),
    ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, %}{{ t }}{% set (c, d) = ['x', 'y'] %}{{ c }}{{ d }}"),
    ("macros", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C', punct='.') }}{% macro outer() %}[{{ caller() }}]{% endmacro %}{% call outer() %}inside{% endcall %}{% macro args() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ args(1, 2, k=3) }}"),
    ("macro_caller_args", "{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) each([1, 2]) %}<{{ x }}>{% endcall %}"),
    ("macro_scope", "{% macro m() %}{{ v }}{% endmacro %}{% set v = 1 %}{{ m() }}{% set v = 2 %}{{ m() }}"),
    ("filter_block", "{% filter upper %}abc {{ 'd' }}{% endfilter %}{% filter trim | replace('x', 'y') %}  xx  {% endfilter %}"),
    ("with_block", "{% with a = 1, b = 'two' %}{{ a }}{{ b }}{% endwith %}{{ a }}"),
    ("generation_tag", "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}{% endfor %}"),
    ("filters_text", "{{ '  x  ' | trim }}|{{ 'xxyxx' | trim('x') }}|{{ 'ab' | upper }}{{ 'AB' | lower }}|{{ 'hello wORLD-foo (bar' | title }}|{{ 'hELLO world' | capitalize }}|{{ 'a-b' | replace('-', '=') }}|{{ 'one two  three' | wordcount }}|{{ 'abc' | reverse }}|{{ 'x' | center(5) }}|{{ '<&\\'\">' | e }}|{{ 'lorem ipsum dolor sit amet' | truncate(12) }}|{{ '%s-%s' | format(1, 2) }}"),
    ("filters_lists", "{% set l = [3, 1, 2, 1] %}{{ l | length }}{{ l | count }}{{ l | first }}{{ l | last }}{{ l | sort }}{{ l | sort(reverse=true) }}{{ l | unique | list }}{{ l | sum }}{{ l | max }}{{ l | min }}{{ l | join(',') }}{{ l | reverse | list }}{{ 'abc' | list }}{{ ['B', 'a', 'C'] | sort }}{{ ['a', 'A', 'b'] | unique | list }}"),
    ("filters_select", "{% set ms = [{'role': 'user', 'n': 1}, {'role': 'assistant', 'n': 2}, {'role': 'user', 'n': 3}] %}{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='n') | list }}{{ ms | rejectattr('role', 'eq', 'user') | list | length }}{{ [1, 2, 3, 4] | select('even') | list }}{{ [1, 2, 3, 4] | reject('odd') | list }}{{ ['a', 'b'] | map('upper') | join }}{{ [0, 1, '', 'x'] | select | list }}{{ ms | map(attribute='missing', default='d') | list }}{{ ms | selectattr('n', 'gt', 1) | map(attribute='n') | join('+') }}{{ ['code_interpreter', 'x'] | reject('equalto', 'code_interpreter') | join(', ') }}"),
    ("filters_convert", "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ '0x1A' | int(0, 16) }} {{ '2.5' | float }} {{ 'y' | float }} {{ 3 | float }} {{ 1 | string }} {{ [1] | string }} {{ none | string }} {{ true | string }} {{ -3 | abs }} {{ 2.675 | round(2) }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 7 | round }} {{ 1.23456 | round(2, 'floor') }} {{ 1.21 | round(1, 'ceil') }}"),
    ("filters_dict", "{% set d = {'b': 1, 'A': 2, 'c': 0} %}{{ d | dictsort }}{{ d | dictsort(true) }}{{ d | dictsort(by='value') }}{{ d | items | list }}{{ d | list }}{{ d | length }}"),
    ("filters_default", "{{ undefined_var | default('dflt') }}|{{ '' | default('dflt') }}|{{ '' | default('dflt', true) }}|{{ none | default('n') }}|{{ none | d('n', true) }}|{{ undefined_var | d }}|{{ 0 | default(5, boolean=true) }}"),
    ("filters_indent", "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent('>', blank=true) }}|{{ 'x\\n' | indent(first=true) }}"),
    ("tojson", "{{ {'b': 1, 'a': [1, 2.5, none, true, 'é\"\\\\\\n<>&\\'']} | tojson }}|{{ {'b': 1, 'a': {'c': []}, 'd': {}} | tojson(indent=2) }}|{{ [1, {'x': 'y'}] | tojson(indent=4) }}|{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}|{{ 'ü🚀\\t' | tojson }}|{{ 'ü' | tojson(true) }}|{{ {'a': 1} | tojson(separators=(',', ':')) }}|{{ 3.0 | tojson }} {{ 1e20 | tojson }} {{ 'x' | tojson | safe }}"),
    ("tests", "{{ undefined_var is defined }}{{ undefined_var is undefined }}{{ none is none }}{{ 'x' is string }}{{ {} is mapping }}{{ [] is mapping }}{{ 'x' is iterable }}{{ 1 is iterable }}{{ undefined_var is iterable }}{{ [] is sequence }}{{ 'x' is sequence }}{{ {} is sequence }}{{ 1 is number }}{{ 1.5 is number }}{{ true is number }}{{ 1 is integer }}{{ true is integer }}{{ 1.0 is integer }}{{ 1.0 is float }}{{ true is boolean }}{{ 1 is boolean }}{{ true is true }}{{ 1 is true }}{{ false is false }}{{ 3 is odd }}{{ 3 is even }}{{ 9 is divisibleby 3 }}{{ 'a' is equalto 'a' }}{{ 1 is eq 1 }}{{ 2 is in [1, 2] }}{{ 'x' is not in 'abc' }}{{ range is callable }}{{ 'x' is callable }}{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ none is sameas none }}{{ 3 is gt 2 }}{{ 3 is lt 2 }}{{ 'x'.upper is callable }}{{ 'upper' is filter }}{{ 'odd' is test }}"),
    ("undefined_behaviour", "[{{ u }}][{{ u | length }}][{{ u | list }}][{{ u | trim }}][{{ u | string }}][{{ u is none }}][{{ not u }}][{{ u == u }}][{{ u ~ 'x' }}][{% for x in u %}{{ x }}{% endfor %}][{{ u | items | list }}][{{ u | default('d') }}][{{ {'a': 1}.b }}][{{ [1][5] }}][{{ none.x }}]"),
    ("undefined_attr_error", "{{ {'a': 1}.b.c }}"),
    ("undefined_name_attr_error", "{{ u.x }}"),
    ("undefined_arith_error", "{{ u + 1 }}"),
    ("none_iter_error", "{% for x in none %}{% endfor %}"),
    ("type_error_add", "{{ 'a' + 1 }}"),
    ("raise_exception", "line1\n{{ raise_exception('Custom failure: ' ~ 42) }}"),
    ("raise_in_macro", "{% macro check(x) %}\n{% if x > 1 %}\n{{ raise_exception('too big: ' ~ x) }}\n{% endif %}\n{% endmacro %}\n{{ check(1) }}{{ check(2) }}"),
    ("append_unsafe", "{% set l = [] %}{{ l.append(1) }}"),
    ("strftime", "{{ strftime_now('%Y-%m-%d %H:%M:%S %B %d, %Y %a %j') }}"),
    ("range_fn", "{{ range(3) | list }}{{ range(1, 7, 2) | list }}{{ range(5, 0, -2) | list }}{{ range(0) | list }}"),
    ("dict_literal", "{% set d = {'a': 1, 'b': {'c': [1, 2]}} %}{{ d }} {{ dict(x=1, y='z') }} {{ {} }} {{ [] }} {{ () }}"),
    ("filter_precedence", "{{ 'x' ~ ' A ' | trim ~ 'y' }} {{ -1 | abs }} {{ 'ab' | upper ~ 'cd' }} {{ not true | string }} {{ [1, 2] | length > 1 }} {{ 1 + 2 | string if false else 'z' }}"),
    ("messages_usage", "{% for m in messages %}{{ m.role | upper }}: {{ m['content'] }}{% if not loop.last %}\n{% endif %}{% endfor %}"),
    ("unicode_text", "{{ 'ÀÉÎ' | lower }} {{ 'straße' | upper }} {{ 'ǆ' | title }} {{ '日本語' | length }} {{ '日本語'[1] }} {{ '🚀x'[0] }} {{ 'é' | center(3) }}"),
]

SNIPPET_CONTEXT = {
    "messages": [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Hi é"},
        {"role": "assistant", "content": "Hello"},
    ]
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copy-templates-from", type=pathlib.Path,
                        help="refresh tests/fixtures/chat/templates/*.jinja from this folder first")
    args = parser.parse_args()
    templates_dir = FIXTURES / "templates"
    if args.copy_templates_from:
        for path in sorted(args.copy_templates_from.glob("*.jinja")):
            shutil.copyfile(path, templates_dir / path.name)

    env = make_env()
    conversations = []
    for path in sorted((FIXTURES / "conversations").glob("*.json")):
        conversations.append((path.stem, json.loads(path.read_text(encoding="utf-8"))))

    out_dir = FIXTURES / "goldens"
    out_dir.mkdir(exist_ok=True)
    for path in sorted(templates_dir.glob("*.jinja")):
        cases = template_cases(env, path, conversations)
        doc = {"template": path.name, "jinja2_version": jinja2.__version__,
               "fixed_now": FIXED_NOW.isoformat(), "cases": cases}
        (out_dir / (path.stem + ".json")).write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        errors = sum(1 for c in cases if "error" in c)
        print(f"{path.name}: {len(cases)} cases ({errors} raise)")

    snippets = []
    for name, source in SNIPPETS:
        try:
            template = env.from_string(source)
        except jinja2.exceptions.TemplateSyntaxError as e:
            snippets.append({"name": name, "template": source, "context": SNIPPET_CONTEXT,
                             "error": {"type": type(e).__name__, "message": str(e)}})
            continue
        case = {"name": name, "template": source, "context": SNIPPET_CONTEXT}
        case.update(render(template, SNIPPET_CONTEXT))
        snippets.append(case)
    (out_dir / "snippets.json").write_text(
        json.dumps({"jinja2_version": jinja2.__version__, "fixed_now": FIXED_NOW.isoformat(), "cases": snippets},
                   ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"snippets: {len(snippets)} cases ({sum(1 for c in snippets if 'error' in c)} raise)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
