"""The wiring of pnav: the app factory and the command line that put the packages together."""
