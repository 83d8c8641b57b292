/* repl.c - placeholder until the REPL lands. */
