-- A sale's refund plans by sale: a refund reads the plans done before it (which tender each
-- part went back to), retention moves a sale's with it. Both scanned every plan of the
-- till's history, the refund inside its write transaction: the partial
-- pending_refunds_one holds only the plan under way.
CREATE INDEX pending_refunds_sale ON pending_refunds(sale_id);
