"""Benchmarking several restorers under one protocol (tools/benchmark.py) and
measuring a model's cost (tools/analysis/get_flops.py, tools/analysis/speed.py)."""
from .config import BenchConfigError, check_bench_config, select
from .cost import (count_flops, count_paper_flops, count_parameters, measure_cost, measure_speed,
                   peak_memory_mb, release_formulation, runs_fast_path)
from .report import (load_results, markdown_report, plot_psnr_vs_latency, write_csv,
                     write_outputs, write_results_json)
from .runner import (BenchmarkError, build_dataset, collect_environment, load_model,
                     run_benchmark)

__all__ = [
    'BenchConfigError', 'BenchmarkError', 'build_dataset', 'check_bench_config',
    'collect_environment', 'count_flops', 'count_paper_flops', 'count_parameters', 'load_model',
    'load_results', 'markdown_report', 'measure_cost', 'measure_speed', 'peak_memory_mb',
    'plot_psnr_vs_latency', 'release_formulation', 'run_benchmark', 'runs_fast_path', 'select',
    'write_csv', 'write_outputs', 'write_results_json'
]
