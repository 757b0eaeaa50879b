"""Benchmarking several restorers on several test sets through mmengine's test loop
(tools/benchmark.py, tools/dist_benchmark.sh) and measuring a model's cost
(tools/analysis/get_flops.py, tools/analysis/speed.py)."""
from .config import BenchConfigError, check_bench_config, select
from .cost import (count_flops, count_paper_flops, count_parameters, measure_cost, measure_speed,
                   release_formulation, runs_fast_path)
from .report import (comparisons, load_results, markdown_report, plot_psnr_vs_latency, write_csv,
                     write_outputs)
from .runner import BenchmarkError, collect_environment, run_benchmark

__all__ = [
    'BenchConfigError', 'BenchmarkError', 'check_bench_config', 'collect_environment',
    'comparisons', 'count_flops', 'count_paper_flops', 'count_parameters', 'load_results',
    'markdown_report', 'measure_cost', 'measure_speed', 'plot_psnr_vs_latency',
    'release_formulation', 'run_benchmark', 'runs_fast_path', 'select', 'write_csv',
    'write_outputs'
]
