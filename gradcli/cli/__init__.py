"""The front ends: the typer app, the REPL session and its prompt."""
