-- The lines of a received transfer, delivery or order that were counted differently from
-- what was sent (msgpack [{sku, sent, received, difference}], by sku; an empty list when
-- none), written by the apply when it matches the receipt, so the transfer differences report
-- over a year of a chain reads those few lines instead of comparing every line sent and
-- received. NULL for a transfer received before this column: the report compares its lines.
ALTER TABLE transfers ADD COLUMN differing BLOB;
