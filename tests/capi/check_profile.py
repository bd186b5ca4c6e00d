"""The BISC_PROFILE test: compiles a model, runs it through profile_app.c with and without
the variable and checks the per-kernel tables against what `bisc compile --stats` reported.

    check_profile.py --bisc BISC --model M.json --dir DIR --cc CC --app profile_app.c [--threads N]

Checks: without BISC_PROFILE (and with BISC_PROFILE=0) stderr is empty; with it, every run
prints one table whose rows are the compiled kernels in order (their count, families and
conv MACs are those of --stats), run_labels adds the labels kernel (or, "resize_labels", puts
it in place of the last kernel, a resize), the shares sum to 100%, the rows' times sum to the
total, each GFLOP/s is MACs x 2 / time and each GB/s is MB / time.
"""
import argparse
import collections
import os
import re
import subprocess
import sys

NAME = "prof"


def run(cmd, env_profile=None):
    env = dict(os.environ)
    env.pop("BISC_PROFILE", None)
    if env_profile is not None:
        env["BISC_PROFILE"] = env_profile
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)} exited {done.returncode}\n{done.stdout}{done.stderr}")
    return done.stdout, done.stderr


def compiled_stats(args):
    out, _ = run([args.bisc, "compile", args.model, "--random-weights", "3", "--name", NAME, "-o", args.dir,
                  "--stats"])
    kernels = re.search(r"^kernels +(\d+) \(([^)]*)\)", out, re.M)
    macs = re.search(r"^conv MACs +(\d+)", out, re.M)
    if not kernels or not macs:
        sys.exit(f"FAILED: no kernel count or conv MACs in --stats output:\n{out}")
    families = collections.Counter()
    for part in kernels.group(2).split(", "):
        family, count = part.rsplit(" ", 1)
        families[family] = int(count)
    return int(kernels.group(1)), families, int(macs.group(1))


def parse_tables(text):
    """[(header match, [row fields])] of every table in `text`; the total row last."""
    tables, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        header = re.match(r"bisc profile: (\w+), (\d+) kernels, run (\d+), average of runs (\d+)\.\.(\d+)$", lines[i])
        if not header:
            sys.exit(f"FAILED: unexpected stderr line: {lines[i]!r}")
        if not lines[i + 1].split()[:4] == ["#", "kernel", "node", "family"]:
            sys.exit(f"FAILED: bad column header {lines[i + 1]!r}")
        rows, i = [], i + 2
        while i < len(lines) and not lines[i].startswith("bisc profile:"):
            rows.append(lines[i].split())
            i += 1
        tables.append((header, rows))
    return tables


