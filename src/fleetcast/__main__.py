"""``python -m fleetcast``: the command line, for where the ``fleetcast`` script is not on PATH."""

from fleetcast.cli import main

main()
