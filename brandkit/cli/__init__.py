"""The ``brandkit`` command line, one module per command group."""
