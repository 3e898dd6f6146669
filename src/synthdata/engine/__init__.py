"""The synthesis engine: schema inference, synthesizers, evaluation. No web, no database."""
