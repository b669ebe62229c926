"""smearscan: schistocyte counting on Wright/Giemsa blood smear fields.

The package is one module per pipeline stage, data flowing one way:

``loading`` -> ``segmentation`` -> ``features`` -> ``classification`` -> ``slide_stats``
-> ``verdict`` -> ``report``; ``pipeline`` maps the per-field work over worker processes and
``outputs`` writes results atomically; ``cli`` only parses arguments.
"""

__version__ = "0.1.0"
