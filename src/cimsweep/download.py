"""``python -m cimsweep.download``: fetch a public data set (:mod:`cimsweep.data.download`)."""

from cimsweep.data.download import main

if __name__ == "__main__":
    raise SystemExit(main())
