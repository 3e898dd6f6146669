"""The object-store fixtures (a real SeaweedFS S3 server, `s3_store`, `local_store`) live
in `tests/fixtures/objectstore.py`; this makes them available to every test here."""

from tests.fixtures.objectstore import (  # noqa: F401  (the fixtures)
    local_store,
    s3_server,
    s3_store,
)
