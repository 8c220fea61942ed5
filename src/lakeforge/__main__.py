"""``python -m lakeforge``: the same CLI as the ``lakeforge`` command."""

from lakeforge.cli import main

if __name__ == "__main__":
    main()
