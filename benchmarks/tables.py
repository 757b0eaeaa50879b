"""The Markdown tables of the results records: what a benchmark script prints at the end of its run
and what ``benchmarks/report.py`` renders into the docs, from the same function. Each takes a
record's ``results`` and returns a list of lines. No measuring here (that is ``harness.py``)."""


def _f(value, digits=2, unit=''):
    return '–' if value is None else f'{value:.{digits}f}{unit}'


def speed(results):
    """A plain-versus-fast speed record (``drsformer_speed.py``, ``restormer_speed.py``): per case,
    thread count and mode, each implementation's first run and steady state in seconds, the ratios
    of the others to the fast one, the float32 agreement and the peak memory."""
    impls, fast = results['implementations'], results['fast']
    baselines = [i for i in impls if i != fast]
    head = (['case', 'threads', 'mode'] + [f'{i} first / steady s' for i in impls]
            + [f'{b} ÷ {fast}: first / steady' for b in baselines]
            + ['fp32 agreement dB', 'peak MB (' + ' → '.join(impls) + ')'])
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for case in results['cases']:
        for mode in ('interleaved', 'fresh'):
            figures = case.get(mode)
            if not figures:
                continue
            cells = [case['case'], str(case['threads']), 'one process' if mode == 'interleaved'
                     else f'fresh processes ({case.get("repeats", 1)})']
            cells += [f'{figures[i]["first"]:.2f} / {figures[i]["steady"]:.2f}' if i in figures else '–'
                      for i in impls]
            for b in baselines:
                if b in figures and fast in figures:
                    cells.append(f'{figures[b]["first"] / figures[fast]["first"]:.2f}× / '
                                 f'**{figures[b]["steady"] / figures[fast]["steady"]:.2f}×**')
                else:
                    cells.append('–')
            agree = case.get('agreement') if mode == 'interleaved' else None
            cells.append(f'{min(a["psnr_db"] for a in agree.values()):.1f}' if agree else '–')
            peaks = case.get('peak_mb') or {}
            cells.append(' → '.join(_f(peaks.get(i), 0) for i in impls) if peaks else '–')
            lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def switches(results):
    """The optional switches timed beside the reference (``drsformer_speed.py --bf16 --compile
    --blas-pointwise``); no lines when none was timed."""
    rows = results.get('switches') or []
    if not rows:
        return []
    lines = ['| case | variant | steady s | ratio to reference | max abs diff | PSNR dB vs reference |',
             '|---|---|---|---|---|---|']
    for row in rows:
        lines.append(f'| {row["case"]} | {row["variant"]} | {row["steady"]:.2f} '
                     f'| {row["reference_steady"] / row["steady"]:.2f}× | {row["max_abs"]:.1e} '
                     f'| {row["psnr_db"]:.1f} |')
    return lines


def roofline(results):
    """``cpu_roofline.py``: matrix products, depth-wise convs and the oneDNN fusions."""
    lines = ['| product (rows × inner × cols) | MKL mm GFLOP/s | oneDNN 1×1 conv GFLOP/s |', '|---|---|---|']
    for r in results['products']:
        lines.append(f'| {r["rows"]} × {r["inner"]} × {r["cols"]} | {r["mkl_gflops"]:.1f} | {r["onednn_gflops"]:.1f} |')
    lines += ['', '| depth-wise conv (channels, kernel, H×W) | channels-last ms | GFLOP/s | GB/s | NCHW ms |',
              '|---|---|---|---|---|']
    for r in results['depthwise']:
        k, hw = r['kernel'], r['size']
        lines.append(f'| {r["channels"]}, {k}×{k}, {hw}×{hw} | {r["channels_last_ms"]:.1f} | {r["gflops"]:.1f} '
                     f'| {r["gbytes_per_s"]:.1f} | {r["nchw_ms"]:.1f} |')
    lines += ['', '| fusion | separate ms | fused ms | max abs difference |', '|---|---|---|---|']
    for r in results['fusions']:
        lines.append(f'| {r["fusion"]} | {r["separate_ms"]:.1f} | {r["fused_ms"]:.1f} | {r["max_abs"]:.1e} |')
    return lines


