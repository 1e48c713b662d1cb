"""The till's side of the link to head office (DESIGN §8): enrollment (`enroll.py`), the
replicator task (`replicator.py`, built in app.py), and the replication settings kept in the
till's store (`link.py`)."""
