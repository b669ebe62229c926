"""The parts of ``scripts/benchmark.py``, the benchmark of smearscan's speed and memory: what
it shares (:mod:`.common`), the machine and this process (:mod:`.machine`), the fields it
measures (:mod:`.fields`), measurements in this process (:mod:`.in_process`) and in child
processes (:mod:`.children`), the runtime comparison and before/after timing of issue 19
(:mod:`.runtimes`), and the parts that ``--only`` names (:mod:`.parts`). The script itself
keeps the command line and the markdown report.
"""
