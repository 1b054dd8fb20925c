-- Open amount per posted invoice as of as_of: gross - payments applied on or before as_of
-- - credit notes that reference it (source_ref = invoice_id).
WITH paid AS (
  SELECT y.invoice_id, sum(y.amount) AS paid
  FROM canon.payment y
  WHERE y.invoice_id IS NOT NULL AND coalesce(y.applied_date, y.received_date) <= getvariable('as_of')
  GROUP BY y.invoice_id),
cred AS (
  SELECT cn.source_ref AS invoice_id, sum(abs(cn.amount_gross)) AS credited
  FROM canon.invoice cn
  WHERE cn.type = 'credit_note' AND cn.status NOT IN ('draft', 'cancelled')
    AND cn.invoice_date <= getvariable('as_of')
  GROUP BY cn.source_ref)
SELECT i.invoice_id, i.client_id, i.legal_entity_id, i.currency, i.invoice_date, i.due_date,
       i.amount_gross, coalesce(paid.paid, 0) AS paid, coalesce(cred.credited, 0) AS credited,
       CAST(i.amount_gross - coalesce(paid.paid, 0) - coalesce(cred.credited, 0) AS DECIMAL(18, 2)) AS open_amount
FROM canon.invoice i
LEFT JOIN paid ON paid.invoice_id = i.invoice_id
LEFT JOIN cred ON cred.invoice_id = i.invoice_id
WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled') AND i.invoice_date <= getvariable('as_of')
