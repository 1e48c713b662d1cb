-- The sale path's "last" queries read one row by index, whatever the history (issue 18):
-- sale.current with no open sale (the till's last finished sale) and the reprint of the
-- last receipt (and the post-void's last sale) each scanned all of `sales` and sorted.
CREATE INDEX sales_till_finished ON sales(till, updated_at)
    WHERE state IN ('completed', 'voided') AND kind = 'sale';
CREATE INDEX sales_till_completed ON sales(till, completed_at);
