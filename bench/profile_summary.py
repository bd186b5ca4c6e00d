"""Reads a BISC_PROFILE table against the machine: bench/run --profile prints it.

Direct dense convolutions (family conv_blocked, and the NCHW microkernel / packed families)
are compute-bound: each gets its fraction of the FMA peak (its MACs x 2 / time / peak).
Blocked depthwise and grouped convs, pooling and resizes are memory-bound: each gets the
ratio of its time to the time its bytes (what its node reads and writes once) take at the
copy bandwidth, so 1.0 is the bandwidth bound and below 1.0 means the bytes came from cache. Kernels under
`min_share` of the run are summed, not listed (their figures are mostly call overhead).
"""

DIRECT_CONV = ("conv_blocked", "conv_microkernel", "conv_packed")
MEMORY_BOUND = ("conv_blocked_depthwise", "conv_blocked_grouped", "max_pool", "avg_pool", "global_avg_pool",
                "resize")


def last_table(stderr):
    """The rows of the last table in BISC_PROFILE output (the average of runs 2..R)."""
    lines = stderr.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("bisc profile:"))
    rows = []
    for line in lines[start + 2:]:
        fields = line.split()
        if not fields or fields[0] == "total":
            break
        rows.append({"node": fields[2], "family": fields[3], "ms": float(fields[4]),
                     "share": float(fields[5].rstrip("%")) / 100, "macs": int(fields[6]),
                     "mb": float(fields[8]) if fields[8] != "-" else 0.0})
    return rows


def kind(family):
    if family in DIRECT_CONV:
        return "direct"
    if family.startswith(MEMORY_BOUND):
        return "memory"
    return None


def summarise(stderr, peak_gflops, copy_gbs, min_share=0.005):
    """Text lines: each direct conv's % of peak, each memory-bound kernel's time / bound."""
    rows = last_table(stderr)
    out = []
    for wanted, title in (("direct", "direct dense convs: % of FMA peak"),
                          ("memory", "memory-bound kernels: time / (bytes / copy bandwidth)")):
        chosen = [r for r in rows if kind(r["family"]) == wanted]
        listed = [r for r in chosen if r["share"] >= min_share]
        out.append(f"  {title} ({len(listed)} of {len(chosen)} kernels at >= {100 * min_share:.1f}% of the run)")
        for r in listed:
            if wanted == "direct":
                figure = f"{100 * 2 * r['macs'] / (r['ms'] * 1e6) / peak_gflops:6.1f}% of peak"
            else:
                bound_ms = r["mb"] / copy_gbs
                figure = f"{r['ms'] / bound_ms:6.2f}x bound" if bound_ms > 0 else "     - (bytes unknown)"
            out.append(f"    {r['node']:<34}{r['family']:<26}{r['ms']:9.3f} ms {100 * r['share']:5.1f}%  {figure}")
        rest = [r for r in chosen if r["share"] < min_share]
        if rest:
            out.append(f"    ({len(rest)} smaller kernels: {sum(r['ms'] for r in rest):.3f} ms together)")
        if wanted == "direct" and listed:
            ms = sum(r["ms"] for r in listed)
            flops = sum(2 * r["macs"] for r in listed)
            out.append(f"    time-weighted: {100 * flops / (ms * 1e6) / peak_gflops:.1f}% of peak over {ms:.1f} ms")
    return out
