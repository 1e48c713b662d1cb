-- An item's moves are read by one index, (sku, seq): what head office has not acknowledged
-- (seq above its mark) and the item's history, newest first in journal order. The second
-- sku-keyed index, (sku, id), cost every line sold another leaf written back at the end of
-- its item's range: on a store of years a page apart from the rest (docs/bench.md)
DROP INDEX stock_moves_sku;
