"""Benchmarks and result tables: scripts that write JSON with their protocol and render Markdown."""
