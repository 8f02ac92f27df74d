"""The core: op table, parser, graph, engine, descent. No UI: nothing here imports
rich or typer, prints, or exits."""
