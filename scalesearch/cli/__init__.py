"""The command line: a thin layer over the library. One module per command; errors map to exit codes in
main.py."""
