"""BFCL v4's single-turn function-calling categories as a scenario pack (issue 16).

`data` reads the entries from the installed bfcl-eval package, `convert` turns one into the request
BFCL's OpenAI function-calling handler sends (and a scenario the engine runs), `checker` judges the
first reply with BFCL's AST-checker semantics and returns `bfcl.*` findings, `score` sums verdicts up
in BFCL's published groupings. docs/bfcl.md has every rule.
"""
