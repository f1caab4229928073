"""Domain (AP): terms, vendors, bills, bill payments and vendor credits synced from QBO."""