def check_table(header, rows, kernels, families, macs, run, labels):
    """Table of run `run` (1-based); the averages leave the first run out from run 2 on."""
    fused = labels and rows[-2][3] == "resize_labels"
    expected = kernels + (1 if labels and not fused else 0)
    run_rows = kernels - (1 if fused else 0)
    problems = []
    first = 1 if run == 1 else 2
    if header.groups() != (NAME, str(expected), str(run), str(first), str(run)):
        problems.append(f"header {header.group(0)!r}, expected {NAME}, {expected} kernels, run {run}, "
                        f"average of runs {first}..{run}")
    body, total = rows[:-1], rows[-1]
    if len(body) != expected or total[0] != "total":
        return problems + [f"{len(body)} kernel rows (expected {expected}) or no total row"]
    seen = collections.Counter()
    sum_ms = sum_share = 0.0
    sum_macs = 0
    for i, row in enumerate(body):
        index, symbol, node, family, ms, share, row_macs = row[:7]
        ms, share, row_macs = float(ms), float(share.rstrip("%")), int(row_macs)
        if int(index) != i:
            problems.append(f"row {i} has index {index}")
        if len(row) != 10:
            problems.append(f"row {i} has {len(row)} fields, expected 10")
            continue
        if i < run_rows and not symbol.startswith(f"{NAME}_k{i}_"):
            problems.append(f"row {i}: symbol {symbol} is not kernel {i}")
        if i < run_rows:
            seen[family] += 1
        elif family not in ("labels", "resize_labels"):
            problems.append(f"last row of run_labels is {family}, not the labels kernel")
        elif fused:
            seen["resize"] += 1  # the last kernel, which the fused one replaces
        megabytes, bandwidth = row[8], row[9]
        if (megabytes == "-") != (bandwidth == "-") or (i >= run_rows and megabytes == "-"):
            problems.append(f"row {i}: MB {megabytes} and GB/s {bandwidth}")
        elif megabytes != "-" and ms > 0:
            expected_rate = float(megabytes) / ms
            # MB is printed to 1e-3 and ms to 1e-4: allow their rounding, and the GB/s column's own.
            if abs(float(bandwidth) - expected_rate) > 0.006 + 5e-4 / ms + expected_rate * (6e-5 / ms + 1e-3):
                problems.append(f"row {i}: {bandwidth} GB/s for {megabytes} MB in {ms} ms")
        if row[7] != "-":
            gflops = float(row[7])
            expected_gflops = 2 * row_macs / (ms * 1e6) if ms > 0 else float("inf")
            # ms is printed to 1e-4: allow its rounding, and the GFLOP/s column's own.
            if row_macs == 0 or abs(gflops - expected_gflops) > 0.006 + expected_gflops * (6e-5 / ms + 1e-3):
                problems.append(f"row {i}: {gflops} GFLOP/s for {row_macs} MACs in {ms} ms")
        elif row_macs > 0 and ms > 0:
            problems.append(f"row {i}: {row_macs} MACs but no GFLOP/s")
        sum_ms, sum_share, sum_macs = sum_ms + ms, sum_share + share, sum_macs + row_macs
    if seen != families:
        problems.append(f"families {dict(seen)}, --stats says {dict(families)}")
    if sum_macs != macs or int(total[3]) != macs:
        problems.append(f"MACs sum to {sum_macs} (total row {total[3]}), --stats says {macs}")
    if abs(sum_share - 100.0) > 0.005 * len(body) + 0.01 or total[2] != "100.00%":
        problems.append(f"shares sum to {sum_share:.2f}%, total row says {total[2]}")
    if abs(sum_ms - float(total[1])) > 5e-5 * len(body) + 1e-4:
        problems.append(f"times sum to {sum_ms:.4f} ms, total row says {total[1]}")
    return problems


def main():
    p = argparse.ArgumentParser()
    for key in ("bisc", "model", "dir", "cc", "app"):
        p.add_argument("--" + key, required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    kernels, families, macs = compiled_stats(args)
    app = os.path.join(args.dir, "profile_app")
    run([args.cc, "-std=c11", "-O2", "-Wall", "-Werror", f"-I{args.dir}", f"-DMODEL={NAME}",
         f'-DMODEL_HEADER="{NAME}.h"', args.app, f"-L{args.dir}", f"-l{NAME}", f"-Wl,-rpath,{args.dir}", "-o", app])
    command = [app, str(args.threads), str(args.runs)]
    for setting in (None, "0"):
        out, err = run(command, setting)
        if out != "ok\n" or err:
            sys.exit(f"FAILED: BISC_PROFILE={setting}: expected no profile, got stdout {out!r} stderr {err!r}")
    out, err = run(command, "1")
    tables = parse_tables(err)
    if out != "ok\n" or len(tables) != args.runs + 1:
        sys.exit(f"FAILED: {len(tables)} tables for {args.runs} runs and a run_labels:\n{err}")
    problems = []
    for number, (header, rows) in enumerate(tables):
        labels = number == args.runs
        for problem in check_table(header, rows, kernels, families, macs, number + 1, labels):
            problems.append(f"table {number + 1}: {problem}")
    if problems:
        sys.exit("FAILED:\n" + "\n".join(problems) + "\n" + err)
    last_table = err[err.rindex("bisc profile:"):]
    print(f"{last_table}passed: {len(tables)} tables of {kernels} kernels ({macs} conv MACs)")


if __name__ == "__main__":
    main()