def ops(results):
    """``restormer_ops_speed.py``: 1×1 convs forward, backward, and both through ``pointwise_conv2d``."""
    lines = ['| 1×1 forward cin→cout, pixels | PyTorch conv2d GFLOP/s | oneDNN GFLOP/s | mm GFLOP/s |',
             '|---|---|---|---|']
    for r in results['forward']:
        g = r['gflops']
        lines.append(f'| {r["cin"]}→{r["cout"]}, {r["pixels"]} | {g["conv2d"]:.1f} | {g["onednn"]:.1f} '
                     f'| {g["mm"]:.1f} |')
    lines += ['', '| 1×1 backward cin→cout, pixels | convolution_backward (both) ms '
              '| input grad: PyTorch / oneDNN ms | weight grad: PyTorch / mm ms |', '|---|---|---|---|']
    for r in results['backward']:
        ms = r['ms']
        lines.append(f'| {r["cin"]}→{r["cout"]}, {r["pixels"]} | {ms["both"]:.1f} | {ms["gi"]:.1f} / '
                     f'{ms["gi_onednn"]:.1f} | {ms["gw"]:.1f} / {ms["gw_mm"]:.1f} |')
    lines += ['', '| 1×1 forward + backward, batch × cin→cout, H×W | oneDNN forward, PyTorch backward ms '
              '| `pointwise_conv2d` ms | ratio | max relative difference of the gradients |', '|---|---|---|---|---|']
    for r in results['both']:
        lines.append(f'| {r["batch"]}×{r["cin"]}→{r["cout"]}, {r["height"]}×{r["width"]} | {r["before_ms"]:.1f} '
                     f'| {r["now_ms"]:.1f} | {r["before_ms"] / r["now_ms"]:.2f} | {r["max_relative_diff"]:.1e} |')
    return lines


def onnx(results):
    """``onnx_speed.py``: per arch, size and implementation the median time and its ratio to PyTorch."""
    head = '| arch | image (padded) | implementation | median s | vs pytorch |'
    sep = '|---|---|---|---:|---:|'
    if results['memory']:
        head += ' alone: median s | alone: peak MB |'
        sep += '---:|---:|'
    lines = [head, sep]
    for r in results['rows']:
        line = (f'| {r["arch"]} | {r["size"]} ({r["padded"]}) | {r["impl"]} | {r["median_s"]:.3f} | '
                f'{r["ratio"]:.2f} |')
        if results['memory']:
            line += f' {r["alone_s"]:.3f} | {r["peak_mb"]:.0f} |'
        lines.append(line)
    return lines


def memory_growth(results):
    """``memory_growth.py``: the peak resident set of each run after each number of images."""
    counts = results['counts']
    anon = all('peak_anon_mib' in r for r in results['runs'])  # older records: the resident set only
    what = 'peak resident / anonymous MiB' if anon else 'peak MiB'
    lines = ['| run (a fresh process each) | ' + ' | '.join(f'{what} after {c} images' for c in counts) + ' |',
             '|---|' + '---|' * len(counts)]
    for r in results['runs']:
        lines.append(f'| {r["run"]} | ' + ' | '.join(
            f'{r["peak_mib"][str(c)]:.0f}' + (f' / {r["peak_anon_mib"][str(c)]:.0f}' if anon else '')
            for c in counts) + ' |')
    return lines


def resume_time(results):
    """``resume_time.py``: seconds from ``runner.train()`` to the first resumed iteration."""
    early, late = str(results['early']), str(results['late'])
    lines = [f'| loop | resume at iteration {int(early):,} s | resume at iteration {int(late):,} s | runs (s) |',
             '|---|---|---|---|']
    for r in results['loops']:
        runs = '; '.join(f'{int(it):,}: ' + ', '.join(f'{t:.2f}' for t in r['seconds'][it]) for it in (early, late))
        lines.append(f'| {r["loop"]} | {r["median"][early]:.2f} | {r["median"][late]:.2f} | {runs} |')
    return lines


