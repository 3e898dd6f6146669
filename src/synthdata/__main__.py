"""`python -m synthdata ...` runs the `synthdata` command."""

from synthdata.cli.main import app

if __name__ == "__main__":
    app(prog_name="synthdata")
