"""Benchmark scenario packs: public test suites converted into scenarios the engine runs unchanged."""
