"""Domain (AR): customers, invoices, payments, sales receipts and credit memos synced from QBO."""