def watchdog_recovery(results):
    """``watchdog_recovery.py``: per injected hang, seconds from the hang to the watchdog's
    paragraph, to the restarted run's first resumed iteration and to the finished run (medians),
    beside the uninterrupted run's length."""
    straight = results['uninterrupted_s']
    lines = ['| hang | runs | to the paragraph s | to the resumed iteration s | to the finished run s '
             '| whole run s |', '|---|---|---|---|---|---|']
    for name, figures in results['runs'].items():
        m = figures['median']
        lines.append(f'| {name} | {len(figures["runs"])} | {m["hang_to_paragraph_s"]:.1f} '
                     f'| {m["hang_to_resumed_s"]:.1f} | {m["hang_to_finished_s"]:.1f} | {m["run_s"]:.1f} |')
    lines.append(f'| none (uninterrupted) | {len(straight)} | – | – | – | '
                 f'{sorted(straight)[len(straight) // 2]:.1f} |')
    lines += ['', f'{results["processes"]} processes, {results["iterations"]} iterations, '
              f'`--watchdog-timeout {results["timeout_s"]:g}`.']
    return lines


def demo(results):
    """``tools/demo.py --record``: the rainy input's and each demo model's scores on the synthetic
    test set, with its training iterations and time."""
    rainy = results['rainy_input']
    lines = ['| model | PSNR dB | SSIM | gain over the input dB | iterations | training s |',
             '|---|---|---|---|---|---|',
             f'| rainy input | {rainy["PSNR"]:.2f} | {rainy["SSIM"]:.4f} | – | – | – |']
    for name, m in results['models'].items():
        lines.append(f'| {name} | {m["PSNR"]:.2f} | {m["SSIM"]:.4f} | {m["PSNR"] - rainy["PSNR"]:+.2f} '
                     f'| {m["iterations"]} | {m["train_seconds"]:.0f} |')
    lines += ['', f'{results["test_images"]} test images, `restormer` protocol; {results["threads"]} '
              f'torch thread{"s" if results["threads"] != 1 else ""}, CPU capability '
              f'{results.get("cpu_capability", "?")}.']
    return lines


def gpu_check(results):
    """``gpu_check.py``: plain against fast per arch, case and precision (time, peak GPU memory,
    agreement), then the tests and the tool runs."""
    lines = ['| arch | case | precision | plain ms (peak MiB) | fast ms (peak MiB) | plain ÷ fast | agreement |',
             '|---|---|---|---|---|---|---|']

    def cell(r):
        if r is None:
            return '–'
        if 'error' in r:
            return r['error']
        return f'{1000 * r["seconds"]:.1f}' + ('' if r.get('peak_mib') is None else f' ({r["peak_mib"]:.0f})')
    for row in results.get('cases', []):
        if 'psnr_db' in row:
            agree = f'{row["psnr_db"]:.1f} dB'
        elif 'grad_cosine' in row:
            agree = f'loss rel. diff {row["loss_rel_diff"]:.1e}, gradient cosine {row["grad_cosine"]:.5f}'
        else:
            agree = '–'
        speedup = f'{row["speedup"]:.2f}×' if 'speedup' in row else '–'
        lines.append(f'| {row["arch"]} | {row["case"]} | {row["dtype"]} | {cell(row.get("plain"))} '
                     f'| {cell(row.get("fast"))} | {speedup} | {agree} |')
    extra = []
    if 'tests' in results:
        t = results['tests']
        extra.append(f'- `{t["command"]}`: {t["summary"]}' + (f'; failed: {", ".join(t["failed"])}' if t['failed'] else ''))
    for run in results.get('tools', []):
        extra.append(f'- {run["run"]}: {"ok" if run["ok"] else "FAILED"} (exit {run["returncode"]}, {run["seconds"]} s)')
    failures = results.get('failures', [])
    extra.append('- result: ' + ('FAIL: ' + '; '.join(failures) if failures else 'PASS'))
    return lines + [''] + extra


def dist_benchmark_time(results):
    """``dist_benchmark_time.py``: the wall time of one benchmark run in one process and on two."""
    shape = '×'.join(map(str, results['image_size']))
    return [f'| run ({", ".join(results["models"])}; {", ".join(results["sets"])}, '
            f'{results["images_per_set"]} images of {shape} each) | wall time (s) |', '|---|---|',
            f'| tools/benchmark.py, 1 process × 2 threads | {results["one_process_s"]:.1f} |',
            f'| tools/dist_benchmark.sh 2, 2 processes × 1 thread | {results["two_processes_s"]:.1f} |',
            '', f'Ratio {results["speedup"]:.2f} (above 1: two processes are faster); the two '
            f'tables {"are equal" if results["same_table"] else "DIFFER"}.']
