"""Allows `python -m retina_tui`, the same entry point as the `retina-tui` script."""

from retina_tui.entry import main

if __name__ == "__main__":
    main()
