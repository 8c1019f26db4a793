"""One module per `retina-tui` subcommand."""
