-- A read model fed by several retaining subscriptions reads their envelopes merged in commit order
-- (`inbox.InboxSource`, `consumer = ANY(...)`): the per-consumer index cannot give that order, so
-- every batch sorted every retained row (quadratic in a rebuild). This one gives it directly.
CREATE INDEX IF NOT EXISTS inbox_retained_in_commit_order ON inbox (transaction_id, position)
    WHERE envelope IS NOT NULL;
