"""An example toolcall-harness plugin: a check, an argument matcher and a reporter, one module each.

Each module registers on import through the harness's public decorators; the entry points in
pyproject.toml tell the harness which modules to import.
"""
