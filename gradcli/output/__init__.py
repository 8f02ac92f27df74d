"""Renderers and the file writer: Rich trees and tables, JSON, DOT, plots. They
return or write output; they never read the command line."""
