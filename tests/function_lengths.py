#!/usr/bin/env python3
"""tests/function_lengths.py [N] — the N (default 10) longest functions of the dopt headers, in
lines from the signature to the closing brace (functions whose body opens with '{' alone on a
line and closes with '}' alone, the headers' style).  The issue-23 budget: 150 lines, except
the AMD ordering (dopt_sparse_amd)."""
import glob, os, re, sys

def functions(path):
    lines = open(path, encoding='utf-8').read().split('\n')
    i = 0
    while i < len(lines):
        if lines[i] == '{':
            j, sig = i - 1, ''
            while j >= 0 and j > i - 8:
                sig = lines[j] + ' ' + sig
                if re.match(r'^[A-Za-z_]', lines[j]) and '(' in lines[j]:
                    break
                j -= 1
            m = re.search(r'DOPT_FN\((\w+)\)\s*\(', sig) or re.search(r'(\w+)\s*\(', sig)
            k = i + 1
            while k < len(lines) and lines[k] != '}':
                k += 1
            yield k - j + 1, os.path.basename(path), j + 1, m.group(1) if m else '?'
            i = k
        i += 1

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
rows = sorted((r for h in sorted(glob.glob(os.path.join(root, 'dopt*.h'))) for r in functions(h)), reverse=True)
for r in rows[:int(sys.argv[1]) if len(sys.argv) > 1 else 10]:
    print('%4d  %s:%d  %s' % r)
